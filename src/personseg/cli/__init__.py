"""The `personseg` command: one module per subcommand, each a thin layer over library functions."""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import signal
import sys
import threading
import warnings

from PIL import Image

from .. import __version__
from ..errors import PersonsegError, describe, interrupted, show_note

#: Subcommands in the order ``--help`` lists them; each module (of this package) has ``add_parser(subparsers)``.
COMMANDS = ("segment", "annotate", "evaluate", "video", "serve", "train", "export", "demo")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status: 0 done, 1 some inputs failed, 2 refused or stopped by an
    error (one line on stderr; PERSONSEG_DEBUG=1 shows the traceback of an internal error), 130 interrupted
    (also while the libraries load, before any work), 143 stopped by SIGTERM (cleaned up as after Ctrl-C)."""
    main_thread = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
    try:
        args = parser().parse_args(argv)
        with warnings.catch_warnings():   # what the library warns of, as one line like the errors
            warnings.showwarning = show_note
            # photos from 89.5 MP to the limit (image.MAX_PIXELS) are read; Pillow's warning of them is not news
            warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
            return args.run(args)
    except Terminated:
        print("personseg: stopped (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("personseg: interrupted", file=sys.stderr)
        return 130
    except Exception as e:   # noqa: BLE001 - one line for the user, not a traceback
        cause = interrupted(e)   # Ctrl-C or SIGTERM inside a library, e.g. while a C extension was loading
        if cause is not None:
            stopped = isinstance(cause, Terminated)
            print(f"personseg: {'stopped (SIGTERM)' if stopped else 'interrupted'}", file=sys.stderr)
            return 143 if stopped else 130
        if os.environ.get("PERSONSEG_DEBUG") and not isinstance(e, (PersonsegError, OSError)):
            raise
        print(f"personseg: error: {describe(e)}", file=sys.stderr)
        return 2
    finally:
        if main_thread and before is not None:   # None: a handler not set from Python, which cannot be put back
            signal.signal(signal.SIGTERM, before)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a container stopping) raised where the command is, as Ctrl-C is, so that
    what a stopped run leaves (partial files, locks) is cleaned up the same way."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="personseg", description="Find people in photos and cut them out.")
    p.add_argument("--version", action="version", version=f"personseg {__version__}")
    sub = p.add_subparsers(required=True, metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).add_parser(sub)
    return p


#: How alike an unknown option and a command's must be to be offered (difflib's ratio: --models and --model 0.93,
#: --version and --overwrite 0.6).
GUESS_CUTOFF = 0.8
#: The namespace attribute where ``Once`` notes the options given (``given_options`` once parsed).
_GIVEN = "_personseg_given"


class Once(argparse.Action):
    """Store an option's value, refusing the option given twice: argparse would keep the last without a word
    (``eval --images a --images b`` scored b; ``train --data a --data b`` trained on b alone)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        given = vars(namespace).setdefault(_GIVEN, set())
        if self.dest in given:
            more = " (several values go after one flag)" if self.nargs in ("+", "*") else ""
            raise argparse.ArgumentError(self, f"given twice{more}: give it once")
        given.add(self.dest)
        setattr(namespace, self.dest, values)


class Parser(argparse.ArgumentParser):
    """The command's parsers: an option of one value (argparse's plain "store") is ``Once``; the namespace's
    ``given_options`` holds the destinations of the options given (those left at their defaults are not)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", None, Once)
        self.register("action", "store", Once)

    def parse_known_args(self, args=None, namespace=None):   # noqa: ANN001, ANN201 - argparse's signature
        namespace, rest = super().parse_known_args(args, namespace)
        # the destinations of the options given (a command's, noted in its own parse, and the top level's)
        given = vars(namespace).pop(_GIVEN, set())
        namespace.given_options = getattr(namespace, "given_options", frozenset()) | given
        if rest and self._subparsers is None:   # a command's own: its usage, not the top level's, and a guess
            self.error(f"unrecognized arguments: {' '.join(rest)}{self._guess(rest)}")
        return namespace, rest

    def _guess(self, rest: list[str]) -> str:
        """" (did you mean --model?)" for the first unknown option near one of this command's."""
        for word in rest:
            if word.startswith("--"):
                near = difflib.get_close_matches(word.split("=")[0], list(self._option_string_actions), n=1,
                                                 cutoff=GUESS_CUTOFF)
                if near:
                    return f" (did you mean {near[0]}?)"
        return ""
