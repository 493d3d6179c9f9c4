"""The file a grouping is kept in: an SQLite database in an index's data folder, read
and written piece by piece, so that bringing the grouping to the next state of an index
reads and writes the pieces that state changes, not the whole grouping.

It holds, for one committed generation of the index (see
:class:`searchidx.storystate.GroupingState` for what each piece is):

- ``meta``: the versions of the code that wrote it, the grouping's settings, the
  generation;
- ``runs``: each run of rows (a segment of the index): how many rows, which were deleted
  when last read, and the item key of every row;
- ``items``: each item as grouping reads it, its block, title template and row (run
  and place);
- ``blocks``: each block of days: its number of items, its words' counts and its
  stories; ``seams``: the region and stories around each boundary between two blocks;
- ``templates``: on which days each title template is seen, and how often undated;
- ``cited``: the articles whose related list names each item; ``words``: how many
  dated items have each word;
- ``stories``: every story, by its first key: its keys, rows, outlets and first time.

Every value is a number, text or :mod:`marshal` bytes (fast, and never executes code
when read). An update is one transaction: a process killed halfway leaves the file as
it was.
"""

from __future__ import annotations

import marshal
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

#: The name of the file in an index's data folder.
NAME = "stories.sqlite"
#: The block of undated items, as the file keeps it (its key must be a number).
UNDATED = -(1 << 62)
#: How many values one query asks for at once.
_CHUNK = 500
#: Rows are written in key order: a B-tree takes them at its end, page by page.
_KEY = itemgetter(0)
#: How long to wait for another process writing the file (seconds).
_WAIT = 3600.0

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (rid INTEGER PRIMARY KEY, token TEXT UNIQUE,
    count INTEGER, gone BLOB, keys BLOB);
CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, block INTEGER, time INTEGER,
    norm TEXT, gist TEXT, links TEXT, template INTEGER, rid INTEGER, place INTEGER)
    WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_by_block ON items (block);
CREATE TABLE IF NOT EXISTS blocks (block INTEGER PRIMARY KEY, size INTEGER, df BLOB,
    groups BLOB);
CREATE TABLE IF NOT EXISTS seams (block INTEGER PRIMARY KEY, part BLOB);
CREATE TABLE IF NOT EXISTS templates (template INTEGER PRIMARY KEY, days BLOB,
    undated INTEGER);
