"""Where the evaluation data sets are: one setting, PERSONSEG_DATA, defaulting to ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import PersonsegError


def data_root() -> Path:
    """The folder holding eg1800/, ccp/, pose_mini/, video/ (PERSONSEG_DATA, else ../shared/data from the
    project root or the working folder)."""
    env = os.environ.get("PERSONSEG_DATA")
    if env:
        return Path(env)
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        candidate = base.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return Path.cwd().parent / "shared" / "data"


def read_ids(path: str | Path) -> list[str]:
    """Image ids (file stems), one per line, blank lines ignored."""
    p = Path(path)
    if not p.exists():
        raise PersonsegError(f"{p}: id list not found")
    if p.is_dir():
        raise PersonsegError(f"{p}: a folder, not an id list")
    try:   # a pipe or /dev/null reads as a file
        return [line.strip() for line in p.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise PersonsegError(f"{p}: cannot read the id list ({getattr(e, 'strerror', None) or e})") from None
