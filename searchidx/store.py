"""The index folder on disk, and how it changes atomically.

Layout of an index folder::

    CURRENT              names the live data folder, e.g. "data-2"
    write.lock           held (flock) by the one process writing
    data-2/              the backend's files (Whoosh's: searchidx.whooshdb), plus
        meta.json        schema version and build settings
        manifest-7.json  the files indexed as of generation 7: all of them, or only
                         those changed since a full manifest (manifest-5.json)

Incremental updates commit inside the live data folder: the manifest for the next
generation is written first, then Whoosh commits by renaming its table of contents.
A crash before that rename leaves the previous generation, and its manifest, in force.
An update's manifest lists only the files changed since the last full manifest (which
stays, unchanged, beside it) until they are many: a 100k-file manifest is 24 MB, whose
rewriting cost more than the rest of a one-file update.
A rebuild writes a new data folder and switches ``CURRENT`` with an atomic rename.
Nothing is written outside the index folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import os
import shlex
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from searchidx.errors import (
    IndexDamaged,
    IndexLocked,
    IndexNotFound,
    IndexWriteError,
    NotAnIndex,
    SchemaMismatch,
)

CURRENT = "CURRENT"
LOCK = "write.lock"
META = "meta.json"
ENV_VAR = "SEARCHIDX_INDEX"
DEFAULT_INDEX = os.path.join("indexes", "default")


@dataclass(slots=True)
class FileEntry:
    """What the index knows about one source file."""

    size: int
    mtime_ns: int
    digest: str
    ids: list[str] = field(default_factory=list)
    cites: list[str] = field(default_factory=list)
    #: What could not be used of it, each error as ``[line, reason]`` (line None: the
    #: whole file), reported again while the file is unchanged; 0 for none (as in a
    #: manifest written before errors were kept, which has only their number).
    errors: list[list[Any]] | int = 0

    def to_json(self) -> list[Any]:
        """The entry as a manifest row, which ``FileEntry(*row)`` reads back."""
        return [self.size, self.mtime_ns, self.digest, self.ids, self.cites, self.errors]


#: A manifest is written in full once it would list more changed files than this
#: share of all files (or than :data:`DELTA_MIN`, whichever is more).
DELTA_SHARE = 1 / 16
DELTA_MIN = 256


@dataclass(slots=True)
class Manifest:
    """The indexed files as of one Whoosh generation.

    ``base`` is the generation of the full manifest that this one is written against,
    and ``changes`` the files changed since then (None: removed); a manifest written
    in full has no base. Change ``files`` through :meth:`put` and :meth:`drop`, which
    keep ``changes`` in step."""

    generation: int
    updated: str = ""
    files: dict[str, FileEntry] = field(default_factory=dict)
    base: int | None = None
    changes: dict[str, FileEntry | None] = field(default_factory=dict)

    def successor(self) -> Manifest:
        """The manifest of the next generation, holding the same files for now."""
        base = self.base if self.base is not None else (self.generation or None)
        return Manifest(
            generation=self.generation + 1,
            files=dict(self.files),
            base=base,
            changes=dict(self.changes) if base is not None else {},
        )

    def put(self, path: str, entry: FileEntry) -> None:
        self.files[path] = entry
        if self.base is not None:
            self.changes[path] = entry

    def drop(self, path: str) -> None:
        del self.files[path]
        if self.base is not None:
            self.changes[path] = None

    def written_in_full(self) -> bool:
        """Whether :meth:`IndexDir.write_manifest` writes every file (else the changes)."""
        limit = max(DELTA_MIN, int(len(self.files) * DELTA_SHARE))
        return self.base is None or len(self.changes) > limit

    def file_names(self) -> list[str]:
        """The files of the data folder this manifest is read from."""
        names = [manifest_name(self.generation)]
        if self.base is not None:
            names.append(manifest_name(self.base))
        return names


def manifest_name(generation: int) -> str:
    """The file name of a generation's manifest in its data folder."""
    return f"manifest-{generation}.json"


