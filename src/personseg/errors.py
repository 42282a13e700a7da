"""One exception family whose messages tell a user what to do."""


class PersonsegError(Exception):
    """Base class of every error personseg raises on purpose."""


class ImageError(PersonsegError):
    """An input is not a usable image (unreadable, truncated, empty, too large)."""


class OutputExistsError(PersonsegError):
    """An output file exists and overwriting was not asked for."""


class DependencyError(PersonsegError):
    """An optional component is needed but not installed."""
