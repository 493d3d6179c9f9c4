"""Whoosh's files in a data folder: creating and opening an index, finding a file that
cannot be read, files no longer in use, and a light reader for shell completion."""

from __future__ import annotations

import os
import time
import warnings
from typing import TYPE_CHECKING, Any

from searchidx.errors import IndexDamaged
from searchidx.store import READ_FAILURES, _drop_quietly, damage, opened

if TYPE_CHECKING:
    from searchidx.store import IndexDir

#: Whoosh's default index name, which its file names start with.
INDEX_NAME = "MAIN"


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
            _drop_quietly(exc)
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def damaged_file(data_dir: str) -> str | None:
    """The name of the first file in ``data_dir`` that cannot be read: the table of
    contents, then each segment's file."""
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
