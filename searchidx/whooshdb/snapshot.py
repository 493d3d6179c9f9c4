"""One committed state of a Whoosh index: the :class:`searchidx.backend.Snapshot` protocol
over a Whoosh searcher. Rows are Whoosh document numbers, which stay inside the
snapshot's own columns and items."""

from __future__ import annotations

import bisect
import os
import sys
from array import array
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from whoosh.columns import NumericColumn, VarBytesColumn

from searchidx.backend import Ranking, Snapshot
from searchidx.errors import IndexDamaged
from searchidx.fields import MISSING_LAST, as_text
from searchidx.items import StoredItem
from searchidx.query import NONE, Filters
from searchidx.store import IndexDir
from searchidx.whooshdb.bulk import (
    MappedColumn,
    TermIndex,
    deleted_docs,
    field_terms,
    lengths_in_memory,
    posting_ids,
    term_documents,
)
from searchidx.whooshdb.query import (
    SORTS,
    did_you_mean,
    matching_docs,
    parse_query,
    plain_words,
    query_terms,
    run,
)
from searchidx.whooshdb.schema import column_reader
from searchidx.whooshdb.tallies import TALLIED, read_tally

#: Counting at least this share of the rows reads whole columns (see
#: :meth:`WhooshSnapshot.value_counts`).
WHOLE_SHARE = 0.5

#: How many title words' document counts a snapshot keeps (about 100 bytes each).
WORD_COUNTS_KEPT = 100_000
#: How many documents of title words a snapshot keeps for "+N similar" lookups (about
#: 50 bytes each, once a word's are put in order of time).
WORD_ROWS_KEPT = 500_000


