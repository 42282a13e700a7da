"""One exception family whose messages tell a user what to do."""

import sys


class PersonsegError(Exception):
    """Base class of every error personseg raises on purpose."""


class ImageError(PersonsegError):
    """An input is not a usable image (unreadable, truncated, empty, too large)."""


class ImageTooLargeError(ImageError):
    """An input image has more pixels than the limit allows."""


class OutputExistsError(PersonsegError):
    """An output file exists and overwriting was not asked for."""


class DependencyError(PersonsegError):
    """An optional component is needed but not installed."""


class NotPicklableError(PersonsegError, TypeError):
    """A Segmenter or VideoSegmenter given to pickle or copy (a TypeError too, as pickle's own are)."""


class NotPlacedWarning(UserWarning):
    """Some of the people given to a Segmenter cannot be placed on the photo: their masks are empty."""


def show_note(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning of the library as the command line shows it (``warnings.showwarning``): one line on stderr."""
    print(f"personseg: note: {message}", file=sys.stderr)


def interrupted(error: BaseException) -> KeyboardInterrupt | None:
    """The interrupt (Ctrl-C, or the command line's SIGTERM) that ``error`` is or that caused it inside a library
    (e.g. an ImportError while a C extension loaded, a SystemError out of numba's compiled code), else None."""
    while error is not None:
        if isinstance(error, KeyboardInterrupt):
            return error
        error = error.__cause__ or error.__context__
    return None


def describe(error: BaseException) -> str:
    """One line for a failure: personseg's own errors and the system's as they are, anything else marked internal."""
    if isinstance(error, PersonsegError):
        return str(error)
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}"
    return f"internal error ({type(error).__name__}: {error}); please report it"
