"""The backend protocol: what an index engine does for searchidx.

:class:`Snapshot` is one committed state of an index, read-only; an
:class:`searchidx.engine.Index` keeps one open. Whoosh (:mod:`searchidx.whooshdb`) is the
one backend. A second one, such as OpenSearch for collections past one machine, would
be one module implementing :class:`Snapshot` (queries as ``query_string`` with filters,
terms aggregations for facets, scrolls for the columns that copies and stories read)
and the writing side of :mod:`searchidx.whooshdb.writing` (add, replace and delete
items, commit).

Rows
    A snapshot numbers its items ``0 .. rows() - 1``; the rows of deleted items are
    not :meth:`Snapshot.live`. Row numbers mean something only within one snapshot
    (its columns, :meth:`Snapshot.item`); results that leave the core carry item ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from searchidx.errors import ItemNotFound
from searchidx.fields import as_text, provider_key
from searchidx.items import StoredItem
from searchidx.query import NONE, Filters


@dataclass(slots=True)
class Ranking:
    """The ranked matches of a search: rows best first (``scores`` None unless ranked
    by relevance), the exact number of matches, whether only some of the words matched,
    and the index terms matched (for highlighting)."""

    rows: list[int] = field(default_factory=list)
    scores: list[float | None] = field(default_factory=list)
    total: int = 0
    partial: bool = False
    terms: list[str] = field(default_factory=list)


#: The fewest characters of an id that find it (when no other id starts with them).
ID_PREFIX_MIN = 4


def find_row(snap: Snapshot, item_id: str) -> int:
    """The row of a live item by its id, by 4 or more of its first characters when no
    other id starts with them, or by its URL (any of the forms that are one URL, see
    :func:`searchidx.documents.url_key`); ItemNotFound otherwise."""
    if "://" in item_id:
        from searchidx.documents import item_id as id_of
        from searchidx.documents import url_key

        row = snap.row_of(id_of(url_key(item_id)))
        if row is None:
            raise ItemNotFound(f"no item with the URL {item_id!r}")
        return row
    row = snap.row_of(item_id)
    if row is None and len(item_id) >= ID_PREFIX_MIN:
        matches = snap.rows_by_id_prefix(item_id.lower(), limit=2)
        if len(matches) > 1:
            raise ItemNotFound(f"id {item_id!r} is ambiguous; give more characters")
        row = matches[0] if matches else None
    if row is None:
        hint = (
            ""
            if len(item_id) >= ID_PREFIX_MIN
            else " (an id may be shortened to 4 or more characters)"
        )
        raise ItemNotFound(f"no item with id {item_id!r}{hint}")
    return row


def why_nothing(
    snap: Snapshot, text: str, filters: Filters, literal: bool = False
) -> tuple[int, list[str]]:
    """What a command that found no item says of why: how many items have some of the
    query's words when none has all of them (the partial matches ``search`` shows; 0
    when none has any), and the known providers closest to a ``--provider`` that names
    none."""
    partial = 0
    if text.strip() not in ("", "*"):
        found = snap.rank(text, filters, literal=literal, sort="relevance", fetch=1)
        partial = found.total if found.partial else 0
    return partial, closest_providers(snap, filters.providers)


def closest_providers(snap: Snapshot, names: Iterable[str], limit: int = 3) -> list[str]:
    """Known provider names closest to names that are not known."""
    names = list(names)
    if not names:  # nothing to compare: every provider's name is not read
        return []
    from rapidfuzz import fuzz, process

    # In order: a set's order changes from process to process, and with it which of
    # two spellings of a name is shown and which of two names that score alike comes first.
    known: dict[str, str] = {}
    for n in sorted(_live_values(snap, "provider_name")):
        known.setdefault(provider_key(n), n)
    unknown = [n for n in names if n != NONE and provider_key(n) not in known]
    out: list[str] = []
    for name in unknown:
        for key, _, _ in process.extract(
            provider_key(name), list(known), scorer=fuzz.WRatio, limit=limit, score_cutoff=60
        ):
            if known[key] not in out:
                out.append(known[key])
    return out[:limit]


def _live_values(snap: Snapshot, name: str) -> set[str]:
    """The distinct values of a column among live items (not deleted ones an updated
    index still holds)."""
    column = snap.column_values(name)
    return {text for text in (as_text(column[row]) for row in snap.live()) if text}


def column_texts(snap: Snapshot, name: str) -> list[str]:
    """Every row's value of a text column, as text."""
    return [as_text(v) for v in snap.column_values(name)]