class WhooshSnapshot:
    """A Whoosh searcher over the last committed state of an index, with what is read
    from it once and reused for as long as it lives: columns (making a column reader
    reads its offsets, a pass over every document), the titles' vocabulary, and each
    segment's time column for title-word lookups."""

    def __init__(self, ixdir: IndexDir, searcher: Any) -> None:
        self._dir = ixdir
        self.searcher = searcher
        self.reader = searcher.reader()
        self.schema = searcher.schema
        self.folder: str = searcher._ix.storage.folder  # the data folder it reads
        generation = self.reader.generation()  # None when the index has no segments
        if generation is None:
            generation = searcher._ix.latest_generation()
        self.generation: int = generation
        self._columns: dict[tuple[str, bool], Any] = {}
        self._vocabulary: list[str] | None = None
        self._leaves: list[tuple[Any, int, Any]] | None = None
        self._numbers: dict[str, list[tuple[int, Any]]] = {}
        self._ids: list[bytes] | None = None
        self._domains: list[str] | None = None
        self._term_indexes: list[tuple[Any, TermIndex | None]] | None = None
        self._word_counts: dict[str, int] = {}
        self._word_rows: OrderedDict[str, WordRows] = OrderedDict()
        self._word_rows_size = 0
        if self.reader.doc_count_all():
            for leaf, _ in self.reader.leaf_readers():
                lengths_in_memory(leaf)

    @classmethod
    def open(cls, ixdir: IndexDir) -> WhooshSnapshot:
        from searchidx.whooshdb.storage import open_searcher

        return cls(ixdir, open_searcher(ixdir))

    def verify(self) -> None:
        """Segment by segment: its terms and posting lists (see
        :func:`searchidx.whooshdb.bulk.unreadable_postings`), then each of its columns
        read whole; the stored items are read by whoever asks for them."""
        from whoosh.codec.whoosh3 import W3Codec, _lenfield

        from searchidx.whooshdb.bulk import unreadable_postings

        for leaf, _ in self.reader.leaf_readers():
            if not leaf.doc_count_all():
                continue
            segment = leaf._segment
            bad = unreadable_postings(leaf)
            if bad is not None:
                raise self._damaged(segment.make_filename(bad[0]), bad[2], bad[1])
            read: dict[str, list[Any]] = {}  # each column's values
            for name in self.schema.names():
                field = self.schema[name]
                has_terms = field.indexed and any(True for _ in leaf.lexicon(name))
                lengths = _lenfield(name)
                if has_terms and field.scorable and not leaf._perdoc.has_column(lengths):
                    found = W3Codec.column_filename(segment, lengths)  # a field's lengths
                    raise self._damaged(found, FileNotFoundError(found), None)
                if field.column_type is None:
                    continue
                found = W3Codec.column_filename(segment, name)
                if not leaf.has_column(name):
                    # A field with terms in the segment had values: its column too.
                    if has_terms:
                        raise self._damaged(found, FileNotFoundError(found), None)
                    continue
                try:
                    read[name] = whole_values(leaf, name)
                except Exception as exc:  # whatever wrong bytes raise is damage
                    raise self._damaged(found, exc, str(exc) or type(exc).__name__) from None
            self._verify_dates(leaf, read)
            self._verify_stored(leaf)

    def _verify_stored(self, leaf: Any) -> None:
        """The stored items' column opens, and its file holds all of their bytes (the
        items themselves are read by whoever asks for them)."""
        from whoosh.codec.whoosh3 import STORED_COLUMN, W3Codec

        name = W3Codec.column_filename(leaf._segment, "_stored")
        try:
            child = leaf._perdoc._cached_reader("_stored", STORED_COLUMN)._child
            offsets, lengths = child._offsets, child._lengths
            end = child._basepos + (offsets[-1] + lengths[-1] if len(offsets) else 0)
            path = os.path.join(self.folder, name)
            size = os.path.getsize(path) if os.path.exists(path) else end  # compound: not here
            if size < end:
                raise EOFError(f"the stored items end {end - size} bytes early")
        except Exception as exc:  # whatever wrong bytes raise is damage
            raise self._damaged(name, exc, str(exc) or type(exc).__name__) from None

    def _verify_dates(self, leaf: Any, read: dict[str, list[Any]]) -> None:
        """The two columns of an item's date (their values ``read`` whole by
        :meth:`verify`) agree on which items are dated. Whoosh leaves a numeric column's
        trailing default values unwritten, so a column cut short at a value's boundary
        reads as its items being undated: the column that stops before such an item is
        the damaged one."""
        from whoosh.codec.whoosh3 import W3Codec

        if "published" not in read or "oldest" not in read:
            return  # no item of the segment is dated (or a column is missing: above)
        columns = {
            name: leaf.column_reader(name, translate=False) for name in ("published", "oldest")
        }
        if not all(type(c) is NumericColumn.Reader for c in columns.values()):
            return
        published, oldest = read["published"], read["oldest"]
        default = columns["published"]._default
        for row, (p, o) in enumerate(zip(published, oldest, strict=True)):
            if (p == default) != (o == MISSING_LAST):
                short = next((n for n, c in columns.items() if c._count <= row), "published")
                found = W3Codec.column_filename(leaf._segment, short)
                reason = (
                    f"it ends after {columns[short]._count} of the segment's "
                    f"{leaf.doc_count_all()} items, before a dated one"
                )
                raise self._damaged(found, ValueError(reason), reason)

    def _damaged(self, name: str, exc: BaseException, reason: str | None) -> BaseException:
        """The damage of file ``name`` (relative to the data folder): missing when no
        ``reason`` is given; or ``exc`` itself when a writer has committed since (and
        may have deleted the file): the reader reads again."""
        if not self.current():
            return exc
        shown = os.path.join(os.path.relpath(self.folder, self._dir.path), name)
        if reason is None:
            return IndexDamaged(f"{shown} is missing")
        return IndexDamaged(f"{shown} is cut short or corrupt ({reason})")

    def current(self) -> bool:
        try:
            return self._dir.data_dir() == self.folder and bool(self.searcher.up_to_date())
        except Exception:  # its files were replaced under it, or the folder is gone
            return False

    def close(self) -> None:
        for column in self._columns.values():
            if isinstance(column, MappedColumn):
                column.close()
        self.searcher.close()

    # --- rows and items ----------------------------------------------------------------------

    def rows(self) -> int:
        return int(self.reader.doc_count_all())

    def count(self) -> int:
        return int(self.reader.doc_count())

    def live(self) -> Sequence[int]:
        """Segment by segment: through the whole index's reader, each row is asked
        whether it is deleted through four layers of calls (a second on 300,000 rows)."""
        if not self.reader.has_deletions():
            return list(range(self.rows()))
        out: list[int] = []
        for leaf, base in self.reader.leaf_readers():
            deleted = deleted_docs(leaf)
            out += [base + d for d in range(leaf.doc_count_all()) if d not in deleted]
        return out

    def row_runs(self) -> list[tuple[str, int, int, frozenset[int]]]:
        """A run per segment: segments are never written again once committed (updates
        delete rows and add segments; merging writes a new one), and each has a random id
        of its own."""
        if self.rows() == 0:
            return []
        return [
            (f"{leaf.segment().segment_id()}", base, leaf.doc_count_all(), deleted_docs(leaf))
            for leaf, base in self.reader.leaf_readers()
        ]

    def column(self, name: str, translate: bool = True) -> Sequence[Any]:
        key = (name, translate)
        if key not in self._columns:
            mapped = MappedColumn.of(self.reader, name) if not translate and self.rows() else None
            self._columns[key] = (
                mapped if mapped is not None else column_reader(self.reader, name, translate)
            )
        found: Sequence[Any] = self._columns[key]
        return found

    def column_values(self, name: str) -> list[Any]:
        if self.rows() == 0:
            return []
        out: list[Any] = []
        for leaf, _ in self.reader.leaf_readers():
            out += whole_values(leaf, name)
        return out

    def value_counts(
        self, names: tuple[str, ...], rows: Sequence[int] | None = None
    ) -> Counter[tuple[Any, ...]]:
        """Every row's values read at once, then the deleted rows' taken away, when
        counting every live item or a large share of the rows; the rows' values one by
        one, from memory maps, when fewer (a mapped value costs about twice as much as
        one read with its whole column, and the whole column is read whatever the
        share)."""
        if not self.rows():
            return Counter()
        if rows is not None and len(rows) < self.rows() * WHOLE_SHARE:
            mapped = [self.column(name, translate=False) for name in names]
            if all(isinstance(column, MappedColumn) for column in mapped):
                return tally([self._values(name, rows) for name in names])
        if rows is None and names in TALLIED:
            return self._tallied(names)
        columns = [self.column_values(name) for name in names]
        if rows is not None:
            return tally([list(map(column.__getitem__, rows)) for column in columns])
        counts = tally(columns)
        for row in self._deleted_rows():
            key = tuple(column[row] for column in columns)
            counts[key] -= 1
            if not counts[key]:
                del counts[key]
        return counts

    def _tallied(self, names: tuple[str, ...]) -> Counter[tuple[Any, ...]]:
        """Every live item's counts, from the tallies written with each segment (see
        :mod:`searchidx.whooshdb.tallies`) less its deleted documents' values, or from
        its columns when it has none."""
        counts: Counter[tuple[Any, ...]] = Counter()
        for leaf, base in self.reader.leaf_readers():
            if not leaf.doc_count_all():
                continue
            deleted = _deleted_in_order(leaf)
            found = read_tally(leaf, names)
            if found is None:
                columns = [whole_values(leaf, name) for name in names]
                found = tally(columns)
                gone = [[column[d] for d in deleted] for column in columns]
            elif deleted:
                rows = [base + d for d in deleted]
                gone = [self._values(name, rows) for name in names]
            else:
                gone = []
            if deleted:
                found.subtract(zip(*gone, strict=True))
                found = +found
            if counts:
                counts.update(found)
            else:
                counts = found
        return counts

    def _values(self, name: str, rows: Sequence[int]) -> list[Any]:
        """A column's raw values of ``rows``, in their order."""
        column = self.column(name, translate=False)
        if isinstance(column, MappedColumn):
            return column.take(rows)
        return [column[row] for row in rows]

    def _deleted_rows(self) -> list[int]:
        """The rows of deleted items, in order."""
        out: list[int] = []
        for leaf, base in self.reader.leaf_readers():
            out += [base + d for d in _deleted_in_order(leaf)]
        return out

    def item(self, row: int) -> StoredItem:
        fields = self.searcher.stored_fields(row)
        if "data" not in fields:  # wrong bytes Whoosh read as a record of no fields
            raise self._stored_damage(row)
        return StoredItem.from_json(fields["data"])

    def _stored_damage(self, row: int) -> BaseException:
        """The damage of the stored items' file of the segment of ``row``."""
        from whoosh.codec.whoosh3 import W3Codec

        leaves = list(self.reader.leaf_readers())
        leaf = leaves[bisect.bisect_right([base for _, base in leaves], row) - 1][0]
        reason = "an item's stored record has no data"
        name = W3Codec.column_filename(leaf._segment, "_stored")
        return self._damaged(name, KeyError("data"), reason)

    def row_of(self, item_id: str) -> int | None:
        from whoosh.query import Term

        return next(iter(self.searcher.docs_for_query(Term("id", item_id))), None)

    def rows_by_id_prefix(self, prefix: str, limit: int) -> list[int]:
        from whoosh.query import Prefix

        return [hit.docnum for hit in self.searcher.search(Prefix("id", prefix), limit=limit)]

    def citing(self, item_id: str) -> list[int]:
        from whoosh.query import Term

        return [hit.docnum for hit in self.searcher.search(Term("cites", item_id), limit=None)]

    def kind_count(self, kind: str) -> int:
        from whoosh.query import Term

        return len(self.searcher.search(Term("kind", kind), limit=1))

    def topics(self) -> Iterator[tuple[str, list[int]]]:
        """Segment by segment, a block of postings at a time: through the whole index's
        reader each posting is read, and asked whether it is deleted, through several
        layers of calls (a tenth of a second for 100,000 postings)."""
        found: dict[bytes, list[int]] = {}
        if self.rows():
            for leaf, base in self.reader.leaf_readers():
                for term in field_terms(leaf, "topic"):
                    rows = found.setdefault(term, [])
                    rows += map(base.__add__, posting_ids(leaf, "topic", term.decode("utf-8")))
        for term in sorted(found):
            yield term.decode("utf-8"), found[term]

    def topic_count(self) -> int:
        return sum(
            1 for t in self.reader.lexicon("topic") if self.reader.postings("topic", t).is_active()
        )

    # --- queries -------------------------------------------------------------------------------

    def rank(
        self, text: str, filters: Filters, *, literal: bool, sort: str, fetch: int | None
    ) -> Ranking:
        sortedby, reverse = SORTS[sort]
        filters = self._with_subdomains(filters)
        q = parse_query(self.schema, text, literal, snap=self)
        ran = run(self.searcher, q, filters, sortedby, reverse, fetch, self.numbers, self.ids)
        if ran is None:  # Whoosh could not run it: the plain words instead
            q = parse_query(self.schema, text, literal=True)
            ran = run(self.searcher, q, filters, sortedby, reverse, fetch, self.numbers, self.ids)
        partial = False
        # Only a query of plain words falls back to its best partial matches: with NOT, a
        # quoted phrase or a field, "no match" is the answer. A word the analyzer splits
        # ("covid-19", "Trump's") is a phrase, but no quoted one: still plain words.
        typed = not literal and '"' not in text
        if ran is not None and not ran[2] and plain_words(q, typed) > 1:
            loose = parse_query(self.schema, text, literal, or_group=True, snap=self)
            found = run(
                self.searcher, loose, filters, sortedby, reverse, fetch, self.numbers, self.ids
            )
            if found is not None and found[2]:
                ran, q, partial = found, loose, True
        out = Ranking(partial=partial, terms=query_terms(self.searcher, q))
        if ran is not None:
            out.rows, out.scores, out.total = ran
        return out

    def match(self, text: str, filters: Filters, literal: bool = False) -> list[int]:
        if text.strip() in ("", "*") and filters == Filters():
            return list(self.live())
        filters = self._with_subdomains(filters)
        q = parse_query(self.schema, text or "*", literal, snap=self)
        return matching_docs(self.searcher, q, filters)

    def _with_subdomains(self, filters: Filters) -> Filters:
        """``filters`` with the known subdomains of each ``--domain`` added to it: the
        registered domain takes its hosts (wsj.com: online.wsj.com, live.wsj.com)."""
        if not filters.domains:
            return filters
        from searchidx.documents import normalize_domain  # YAML comes with it: only here

        if self._domains is None:
            counts = self.value_counts(("provider_name", "domain"))
            self._domains = sorted({as_text(d) for _, d in counts} - {""})
        wanted = list(filters.domains)
        for given in filters.domains:
            if given != NONE and (d := normalize_domain(given)):
                wanted += [x for x in self._domains if x.endswith("." + d)]
        return replace(filters, domains=tuple(dict.fromkeys(wanted)))

    def suggest(self, text: str) -> str | None:
        return did_you_mean(self, text)

    def vocabulary(self) -> list[str]:
        """The titles' words, read segment by segment: through the whole index's reader
        each word is looked up in every segment (seconds on a 100k-item index)."""
        if self._vocabulary is None:
            words: set[bytes] = set()
            if self.rows():
                for leaf, _ in self.reader.leaf_readers():
                    words.update(field_terms(leaf, "norm"))
            self._vocabulary = [w.decode("utf-8") for w in sorted(words)]
        return self._vocabulary

    # --- title words ---------------------------------------------------------------------------

    def title_word_count(self, word: str) -> int:
        """Kept: the hits of later pages and queries share many words."""
        found = self._word_counts.get(word)
        if found is None:
            if len(self._word_counts) >= WORD_COUNTS_KEPT:
                self._word_counts.clear()
            tbytes = word.encode("utf-8")
            found = 0
            for leaf, index in self._segment_terms():
                if index is None:
                    found += int(leaf.doc_frequency("norm", word))
                elif (value := index.value("norm", tbytes)) is not None:
                    found += term_documents(value)
            self._word_counts[word] = found
        return found

    def title_word_rows(self, word: str) -> WordRows:
        """Read segment by segment: through the whole index's reader each document costs
        several times as much (a union of words, and a column lookup per segment search
        for every document). The words last asked for are kept, up to
        WORD_ROWS_KEPT documents in all: the commonest words come back page after page."""
        found = self._word_rows.get(word)
        if found is not None:
            self._word_rows.move_to_end(word)
            found.given += 1
            return found
        found = self._word_rows[word] = WordRows(
            [
                (base, oldest, posting_ids(leaf, "norm", word, False, index), deleted_docs(leaf))
                for (leaf, base, oldest), (_, index) in zip(
                    self._segment_times(), self._segment_terms(), strict=True
                )
            ]
        )
        self._word_rows_size += found.size
        while self._word_rows_size > WORD_ROWS_KEPT and len(self._word_rows) > 1:
            self._word_rows_size -= self._word_rows.popitem(last=False)[1].size
        return found

    def titles_sized(
        self, rows: Iterable[int], least: int, most: int
    ) -> tuple[list[int], list[str]]:
        column = self.column("norm", translate=False)
        if isinstance(column, MappedColumn):
            return column.texts_sized(rows, least, most)
        kept: tuple[list[int], list[str]] = ([], [])
        for row in rows:
            text = as_text(column[row])
            if least <= len(text) <= most:
                kept[0].append(row)
                kept[1].append(text)
        return kept

    def _segment_terms(self) -> list[tuple[Any, TermIndex | None]]:
        """Each segment's reader and term index, as :meth:`_segment_times` lists them."""
        if self._term_indexes is None:
            self._term_indexes = [
                (leaf, TermIndex.of(leaf)) for leaf, _, _ in self._segment_times()
            ]
        return self._term_indexes

    def _segment_times(self) -> list[tuple[Any, int, Any]]:
        if self._leaves is None:
            leaves = [leaf for leaf, _ in self.reader.leaf_readers() if leaf.doc_count_all()]
            self._leaves = [
                (leaf, base, values)
                for leaf, (base, values) in zip(leaves, self.numbers("oldest"), strict=True)
            ]
        return self._leaves

    def ids(self, rows: Sequence[int]) -> list[bytes]:
        """The item ids of ``rows``, as UTF-8 bytes (ranking breaks ties with them): from
        the whole column, read once, when they are many, else row by row."""
        if len(rows) * 8 > self.rows():
            if self._ids is None:
                self._ids = self.column_values("id")
            every: Sequence[bytes] = self._ids
        else:
            every = self.column("id", translate=False)
        return [every[d] for d in rows]

    def numbers(self, name: str) -> list[tuple[int, Any]]:
        """A numeric column, each segment's values read whole once (see
        :func:`whole_column`), with the segment's first row."""
        if name not in self._numbers:
            self._numbers[name] = [
                (base, whole_column(leaf, name))
                for leaf, base in self.reader.leaf_readers()
                if leaf.doc_count_all()  # an index of no items has one leaf, of no columns
            ]
        return self._numbers[name]


