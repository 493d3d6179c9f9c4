"""Whoosh's files in a data folder: creating and opening an index, how reading one
fails and which file is to blame, files no longer in use, and a light reader for shell
completion."""

from __future__ import annotations

import gc
import os
import pickle
import struct
import time
import warnings
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

from searchidx.errors import IndexDamaged
from searchidx.store import IndexDir, file_damage, shown_path
from searchidx.whooshdb import schema as _schema  # noqa: F401 - opens older indexes

#: Whoosh's default index name, which its file names start with.
INDEX_NAME = "MAIN"


#: What reading a missing, cut short or unreadable index file raises (from the system,
#: or from Whoosh's own file formats: pickles, packed numbers, compressed blocks).
READ_FAILURES = (OSError, EOFError, pickle.UnpicklingError, struct.error, zlib.error)

_R = TypeVar("_R")


def damage(index_path: str, exc: BaseException) -> IndexDamaged:
    """What a failure to read the index at ``index_path`` means, as IndexDamaged. The
    files Whoosh had opened when it failed are dropped with the failure, quietly."""
    drop_quietly(exc)
    with warnings.catch_warnings():  # the diagnosis meets the same files
        warnings.simplefilter("ignore", ResourceWarning)
        found = _damage(index_path, exc)
        gc.collect()
    return found


def drop_quietly(exc: BaseException) -> None:
    """Free the frames of a failure and the files they hold open, without warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        exc.__traceback__ = None
        exc.__context__ = None
        gc.collect()


def _damage(index_path: str, exc: BaseException) -> IndexDamaged:
    if isinstance(exc, OSError):
        if isinstance(exc.filename, str):
            return file_damage(index_path, exc)
        reason = (exc.strerror or str(exc)).lower()
        bad = damaged_file(IndexDir(index_path))  # a seek before the start of a cut file
        if bad is not None:
            return IndexDamaged(f"{bad} is cut short or corrupt ({reason})")
        return IndexDamaged(f"read error: {reason}")
    detail = str(exc) or type(exc).__name__
    named = getattr(exc, "damaged_file", None)  # the file a reader knew it was reading
    bad = shown_path(index_path, named) if isinstance(named, str) else None
    if bad is None:
        bad = damaged_file(IndexDir(index_path))
    if bad is not None:
        return IndexDamaged(f"{bad} is cut short or corrupt ({detail})")
    return IndexDamaged(f"a file of the index is cut short or corrupt ({detail})")


def raised_by_whoosh(exc: BaseException) -> bool:
    """Whether Whoosh's own code raised ``exc``: reading a segment whose bytes are
    wrong, it fails with bare exceptions ("Block tag error") rather than I/O errors."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and f"{os.sep}whoosh{os.sep}" in tb.tb_frame.f_code.co_filename


def opened(open_: Callable[[], _R]) -> _R:
    """``open_()``, a Whoosh reader or searcher of every segment. Whoosh opens the
    segments one by one; when one fails, it drops the files of those it had opened
    without closing them, which are let go here quietly with the failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            return open_()
        except BaseException:
            gc.collect()
            raise


def read_failure(index_path: str, exc: Exception) -> IndexDamaged | None:
    """What ``exc``, raised while reading the index at ``index_path``, says of the index:
    IndexDamaged when a file is missing, cut short or unreadable; None for any other
    failure, which is not the index's."""
    if not is_read_failure(exc):
        return None
    return damage(index_path, exc)


def is_read_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure to read the index's files."""
    return isinstance(exc, READ_FAILURES) or raised_by_whoosh(exc)


def create(data_dir: str) -> None:
    """An empty index of the current schema in ``data_dir``."""
    from whoosh import index as windex

    from searchidx.whooshdb.schema import build_schema

    windex.create_in(data_dir, build_schema())


def open_dir(data_dir: str) -> Any:
    """The Whoosh index in ``data_dir`` (for writing it)."""
    from whoosh import index as windex

    return windex.open_dir(data_dir)


def open_live(ixdir: IndexDir) -> Any:
    """Open the live Whoosh index, retrying if a writer switches it meanwhile; raise
    IndexDamaged if it cannot be read."""
    from whoosh import index as windex

    for attempt in range(5):
        data_dir = ixdir.data_dir()
        try:
            return windex.open_dir(data_dir)
        except (windex.EmptyIndexError, *READ_FAILURES) as exc:
            if attempt == 4:
                if isinstance(exc, windex.EmptyIndexError):
                    shown = os.path.relpath(data_dir, ixdir.path)
                    raise IndexDamaged(f"{shown} has no table of contents") from None
                raise damage(ixdir.path, exc) from None
            drop_quietly(exc)
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


#: How many times a reader is opened again when a writer commits while it opens.
OPEN_ATTEMPTS = 5