class TitleWordRows(Protocol):
    """The rows whose normalised title has one word (see :meth:`Snapshot.title_word_rows`)."""

    def within(self, start: int | None, end: int | None) -> list[int]:
        """The live ones published from ``start`` to ``end`` (microseconds, both
        included; None: no bound) or undated, in no set order."""


class Snapshot(Protocol):
    """One committed state of an index, read-only."""

    #: The committed generation this snapshot reads (0 for a new, empty index).
    generation: int
    #: A folder this generation may keep derived files in (see :mod:`searchidx.stories`).
    folder: str

    def rows(self) -> int:
        """How many rows there are, deleted items' rows included."""

    def count(self) -> int:
        """How many live items there are."""

    def live(self) -> Sequence[int]:
        """The rows of live items, in order."""

    def row_runs(self) -> list[tuple[str, int, int, frozenset[int]]]:
        """The rows in runs ``(token, first row, count, deleted)``, in order, covering
        every row (``deleted``: the places in the run of its deleted rows): a run whose
        token a later snapshot shows again holds the same items in the same order there
        (more may since be deleted), so what was read of it still holds."""

    def column(self, name: str, translate: bool = True) -> Sequence[Any]:
        """A field's value for every row (see :mod:`searchidx.fields`); text columns
        may give UTF-8 bytes (:func:`searchidx.fields.as_text`)."""

    def column_values(self, name: str) -> list[Any]:
        """Every row's raw value of a column, read at once (as ``column(name, False)``
        gives them one by one): for counting over many items."""

    def value_counts(
        self, names: tuple[str, ...], rows: Sequence[int] | None = None
    ) -> Counter[tuple[Any, ...]]:
        """How many live items have each combination of raw values of the columns
        ``names`` (a tuple of values, in the order of ``names``): of the live ``rows``
        given, or of every live item when None. As a terms aggregation: what is read
        to count is the backend's choice."""

    def item(self, row: int) -> StoredItem:
        """The stored item of a row."""

    def row_of(self, item_id: str) -> int | None:
        """The row of a live item, by its full id."""

    def rows_by_id_prefix(self, prefix: str, limit: int) -> list[int]:
        """Rows of live items whose id starts with ``prefix``, at most ``limit``."""

    def citing(self, item_id: str) -> list[int]:
        """Rows of the articles that list ``item_id`` as related coverage."""

    def kind_count(self, kind: str) -> int:
        """How many live items are of this kind."""

    def topics(self) -> Iterator[tuple[str, list[int]]]:
        """Each topic key (case-folded) with the rows of the live items having it."""

    def topic_count(self) -> int:
        """How many distinct topics the items have."""

    def rank(
        self, text: str, filters: Filters, *, literal: bool, sort: str, fetch: int | None
    ) -> Ranking:
        """The best ``fetch`` matches of a query (None: all), in ``sort`` order
        (:data:`searchidx.options.SORTS`); a query of several plain words that matches
        nothing falls back to the items matching some of them."""

    def match(self, text: str, filters: Filters, literal: bool = False) -> list[int]:
        """The rows of the live items matching a query and passing the filters."""

    def suggest(self, text: str) -> str | None:
        """The query with unknown words replaced by close known ones, if any."""

    def title_word_count(self, word: str) -> int:
        """How many items' normalised titles have ``word``."""

    def title_word_rows(self, word: str) -> TitleWordRows:
        """The live rows whose normalised title has ``word``, read once and then
        asked for a window of time as often as needed."""

    def titles_sized(
        self, rows: Iterable[int], least: int, most: int
    ) -> tuple[list[int], list[str]]:
        """Those of ``rows`` whose normalised title has from ``least`` to ``most``
        characters, and their titles."""

    def verify(self) -> None:
        """Read every term, posting list and column of the state, as searches and counts
        would; raise IndexDamaged naming the first file that cannot be read."""

    def current(self) -> bool:
        """Whether this is still the last committed state (no writer has committed,
        no rebuild has replaced the data folder since it was opened)."""

    def close(self) -> None:
        """Release the files the snapshot reads."""