class WordRows:
    """A title word's documents in each segment (deleted ones too), with the segment's
    time column: a window of time is taken from them before deleted documents are
    left out, and with no (row, time) pair made a document (a common word has tens of
    thousands, a page's lookups take a window of it for each hit). Once it has taken
    three windows one document at a time, about what sorting costs, and has come back
    for another page (or taken eight windows for one), it puts each segment's documents
    in order of time and finds every later window by bisection: a word that comes back,
    page after page, costs little, and a single page sorts nothing it could do without
    (such as one search of a process)."""

    def __init__(self, parts: list[tuple[int, Any, list[int], frozenset[int]]]) -> None:
        self._parts = parts  # (first row, time column, documents, deleted documents)
        self.size = sum(len(docs) for _, _, docs, _ in parts)
        self._asked = 0
        self.given = 1  # how many times the snapshot has given it (once a page)
        # Each segment's live rows in order of time, and their times.
        self._by_time: list[tuple[list[int], array[int]]] | None = None

    def within(self, start: int | None, end: int | None) -> list[int]:
        # The column holds negated times, undated items as MISSING_LAST (the least value).
        low = MISSING_LAST if end is None else -end
        high = sys.maxsize if start is None else -start
        self._asked += 1
        if (
            self._by_time is None
            and self._asked > 3
            and (self.given > 1 or self._asked > 8)
            and (start, end) != (None, None)
        ):
            self._by_time = [_in_order_of_time(*part) for part in self._parts]
            self._parts = []  # every window is taken from those now
        found: list[int] = []
        if self._by_time is not None:
            for rows, times in self._by_time:
                first = bisect.bisect_left(times, low)
                found += rows[first : bisect.bisect_right(times, high)]
                if low > MISSING_LAST:  # the undated ones, first in order of time
                    found += rows[: bisect.bisect_right(times, MISSING_LAST, 0, first)]
            return found
        for base, oldest, docs, deleted in self._parts:
            if start is None and end is None:
                picked = docs
            else:
                picked = [
                    d for d in docs if low <= (raw := oldest[d]) <= high or raw == MISSING_LAST
                ]
            if deleted:
                picked = [d for d in picked if d not in deleted]
            found += [base + d for d in picked] if base else picked
        return found


