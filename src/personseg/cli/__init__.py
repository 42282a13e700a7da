"""The `personseg` command: one module per subcommand, each a thin layer over library functions."""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..errors import PersonsegError
from . import demo, evaluate, export, segment, train, video

#: Subcommands in the order ``--help`` lists them; each module has ``add_parser(subparsers)``.
COMMANDS = (segment, evaluate, video, train, export, demo)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except PersonsegError as e:
        print(f"personseg: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("personseg: interrupted", file=sys.stderr)
        return 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="personseg", description="Find people in photos and cut them out.")
    p.add_argument("--version", action="version", version=f"personseg {__version__}")
    sub = p.add_subparsers(required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return p
