"""The engine seam: an :class:`Index` over one index folder.

Everything the commands read goes through its snapshot (:class:`searchidx.backend.Snapshot`):
one committed state of the index, which the Index keeps open, with what it caches,
until a writer commits, and closes on :meth:`Index.close` or at the end of a ``with``
block. The core's functions take an Index or a folder path (:func:`index_at`).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from searchidx.backend import Snapshot
from searchidx.errors import IndexDamaged
from searchidx.store import IndexDir, Manifest

_P = ParamSpec("_P")
_R = TypeVar("_R")


#: How many times a read is made when a writer commits under it.
READ_ATTEMPTS = 3


def reads_index(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Report a failure to read the index (the first argument, an Index or a folder) as
    IndexDamaged, never as a traceback or as nothing found. A read that fails after a
    writer has committed (deleting files of the state it was reading) is made again
    on the new state."""

    @functools.wraps(fn)
    def reading(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        from searchidx.whooshdb.storage import drop_quietly, read_failure

        first = kwargs.get("index", kwargs.get("index_path", args[0] if args else ""))
        path = str(getattr(first, "path", first))  # an Index, or a folder
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                # Whatever failed may have been reading files the writer deleted.
                if attempt < READ_ATTEMPTS and _replaced(first):
                    drop_quietly(exc)
                    continue
                failure = read_failure(path, exc)
                if failure is None:
                    raise
                raise failure from None
        raise AssertionError("unreachable")

    return reading


def _replaced(index: object) -> bool:
    """Whether the state that ``index`` (an Index or a folder) has open is no longer the
    last committed one."""
    found = index if isinstance(index, Index) else _OPEN.get(os.path.realpath(str(index)))
    snap = found._snapshot if found is not None else None
    return snap is not None and not snap.current()


def _open_snapshot(ixdir: IndexDir) -> Snapshot:
    from searchidx.whooshdb.snapshot import WhooshSnapshot

    return WhooshSnapshot.open(ixdir)


class Index:
    """An index folder, opened once: it keeps the snapshot of the last committed state
    (and what that snapshot caches) until a writer commits, and closes it on
    :meth:`close` or at the end of a ``with`` block."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.dir = IndexDir(path)
        self._snapshot: Snapshot | None = None

    @reads_index
    def snapshot(self) -> Snapshot:
        """The last committed state (the same object until a writer has committed)."""
        self.dir.require()
        snap = self._snapshot
        if snap is not None:
            if snap.current():
                return snap
            self._snapshot = None
            with contextlib.suppress(Exception):
                snap.close()
        self._snapshot = _open_snapshot(self.dir)
        return self._snapshot

    @reads_index
    def manifest(self, snap: Snapshot) -> tuple[Snapshot, Manifest]:
        """The snapshot's manifest, with the snapshot. A writer that commits removes
        the manifests the new state is not read from: when that happened since
        ``snap`` was taken, the newer state and its manifest are read instead."""
        try:
            return snap, self.dir.read_manifest(snap.folder, snap.generation)
        except IndexDamaged:
            if snap.current():
                raise
        snap = self.snapshot()
        return snap, self.dir.read_manifest(snap.folder, snap.generation)

    def close(self) -> None:
        if self._snapshot is not None:
            snap, self._snapshot = self._snapshot, None
            with contextlib.suppress(Exception):
                snap.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_OPEN: dict[str, Index] = {}


def index_at(index: Index | str) -> Index:
    """``index`` itself, or the Index of a folder, opened once per process: the core's
    functions take either, and a process that asks again reuses what was read."""
    if isinstance(index, Index):
        return index
    key = os.path.realpath(index)
    found = _OPEN.get(key)
    if found is None:
        found = _OPEN[key] = Index(index)
    return found


@atexit.register
def close_all() -> None:
    """Close the indexes opened by :func:`index_at` (a segment left open to the end of
    the process would be reported as a file never closed)."""
    while _OPEN:
        _OPEN.popitem()[1].close()