def resolve_index_path(option: str | None) -> str:
    """The index folder: the option, else the environment variable, else the default
    index found upward from the current folder (:func:`find_default_index`)."""
    return option or os.environ.get(ENV_VAR) or find_default_index()


def find_default_index(start: str | None = None) -> str:
    """``indexes/default`` in the nearest folder, from ``start`` (the current folder) up,
    that holds one, as git finds ``.git``; else ``indexes/default`` here (to be created).
    One found here is named relatively, one found above by its absolute path."""
    try:
        here = os.path.abspath(start or os.getcwd())
    except OSError:  # the current folder was deleted
        return DEFAULT_INDEX
    folder = here
    while True:
        candidate = os.path.join(folder, DEFAULT_INDEX)
        if os.path.isfile(os.path.join(candidate, CURRENT)):
            return DEFAULT_INDEX if folder == here else candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return DEFAULT_INDEX
        folder = parent


def shown_path(index_path: str, name: str) -> str:
    """A file's path relative to the index folder when it is inside it, else as given."""
    base = os.path.abspath(index_path)
    full = os.path.abspath(name)
    return os.path.relpath(full, base) if full.startswith(base + os.sep) else name


def file_damage(index_path: str, exc: OSError) -> IndexDamaged:
    """What a system error reading one file of the index means, as IndexDamaged, the
    file named relative to the index folder."""
    reason = (exc.strerror or str(exc)).lower()
    name = exc.filename
    if not isinstance(name, str):
        return IndexDamaged(f"read error: {reason}")
    shown = shown_path(index_path, name)
    if isinstance(exc, FileNotFoundError):
        return IndexDamaged(f"{shown} is missing")
    return IndexDamaged(f"cannot read {shown}: {reason}")


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while many small objects that hold no cycles are
    made (a manifest of 100k files is half a million): it would scan them again and
    again, doubling the time taken to read or write the manifest."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _write_atomic(path: str, text: str) -> None:
    """Write a small file so that readers see the old or the new content, never a mix."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_json_atomic(path: str, payload: Any) -> None:
    _write_atomic(path, json.dumps(payload, separators=(",", ":")))


def _read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


class IndexDir:
    """One index folder. Creating the object touches nothing on disk."""

    def __init__(self, path: str) -> None:
        self.path = path

    # --- state ---------------------------------------------------------------------------

    def exists(self) -> bool:
        return os.path.isfile(os.path.join(self.path, CURRENT))

    def check_usable(self) -> None:
        """Raise unless the folder is an index, or absent, or empty (room for one)."""
        if self.exists():
            return
        if os.path.exists(self.path):
            if not os.path.isdir(self.path):
                raise NotAnIndex(f"{self.path} is a file, not an index folder")
            # A first build that was interrupted leaves only our own files behind.
            leftovers = [
                n
                for n in os.listdir(self.path)
                if n != LOCK and not n.startswith("data-") and ".tmp-" not in n
            ]
            if leftovers:
                raise NotAnIndex(
                    f"{self.path} is not a searchidx index (it holds other files); "
                    "choose an empty or new folder with --index"
                )

    def require(self) -> None:
        """Raise IndexNotFound, NotAnIndex or SchemaMismatch unless the index is usable."""
        self.check_usable()
        if not self.exists():
            raise IndexNotFound(
                f"no index at {self.path}; create one with: "
                f"searchidx --index {shlex.quote(str(self.path))} index PATH..."
            )
        self.check_schema()

    def data_dir(self) -> str:
        with open(os.path.join(self.path, CURRENT), encoding="utf-8") as fh:
            name = fh.read().strip()
        if not name.startswith("data-") or os.sep in name:
            raise IndexDamaged(f"{CURRENT} names {name!r}, not a data folder")
        return os.path.join(self.path, name)

    def is_live(self, data_dir: str) -> bool:
        """Whether ``CURRENT`` names ``data_dir``."""
        try:
            return self.data_dir() == data_dir
        except (OSError, IndexDamaged):
            return False

    def meta(self) -> dict[str, Any]:
        path = os.path.join(self.data_dir(), META)
        try:
            meta: dict[str, Any] = _read_json(path)
        except OSError as exc:
            raise file_damage(self.path, exc) from None
        except ValueError as exc:
            shown = os.path.relpath(path, self.path)
            raise IndexDamaged(f"{shown} is not valid JSON ({exc})") from None
        return meta

    def check_schema(self) -> None:
        from searchidx.fields import SCHEMA_VERSION

        version = self.meta().get("schema_version")
        if version != SCHEMA_VERSION:
            raise SchemaMismatch(
                f"the index at {self.path} has schema version {version}, but this searchidx "
                f"uses version {SCHEMA_VERSION}; rebuild it with: "
                "searchidx index --rebuild PATH..."
            )

    # --- manifests -----------------------------------------------------------------------

    def read_manifest(self, data_dir: str, generation: int) -> Manifest:
        if generation == 0 and not os.path.exists(os.path.join(data_dir, manifest_name(0))):
            return Manifest(generation=0)
        with gc_paused():
            raw = self._read_manifest_file(data_dir, generation)
            try:
                if "base" not in raw:
                    files = {p: FileEntry(*row) for p, row in raw["files"].items()}
                    return Manifest(generation, str(raw.get("updated", "")), files)
                base = raw["base"]
                if not isinstance(base, int) or not 0 < base < generation:
                    raise TypeError(f"base {base!r}")
                full = self._read_manifest_file(data_dir, base)
                if "files" not in full:
                    shown = self._shown(data_dir, base)
                    raise IndexDamaged(
                        f"{shown} is not the full manifest that generation {generation} extends"
                    )
                changes: dict[str, FileEntry | None] = {
                    p: FileEntry(*row) for p, row in raw["changed"].items()
                }
                changes.update(dict.fromkeys(raw["removed"]))
                files = {p: FileEntry(*row) for p, row in full["files"].items() if p not in changes}
                files.update((p, e) for p, e in changes.items() if e is not None)
            except (KeyError, TypeError, AttributeError, ValueError) as exc:
                shown = self._shown(data_dir, generation)
                reason = f"no {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
                raise IndexDamaged(f"{shown} is not a valid manifest ({reason})") from None
        return Manifest(generation, str(raw.get("updated", "")), files, base, changes)

    def _shown(self, data_dir: str, generation: int) -> str:
        """A generation's manifest as messages name it: relative to the index folder."""
        return os.path.relpath(os.path.join(data_dir, manifest_name(generation)), self.path)

    def _read_manifest_file(self, data_dir: str, generation: int) -> dict[str, Any]:
        path = os.path.join(data_dir, manifest_name(generation))
        shown = self._shown(data_dir, generation)
        try:
            raw = _read_json(path)
        except FileNotFoundError:
            raise IndexDamaged(f"{shown} is missing") from None
        except OSError as exc:
            raise file_damage(self.path, exc) from None
        except ValueError as exc:
            raise IndexDamaged(f"{shown} is not valid JSON ({exc})") from None
        if not isinstance(raw, dict) or not ("files" in raw or "base" in raw):
            raise IndexDamaged(f"{shown} is not a manifest")
        return raw

    def write_manifest(self, data_dir: str, manifest: Manifest) -> None:
        """Write the manifest of ``manifest.generation``: only its changes while they are
        few (see :meth:`Manifest.written_in_full`), else every file."""
        manifest.updated = _now()
        path = os.path.join(data_dir, manifest_name(manifest.generation))
        with gc_paused():
            if manifest.written_in_full():
                manifest.base, manifest.changes = None, {}
                payload = {
                    "generation": manifest.generation,
                    "updated": manifest.updated,
                    "files": {p: e.to_json() for p, e in sorted(manifest.files.items())},
                }
            else:
                changes = sorted(manifest.changes.items())
                payload = {
                    "generation": manifest.generation,
                    "updated": manifest.updated,
                    "base": manifest.base,
                    "changed": {p: e.to_json() for p, e in changes if e is not None},
                    "removed": [p for p, e in changes if e is None],
                }
            _write_json_atomic(path, payload)

    def remove_leftovers(self, data_dir: str) -> None:
        """Remove the temporary files of a run that was killed (call under the lock)."""
        for folder in (self.path, data_dir):
            for name in os.listdir(folder):
                if ".tmp-" in name:
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(folder, name))

    def prune_manifests(self, data_dir: str, keep: Manifest) -> None:
        """Remove the manifests that ``keep``, the live one, is not read from."""
        used = keep.file_names()
        for name in os.listdir(data_dir):
            if name.startswith("manifest-") and name not in used:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(data_dir, name))

    # --- creating and switching ----------------------------------------------------------

    def new_data_dir(self, settings: dict[str, Any], create: Callable[[str], None]) -> str:
        """Create an empty index in a fresh data folder (not yet live): ``create`` makes
        the backend's files in it."""
        from searchidx.fields import SCHEMA_VERSION

        os.makedirs(self.path, exist_ok=True)
        n = 1
        for name in os.listdir(self.path):
            if name.startswith("data-") and name[5:].isdigit():
                n = max(n, int(name[5:]) + 1)
        data_dir = os.path.join(self.path, f"data-{n}")
        os.mkdir(data_dir)
        try:
            create(data_dir)
            meta = {"format": "searchidx", "schema_version": SCHEMA_VERSION, "created": _now()}
            _write_json_atomic(os.path.join(data_dir, META), {**meta, **settings})
        except BaseException:
            shutil.rmtree(data_dir, ignore_errors=True)
            raise
        return data_dir

    def switch_to(self, data_dir: str) -> None:
        """Make ``data_dir`` the live data folder and delete the others."""
        _write_atomic(os.path.join(self.path, CURRENT), os.path.basename(data_dir) + "\n")
        self.remove_stale_data_dirs(keep=os.path.basename(data_dir))

    def remove_stale_data_dirs(self, keep: str) -> list[str]:
        removed = []
        for name in os.listdir(self.path):
            if name.startswith("data-") and name != keep:
                shutil.rmtree(os.path.join(self.path, name), ignore_errors=True)
                removed.append(name)
        return removed

    # --- locking ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def write_lock(
        self, timeout: float, on_wait: Callable[[str], None] | None = None
    ) -> Iterator[str | None]:
        """Hold the index's write lock. Yields a note when a dead writer left its lock file.

        The lock is an ``flock``, which the kernel releases when its holder dies, so a
        killed writer can never block the next run; its pid, left in the file, is only
        used to say what happened.
        """
        try:
            os.makedirs(self.path, exist_ok=True)
            fd = os.open(os.path.join(self.path, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise IndexWriteError(f"cannot write to {self.path}: {exc.strerror}") from None
        try:
            deadline = time.monotonic() + timeout
            waited = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not waited and on_wait is not None:
                        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                        on_wait(
                            f"waiting for another searchidx (pid {holder or '?'}) "
                            f"to finish writing {self.path} (up to {timeout:g}s)"
                        )
                    waited = True
                    if time.monotonic() >= deadline:
                        raise IndexLocked(
                            f"{self.path} is being written by another searchidx process "
                            f"(pid {holder or '?'}); gave up after {timeout:g}s"
                        ) from None
                    time.sleep(0.1)
            previous = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            note = None
            if previous and previous != str(os.getpid()):
                note = (
                    f"a previous run (pid {previous}) stopped without finishing; "
                    "its lock was released and its uncommitted changes discarded"
                )
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
            try:
                yield note
            finally:
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)


def disk_usage(path: str) -> int:
    """Bytes used by the files under ``path``."""
    total = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total