def _in_order_of_time(
    base: int, oldest: Any, docs: list[int], deleted: frozenset[int]
) -> tuple[list[int], array[int]]:
    """One segment's documents of a word, deleted ones left out, as rows in order of
    time, and their times: a window is then two bisections and a slice."""
    live = [d for d in docs if d not in deleted] if deleted else docs
    ordered = sorted(live, key=oldest.__getitem__)
    times = array("q", map(oldest.__getitem__, ordered))
    return ([base + d for d in ordered] if base else ordered), times


def _deleted_in_order(leaf: Any) -> list[int]:
    """A segment's deleted documents, in order."""
    return sorted(deleted_docs(leaf))


def tally(columns: list[list[Any]]) -> Counter[tuple[Any, ...]]:
    """How many rows have each combination of the columns' values (counted in C)."""
    if len(columns) == 1:  # no tuple a row
        return Counter({(value,): n for value, n in Counter(columns[0]).items()})
    return Counter(zip(*columns, strict=True))


def whole_column(leaf: Any, fieldname: str) -> Any:
    """A segment's numeric column, every value read at once into an array: Whoosh's
    reader reads and unpacks one value a lookup, and a page's "+N similar" lookups read
    the time of every item sharing a word with its titles (tens of thousands for a
    common word). Any other kind of column, or a column reader without the parts read
    here, is given as Whoosh reads it."""
    return _numbers(leaf, fieldname, leaf.column_reader(fieldname, translate=False))