def open_searcher(ixdir: IndexDir) -> Any:
    """A Whoosh searcher of the live index whose segments were told, by one listing of
    the data folder, which column files they have.

    Whoosh opens a column's file when the column is first read and, finding none, reads
    every value as the column's default. A writer that commits in between deletes files
    of the state being read (a merge, the old segments'; a rebuild, the whole folder),
    so a reader found no titles, or lengths of zero, and said nothing. The listing is
    taken while nothing of the state it lists can have been deleted (it shows no later
    table of contents, and ``CURRENT`` still names the folder afterwards); a column file
    deleted after it fails to open, as a missing file, and
    :func:`searchidx.engine.reads_index` reads the new state instead."""
    from whoosh.index import EmptyIndexError

    for attempt in range(OPEN_ATTEMPTS):
        ix = open_live(ixdir)
        try:
            searcher = opened(ix.searcher)
        except (EmptyIndexError, *READ_FAILURES) as exc:
            # A rebuild deleted the folder between its opening and its reading.
            if attempt == OPEN_ATTEMPTS - 1 or ixdir.is_live(ix.storage.folder):
                raise
            drop_quietly(exc)
            continue
        try:
            listed = _listed_while_live(ixdir, searcher)
        except BaseException:
            searcher.close()
            raise
        if listed is not None:
            for leaf, _ in searcher.reader().leaf_readers():
                _columns_from(leaf, listed)
            return searcher
        if attempt == OPEN_ATTEMPTS - 1:  # a writer keeps committing: Whoosh's own way
            return searcher
        searcher.close()
    raise AssertionError("unreachable")


def _listed_while_live(ixdir: IndexDir, searcher: Any) -> set[str] | None:
    """The names in the searcher's data folder, or None when a writer has committed a
    later state since the searcher was opened (and may have deleted its files)."""
    from whoosh.index import TOC

    folder = searcher._ix.storage.folder
    generation = searcher.reader().generation()
    if generation is None:  # no segments: no column files to know of
        return set()
    try:
        names = set(os.listdir(folder))
    except OSError:
        return None
    pattern = TOC._pattern(INDEX_NAME)
    tocs = [int(m.group(1)) for m in map(pattern.match, names) if m]
    if not tocs or max(tocs) != generation:
        return None
    return names if ixdir.is_live(folder) else None


def _columns_from(leaf: Any, names: set[str]) -> None:
    """Have one segment's reader answer whether it has a column from ``names`` (a
    compound segment's columns are inside its one file, opened with the segment)."""
    from whoosh.codec.whoosh3 import W3Codec, W3PerDocReader

    perdoc: Any = getattr(leaf, "_perdoc", None)
    segment: Any = getattr(leaf, "_segment", None)
    if type(perdoc) is not W3PerDocReader or segment is None or segment.is_compound():
        return
    prefix, ext = segment.make_filename("."), W3Codec.COLUMN_EXT
    present = {
        name[len(prefix) : -len(ext)]
        for name in names
        if name.startswith(prefix) and name.endswith(ext)
    }
    perdoc.has_column = present.__contains__


def damaged_file(ixdir: IndexDir) -> str | None:
    """The first file of the live index that cannot be read (its table of contents,
    then each segment's file), relative to the index folder, if any."""
    try:
        data_dir = ixdir.data_dir()
    except Exception:
        return None
    with warnings.catch_warnings():  # the files Whoosh opened on a damaged one go quietly
        warnings.simplefilter("ignore", ResourceWarning)
        bad = _damaged_file(data_dir)
        gc.collect()
    return None if bad is None else os.path.join(os.path.relpath(data_dir, ixdir.path), bad)


def _damaged_file(data_dir: str) -> str | None:
    from whoosh.filedb.filestore import FileStorage
    from whoosh.index import TOC

    try:
        storage = FileStorage(data_dir)
        generation = TOC._latest_generation(storage, INDEX_NAME)
        toc = TOC._filename(INDEX_NAME, generation)
    except Exception:
        return None
    try:
        segments = TOC.read(storage, INDEX_NAME, generation).segments
    except Exception:
        return str(toc)
    for segment in segments:
        if segment.is_compound():
            try:
                segment.open_compound_file(storage).close()
            except Exception:
                return str(segment.make_filename(segment.COMPOUND_EXT))
            continue
        # Separate files: the terms, which every reader opens, then the columns.
        codec = segment.codec()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                codec.terms_reader(storage, segment).close()
        except Exception:
            return str(segment.make_filename(codec.TERMS_EXT))
        # The stored items, which every hit reads: their column opens (its offsets).
        from whoosh.codec.whoosh3 import STORED_COLUMN, W3Codec

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                perdoc = codec.per_document_reader(storage, segment)
                try:
                    perdoc._cached_reader("_stored", STORED_COLUMN)
                finally:
                    perdoc.close()
        except Exception:
            return str(W3Codec.column_filename(segment, "_stored"))
    return None


def orphan_files(data_dir: str, generation: int) -> list[str]:
    """Files of Whoosh's naming in the data folder that the table of contents of
    ``generation`` does not refer to (as Whoosh tells them when it cleans up after a
    commit)."""
    from whoosh.filedb.filestore import FileStorage
    from whoosh.index import TOC

    ix = FileStorage(data_dir).open_index(INDEX_NAME)
    live = {
        segment.segment_id() for segment in TOC.read(ix.storage, INDEX_NAME, generation).segments
    }
    toc_name, segment_name = TOC._pattern(ix.indexname), TOC._segment_pattern(ix.indexname)
    orphans = []
    for name in sorted(os.listdir(data_dir)):
        toc, segment = toc_name.match(name), segment_name.match(name)
        if (toc and int(toc.group(1)) != generation) or (segment and segment.group(1) not in live):
            orphans.append(name)
    return orphans


def light_reader(data_dir: str) -> Any:
    """A reader of the last committed state that reads files as needed: with memory
    maps, Whoosh copies each segment's whole term file into memory on opening (about
    0.1 s and 150 MB on a 100k-item index), too slow for completing a word."""
    from whoosh.filedb.filestore import FileStorage

    storage = FileStorage(data_dir, supports_mmap=False, readonly=True)
    return opened(storage.open_index().reader)