CREATE TABLE IF NOT EXISTS cited (key TEXT PRIMARY KEY, citing TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS words (word TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stories (key TEXT PRIMARY KEY, keys TEXT, rows BLOB,
    outlets INTEGER, first INTEGER) WITHOUT ROWID;
"""
_ALL = ("meta", "runs", "items", "blocks", "seams", "templates", "cited", "words", "stories")

#: An item's row as the file keeps it: key, block, time, normalised title, gist,
#: related ids, template (None: never grouped), run id and place in the run.
ItemRow = tuple[str, int | None, int | None, str, str, str, int | None, int, int]
#: A run as the file keeps it: its id, token, number of rows, deleted places and the key
#: of each row (None: deleted when read; the list None: unchanged, not written again).
RunRow = tuple[int, str, int, set[int], list[str | None] | None]
#: A boundary's region and stories.
Seam = tuple[list[str], list[list[str]]]
#: A story as the file keeps it: its first key, its keys, its rows as (run id, place)
#: pairs, how many outlets it has and its earliest member's ``oldest``.
StoryRow = tuple[str, list[str], list[tuple[int, int]], int, int]


def _block(b: int | None) -> int:
    return UNDATED if b is None else b


def _unblock(b: int) -> int | None:
    return None if b == UNDATED else b


def _signed(t: int | None) -> int | None:
    """A 64-bit template id as SQLite keeps it (a signed number)."""
    return None if t is None else t - (1 << 64) if t >= 1 << 63 else t


def _unsigned(t: int) -> int:
    return t + (1 << 64) if t < 0 else t


class StateFile:
    """An open grouping file. Reads may run at any time; writes run inside
    :meth:`writing`, one transaction."""

    def __init__(self, conn: sqlite3.Connection, writable: bool) -> None:
        self.conn = conn
        self.writable = writable

    @classmethod
    def open(cls, path: str, writable: bool) -> StateFile:
        """The file at ``path``, its tables made when ``writable`` (raises
        :class:`sqlite3.Error` or :class:`OSError` when it cannot be opened)."""
        if writable:
            conn = sqlite3.connect(path, timeout=_WAIT, isolation_level=None)
        else:
            conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, timeout=_WAIT, isolation_level=None
            )
        try:
            if writable:
                conn.executescript(_TABLES)
            else:
                conn.execute("SELECT name FROM meta LIMIT 1").fetchall()
        except BaseException:
            conn.close()
            raise
        return cls(conn, writable)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One transaction, begun at once (waiting for another process's to end), so
        that what was read in it still holds when it writes; rolled back on error."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One read transaction: what is read in it is of one state of the file, though
        another process writes meanwhile (its writing waits for this to end)."""
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def clear(self) -> None:
        """Empty every table (inside :meth:`writing`)."""
        for table in _ALL:
            self.conn.execute(f"DELETE FROM {table}")

    # --- meta ---------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        return {name: marshal.loads(v) for name, v in self.conn.execute("SELECT * FROM meta")}

    def set_meta(self, values: dict[str, Any]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [(name, marshal.dumps(v)) for name, v in values.items()],
        )

    # --- runs ---------------------------------------------------------------------------

    def runs(self) -> dict[str, tuple[int, int, set[int]]]:
        """Every run's token, with its id, number of rows and deleted places."""
        return {
            token: (rid, count, set(marshal.loads(gone)))
            for rid, token, count, gone in self.conn.execute(
                "SELECT rid, token, count, gone FROM runs"
            )
        }

    def run_keys(self, rid: int) -> list[str | None]:
        row = self.conn.execute("SELECT keys FROM runs WHERE rid = ?", (rid,)).fetchone()
        keys: list[str | None] = marshal.loads(row[0])
        return keys

    def put_runs(self, runs: Iterable[RunRow], dropped: Iterable[int]) -> None:
        """Write runs as (id, token, count, deleted places, keys (None: as kept)), and
        drop the runs of ids ``dropped``."""
        conn = self.conn
        conn.executemany("DELETE FROM runs WHERE rid = ?", [(rid,) for rid in dropped])
        for rid, token, count, gone, keys in runs:
            if keys is None:
                conn.execute(
                    "UPDATE runs SET gone = ? WHERE rid = ?", (marshal.dumps(sorted(gone)), rid)
                )
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?)",
                    (rid, token, count, marshal.dumps(sorted(gone)), marshal.dumps(keys)),
                )

    # --- items --------------------------------------------------------------------------

    def items(self, keys: Sequence[str]) -> list[ItemRow]:
        """The rows of those of ``keys`` the file has."""
        return [_item_row(row) for row in self._among("SELECT * FROM items WHERE key", keys)]

    def _among(self, query: str, values: Sequence[Any]) -> Iterator[Any]:
        """The rows of ``query`` (ending in a column) IN ``values``, asked a chunk at a
        time."""
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            yield from self.conn.execute(f"{query} IN ({','.join('?' * len(chunk))})", chunk)

    def block_items(self, block: int | None) -> list[ItemRow]:
        return [
            _item_row(row)
            for row in self.conn.execute("SELECT * FROM items WHERE block = ?", (_block(block),))
        ]

    def put_items(self, rows: Iterable[ItemRow], dropped: Iterable[str]) -> None:
        self._replace(
            "items",
            "key",
            [
                (key, _block(b), t, norm, gist, links, _signed(tid), rid, place)
                for key, b, t, norm, gist, links, tid, rid, place in rows
            ],
            dropped,
        )

    def _replace(
        self, table: str, key: str, rows: list[tuple[Any, ...]], dropped: Iterable[Any]
    ) -> None:
        """Drop the rows of the keys ``dropped`` from a table, then write ``rows`` (key
        first), in key order."""
        conn = self.conn
        conn.executemany(f"DELETE FROM {table} WHERE {key} = ?", [(k,) for k in sorted(dropped)])
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            conn.executemany(
                f"INSERT OR REPLACE INTO {table} VALUES ({marks})", sorted(rows, key=_KEY)
            )

    # --- blocks and seams ---------------------------------------------------------------

    def sizes(self) -> dict[int | None, int]:
        return {
            _unblock(b): n
            for b, n in self.conn.execute("SELECT block, size FROM blocks WHERE size > 0")
        }

    def block(self, block: int | None) -> tuple[dict[str, int], list[list[str]] | None]:
        """A block's words' counts and stories (None: not grouped)."""
        row = self.conn.execute(
            "SELECT df, groups FROM blocks WHERE block = ?", (_block(block),)
        ).fetchone()
        if row is None:
            return {}, None
        df: dict[str, int] = marshal.loads(row[0])
        groups: list[list[str]] | None = None if row[1] is None else marshal.loads(row[1])
        return df, groups

    def put_blocks(
        self,
        rows: Iterable[tuple[int | None, int, dict[str, int], list[list[str]] | None]],
    ) -> None:
        """Write blocks as (block, size, counts, stories); a block of no items and no
        stories is dropped."""
        conn = self.conn
        for b, size, df, groups in rows:
            if not size and groups is None:
                conn.execute("DELETE FROM blocks WHERE block = ?", (_block(b),))
                continue
            conn.execute(
                "INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?)",
                (
                    _block(b),
                    size,
                    marshal.dumps(df),
                    None if groups is None else marshal.dumps(groups),
                ),
            )

    def seam(self, block: int) -> Seam | None:
        row = self.conn.execute("SELECT part FROM seams WHERE block = ?", (block,)).fetchone()
        if row is None:
            return None
        region, groups = marshal.loads(row[0])
        return region, groups

    def put_seams(self, rows: Iterable[tuple[int, Seam | None]]) -> None:
        conn = self.conn
        for b, part in rows:
            if part is None:
                conn.execute("DELETE FROM seams WHERE block = ?", (b,))
            else:
                conn.execute("INSERT OR REPLACE INTO seams VALUES (?, ?)", (b, marshal.dumps(part)))

    # --- templates, related lists, words ------------------------------------------------

    def templates(self, ids: Sequence[int]) -> dict[int, tuple[dict[int, int], int]]:
        """The days (day: items) and undated items of those of the templates ``ids``
        the file has."""
        rows = self._among("SELECT * FROM templates WHERE template", [_signed(t) for t in ids])
        # (dict(): the days of a template were first kept as a list of pairs)
        return {_unsigned(t): (dict(marshal.loads(days)), undated) for t, days, undated in rows}

    def put_templates(self, rows: Iterable[tuple[int, dict[int, int], int]]) -> None:
        kept, dropped = [], []
        for t, days, undated in rows:
            if days or undated:
                kept.append((_signed(t), marshal.dumps(days), undated))
            else:
                dropped.append(_signed(t))
        self._replace("templates", "template", kept, dropped)

    def cited(self, keys: Sequence[str]) -> dict[str, str]:
        return dict(self._among("SELECT key, citing FROM cited WHERE key", keys))

    def put_cited(self, rows: Iterable[tuple[str, str]]) -> None:
        self._put("cited", "key", rows)

    def words(self, words: Sequence[str]) -> dict[str, int]:
        return dict(self._among("SELECT word, n FROM words WHERE word", words))

    def put_words(self, rows: Iterable[tuple[str, int]]) -> None:
        self._put("words", "word", rows)

    def _put(self, table: str, key: str, rows: Iterable[tuple[str, Any]]) -> None:
        """Write (key, value) rows to a table of two columns, whose key column is
        ``key``; a row of no value (0, "") is dropped."""
        kept, dropped = [], []
        for k, value in rows:
            if value:
                kept.append((k, value))
            else:
                dropped.append(k)
        self._replace(table, key, kept, dropped)

    # --- stories ------------------------------------------------------------------------

    def stories(self) -> Iterator[StoryRow]:
        for key, keys, rows, outlets, first in self.conn.execute(
            "SELECT * FROM stories ORDER BY key"
        ):
            yield key, keys.split(" "), marshal.loads(rows), outlets, first

    def put_stories(self, rows: Iterable[StoryRow], dropped: Iterable[str]) -> None:
        self._replace(
            "stories",
            "key",
            [
                (key, " ".join(keys), marshal.dumps(places), outlets, first)
                for key, keys, places, outlets, first in rows
            ],
            dropped,
        )


def _item_row(row: Any) -> ItemRow:
    key, b, t, norm, gist, links, tid, rid, place = row
    return (
        key,
        _unblock(b),
        t,
        norm,
        gist,
        links,
        None if tid is None else _unsigned(tid),
        rid,
        place,
    )