def _numbers(leaf: Any, fieldname: str, column: Any) -> Any:
    parts = ("_count", "_fixedlen", "_dbfile", "_basepos", "_typecode", "_default")
    if type(column) is not NumericColumn.Reader or not all(hasattr(column, p) for p in parts):
        return column
    size = column._count * column._fixedlen
    data = column._dbfile.get(column._basepos, size)
    if len(data) != size:  # as Whoosh's own reading of the value would fail
        raise EOFError(f"the {fieldname} column ends {size - len(data)} bytes early")
    values = array(column._typecode)
    values.frombytes(data)
    if sys.byteorder == "little":  # Whoosh writes them big-endian
        values.byteswap()
    values.extend([column._default] * (leaf.doc_count_all() - len(values)))
    return values


def whole_values(leaf: Any, fieldname: str) -> list[Any]:
    """A segment's raw column values, a variable-length column read with one read of
    its data instead of one read a value (Whoosh's reader seeks and reads each value:
    most of the time of counting facets over 300,000 items). Any other kind of column,
    or a reader without the parts read here, is read as Whoosh reads it. What reading
    it raises names the column's file as its ``damaged_file``, which the message of the
    damage names (see :func:`searchidx.whooshdb.storage.damage`)."""
    try:
        return _whole_values(leaf, fieldname)
    except Exception as exc:
        folder = getattr(getattr(leaf, "_storage", None), "folder", None)
        segment = getattr(leaf, "_segment", None)
        if isinstance(folder, str) and segment is not None:
            from whoosh.codec.whoosh3 import W3Codec

            name = os.path.join(folder, W3Codec.column_filename(segment, fieldname))
            setattr(exc, "damaged_file", name)  # noqa: B010 (an attribute exceptions lack)
        raise


def _whole_values(leaf: Any, fieldname: str) -> list[Any]:
    column = leaf.column_reader(fieldname, translate=False)
    if type(column) is NumericColumn.Reader:
        return list(_numbers(leaf, fieldname, column))
    parts = ("_offsets", "_lengths", "_dbfile", "_basepos")
    if type(column) is not VarBytesColumn.Reader or not all(hasattr(column, p) for p in parts):
        return list(column)
    offsets, lengths = column._offsets, column._lengths
    if len(offsets) != len(lengths):
        raise ValueError(
            f"the {fieldname} column has {len(offsets)} offsets, {len(lengths)} lengths"
        )
    # Whoosh writes the values in order, each at the end of the one before.
    end = offsets[-1] + lengths[-1] if len(offsets) else 0
    data = column._dbfile.get(column._basepos, end) if end else b""
    if len(data) != end:  # as Whoosh's own reading of the value would fail
        raise EOFError(f"the {fieldname} column ends {end - len(data)} bytes early")
    return [data[o : o + n] for o, n in zip(offsets, lengths, strict=True)]


def _is_a_snapshot(snap: WhooshSnapshot) -> Snapshot:  # mypy checks the protocol here
    return snap
