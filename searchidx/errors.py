"""Domain exceptions. The command line turns them into exit statuses."""

from __future__ import annotations


class SearchidxError(Exception):
    """Base class of every error searchidx reports to the user."""


def printable(path: str) -> str:
    """A path safe to print on one line: control characters and bytes that are not
    UTF-8 (kept by Python as surrogates) are shown as escapes."""
    out = []
    for ch in path:
        if "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    return "".join(out)


class ParseError(SearchidxError):
    """An article file, or one record in it, cannot be used."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        where = f"{printable(path)}:{line}" if line is not None else printable(path)
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, str, int | None]]:
        """Pickle by the arguments, so the error travels back from a parsing process."""
        return (type(self), (self.path, self.reason, self.line))


class IndexNotFound(SearchidxError):
    """There is no index at the given location."""


class NotAnIndex(SearchidxError):
    """The folder exists but does not hold a searchidx index."""


class SchemaMismatch(SearchidxError):
    """The index was written by an incompatible version of searchidx."""


class IndexDamaged(SearchidxError):
    """The index cannot be read: a file of it is missing, cut short or unreadable."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(
            f"index damaged: {what}; rebuild it with: searchidx index --rebuild PATH..."
        )

    def __reduce__(self) -> tuple[type[IndexDamaged], tuple[str]]:
        return (type(self), (self.what,))


class IndexLocked(SearchidxError):
    """Another process is writing to the index and did not finish in time."""


class IndexWriteError(SearchidxError):
    """The index could not be written; the previous state is kept."""


class ItemNotFound(SearchidxError):
    """No item has the given id."""


class InvalidOption(SearchidxError):
    """An option value is not acceptable; reported as a usage error."""
