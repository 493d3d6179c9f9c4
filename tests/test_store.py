"""The index folder on disk: CURRENT and data folders, manifests, the write lock, and
finding the default index."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from searchidx.errors import IndexDamaged, IndexLocked, IndexNotFound, NotAnIndex
from searchidx.indexing import update_index
from searchidx.store import (
    DEFAULT_INDEX,
    ENV_VAR,
    FileEntry,
    IndexDir,
    Manifest,
    find_default_index,
    resolve_index_path,
)
from searchidx.whooshdb.storage import create, open_live
from tests.conftest import SAMPLES


def fresh(path: Path) -> tuple[IndexDir, str]:
    """An index folder with one empty, live data folder."""
    ixdir = IndexDir(str(path))
    data_dir = ixdir.new_data_dir({}, create)
    ixdir.switch_to(data_dir)
    return ixdir, data_dir


# --- CURRENT and data folders -----------------------------------------------------------


def test_creating_the_object_touches_nothing(tmp_path: Path) -> None:
    ixdir = IndexDir(str(tmp_path / "index"))
    assert not ixdir.exists()
    ixdir.check_usable()
    assert not (tmp_path / "index").exists()
    with pytest.raises(IndexNotFound) as info:
        ixdir.require()
    assert str(info.value) == (
        f"no index at {tmp_path / 'index'}; create one with: "
        f"searchidx --index {tmp_path / 'index'} index PATH..."
    )


def test_current_names_the_live_data_folder(tmp_path: Path) -> None:
    ixdir, first = fresh(tmp_path / "index")
    assert (Path(first).name, ixdir.data_dir()) == ("data-1", first)
    assert (tmp_path / "index" / "CURRENT").read_text() == "data-1\n"
    second = ixdir.new_data_dir({"jobs": 2}, create)
    assert Path(second).name == "data-2"
    assert ixdir.data_dir() == first  # not live until switched to
    ixdir.switch_to(second)
    assert ixdir.data_dir() == second
    assert sorted(os.listdir(tmp_path / "index")) == ["CURRENT", "data-2"]
    meta = json.loads(Path(second, "meta.json").read_text())
    assert (meta["format"], meta["jobs"]) == ("searchidx", 2)
    ixdir.require()


@pytest.mark.parametrize("name", ["elsewhere", "data-1/../../etc", "../data-1", ""])
def test_current_naming_no_data_folder_is_damage(tmp_path: Path, name: str) -> None:
    ixdir, _ = fresh(tmp_path / "index")
    (tmp_path / "index" / "CURRENT").write_text(name + "\n")
    with pytest.raises(IndexDamaged) as info:
        ixdir.data_dir()
    assert str(info.value) == (
        f"index damaged: CURRENT names {name!r}, not a data folder; "
        "rebuild it with: searchidx index --rebuild PATH..."
    )


def test_a_failed_create_leaves_no_data_folder(tmp_path: Path) -> None:
    ixdir, _ = fresh(tmp_path / "index")

    def failing(data_dir: str) -> None:
        Path(data_dir, "half-written").write_text("x")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        ixdir.new_data_dir({}, failing)
    assert sorted(os.listdir(tmp_path / "index")) == ["CURRENT", "data-1"]


def test_a_file_or_a_foreign_folder_is_not_an_index(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotAnIndex) as info:
        IndexDir(str(tmp_path / "file")).check_usable()
    assert str(info.value) == f"{tmp_path / 'file'} is a file, not an index folder"
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x")
    with pytest.raises(NotAnIndex) as info:
        IndexDir(str(tmp_path / "notes")).check_usable()
    assert str(info.value) == (
        f"{tmp_path / 'notes'} is not a searchidx index (it holds other files); "
        "choose an empty or new folder with --index"
    )


def test_what_an_interrupted_first_build_leaves_is_room_for_an_index(tmp_path: Path) -> None:
    folder = tmp_path / "index"
    (folder / "data-1").mkdir(parents=True)
    (folder / "write.lock").write_text("")
    (folder / "CURRENT.tmp-123").write_text("data-1")
    IndexDir(str(folder)).check_usable()


def test_leftover_temporary_files_are_removed(tmp_path: Path) -> None:
    ixdir, data_dir = fresh(tmp_path / "index")
    Path(ixdir.path, "CURRENT.tmp-99").write_text("data-1")
    Path(data_dir, "manifest-3.json.tmp-99").write_text("{")
    ixdir.remove_leftovers(data_dir)
    assert not [p for p in (tmp_path / "index").rglob("*") if ".tmp-" in p.name]
    assert ixdir.data_dir() == data_dir


# --- manifests ----------------------------------------------------------------------------


def test_manifests_round_trip(tmp_path: Path) -> None:
    ixdir, data_dir = fresh(tmp_path / "index")
    files = {
        "/corpus/b.md": FileEntry(10, 1_700_000_000_000_000_000, "d1", ["0a"], ["0b", "0c"]),
        "/corpus/a.md": FileEntry(0, 1, "d2", [], [], errors=[[None, "empty file"]]),
        "/corpus/c.csv": FileEntry(0, 1, "d4", ["0e"], [], errors=[[3, "title is empty"]]),
        # As a manifest of an earlier release has a file's errors: their number only.
        "/corpus/d.csv": FileEntry(0, 1, "d5", ["0f"], [], errors=2),
        "/corpus/é ü.md": FileEntry(5, 2, "d3", ["0d"]),
    }
    ixdir.write_manifest(data_dir, Manifest(generation=4, files=dict(files)))
    back = ixdir.read_manifest(data_dir, 4)
    assert (back.generation, back.files) == (4, files)
    assert back.updated[:2] == "20" and back.updated.endswith("+00:00")
    ixdir.prune_manifests(data_dir, keep=Manifest(generation=5))
    assert not Path(data_dir, "manifest-4.json").exists()


def entry(n: int) -> FileEntry:
    return FileEntry(n, n * 10, f"d{n}", [f"{n:02x}"], [f"c{n}"])


def manifest_names(data_dir: str) -> list[str]:
    return sorted(n for n in os.listdir(data_dir) if n.startswith("manifest-"))


def first_manifest(tmp_path: Path, count: int) -> tuple[IndexDir, str, Manifest]:
    """A new index folder whose generation 1 lists ``count`` files, written in full."""
    ixdir, data_dir = fresh(tmp_path / "index")
    first = Manifest(generation=0).successor()
    for n in range(count):
        first.put(f"/corpus/{n:04}.md", entry(n))
    ixdir.write_manifest(data_dir, first)
    return ixdir, data_dir, first


def test_an_update_writes_only_its_changes_beside_the_full_manifest(tmp_path: Path) -> None:
    ixdir, data_dir, first = first_manifest(tmp_path, 1000)
    files = dict(first.files)
    current = ixdir.read_manifest(data_dir, 1)
    for generation in range(2, 6):  # each update changes, adds and removes a file
        nxt = current.successor()
        nxt.put(f"/corpus/{generation:04}.md", entry(5000 + generation))
        nxt.put(f"/corpus/new-{generation}.md", entry(6000 + generation))
        nxt.drop(f"/corpus/{100 + generation:04}.md")
        files[f"/corpus/{generation:04}.md"] = entry(5000 + generation)
        files[f"/corpus/new-{generation}.md"] = entry(6000 + generation)
        del files[f"/corpus/{100 + generation:04}.md"]
        ixdir.write_manifest(data_dir, nxt)
        ixdir.prune_manifests(data_dir, keep=nxt)
        current = ixdir.read_manifest(data_dir, generation)
        assert (current.generation, current.base, current.files) == (generation, 1, files)
        assert manifest_names(data_dir) == ["manifest-1.json", f"manifest-{generation}.json"]
    raw = json.loads(Path(data_dir, "manifest-5.json").read_text(encoding="utf-8"))
    assert (raw["base"], len(raw["changed"]), len(raw["removed"])) == (1, 8, 4)
    assert raw["removed"] == [f"/corpus/{100 + g:04}.md" for g in range(2, 6)]


def test_a_manifest_is_written_in_full_once_its_changes_are_many(tmp_path: Path) -> None:
    ixdir, data_dir, _ = first_manifest(tmp_path, 300)
    second = ixdir.read_manifest(data_dir, 1).successor()
    for n in range(256):  # as many changes as a manifest of 300 files lists at most
        second.put(f"/corpus/{n:04}.md", entry(n + 1000))
    ixdir.write_manifest(data_dir, second)
    assert second.base == 1
    third = ixdir.read_manifest(data_dir, 2).successor()
    third.drop("/corpus/0299.md")  # one more
    ixdir.write_manifest(data_dir, third)
    assert (third.base, third.changes) == (None, {})
    ixdir.prune_manifests(data_dir, keep=third)
    assert manifest_names(data_dir) == ["manifest-3.json"]
    back = ixdir.read_manifest(data_dir, 3)
    assert (back.base, back.files) == (None, third.files)
    assert len(back.files) == 299 and back.files["/corpus/0001.md"] == entry(1001)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ('{"generation": 2, "base": 1}', "no 'changed')"),
        ('{"generation": 2, "base": "1", "changed": {}, "removed": []}', "base '1')"),
        ('{"generation": 2, "base": 2, "changed": {}, "removed": []}', "base 2)"),
        (
            '{"generation": 2, "base": 1, "changed": [], "removed": []}',
            "'list' object has no attribute 'items')",
        ),
        ('{"generation": 2, "base": 1, "changed": {"b": [1]}, "removed": []}', "FileEntry"),
    ],
    ids=["no-changes", "base-not-a-number", "base-not-earlier", "changes-a-list", "short-row"],
)
def test_a_damaged_manifest_of_changes_is_named(tmp_path: Path, text: str, what: str) -> None:
    ixdir, data_dir, _ = first_manifest(tmp_path, 3)
    Path(data_dir, "manifest-2.json").write_text(text, encoding="utf-8")
    with pytest.raises(IndexDamaged) as info:
        ixdir.read_manifest(data_dir, 2)
    assert info.value.what.startswith(f"data-1/manifest-2.json is not a valid manifest ({what}")


@pytest.mark.parametrize(
    ("text", "what"),
    [
        (None, "data-1/manifest-1.json is missing"),
        (
            '{"generation": 1, "base": 2}',
            "data-1/manifest-1.json is not the full manifest that generation 2 extends",
        ),
        ("[1]", "data-1/manifest-1.json is not a manifest"),
        ("{", "data-1/manifest-1.json is not valid JSON (Expecting property name"),
    ],
    ids=["base-missing", "base-not-full", "base-not-a-manifest", "base-invalid"],
)
def test_a_manifest_whose_full_manifest_is_damaged_says_which(
    tmp_path: Path, text: str | None, what: str
) -> None:
    ixdir, data_dir = fresh(tmp_path / "index")
    first = Manifest(generation=0).successor()
    first.put("/corpus/a.md", entry(1))
    ixdir.write_manifest(data_dir, first)
    second = first.successor()
    second.put("/corpus/b.md", entry(2))
    ixdir.write_manifest(data_dir, second)
    assert second.base == 1
    base = Path(data_dir, "manifest-1.json")
    if text is None:
        base.unlink()
    else:
        base.write_text(text, encoding="utf-8")
    with pytest.raises(IndexDamaged) as info:
        ixdir.read_manifest(data_dir, 2)
    assert info.value.what.startswith(what)


def test_the_manifest_of_a_real_index_lists_its_files(tmp_path: Path) -> None:
    index = str(tmp_path / "index")
    update_index(index, [str(SAMPLES)], jobs=1)
    ixdir = IndexDir(index)
    manifest = ixdir.read_manifest(ixdir.data_dir(), open_live(ixdir).latest_generation())
    assert sorted(manifest.files) == sorted(str(p) for p in SAMPLES.iterdir())
    for path, entry in manifest.files.items():
        assert entry.size == os.path.getsize(path)
        assert entry.mtime_ns == os.stat(path).st_mtime_ns
    assert [n for n in os.listdir(ixdir.data_dir()) if n.startswith("manifest-")] == [
        f"manifest-{manifest.generation}.json"
    ]


def test_generation_0_has_an_empty_manifest_and_a_later_one_must_exist(tmp_path: Path) -> None:
    ixdir, data_dir = fresh(tmp_path / "index")
    assert ixdir.read_manifest(data_dir, 0) == Manifest(generation=0)
    with pytest.raises(IndexDamaged) as info:
        ixdir.read_manifest(data_dir, 3)
    assert info.value.what == "data-1/manifest-3.json is missing"
    Path(data_dir, "manifest-3.json").write_text('{"files": ')
    with pytest.raises(IndexDamaged) as info:
        ixdir.read_manifest(data_dir, 3)
    assert info.value.what == (
        "data-1/manifest-3.json is not valid JSON (Expecting value: line 1 column 11 (char 10))"
    )


# --- the write lock ------------------------------------------------------------------------


def test_the_lock_notes_a_writer_that_died_holding_it(tmp_path: Path) -> None:
    ixdir, _ = fresh(tmp_path / "index")
    lock = tmp_path / "index" / "write.lock"
    lock.write_text("999999")  # a killed writer's pid; the kernel released its flock
    with ixdir.write_lock(timeout=1) as note:
        assert note == (
            "a previous run (pid 999999) stopped without finishing; "
            "its lock was released and its uncommitted changes discarded"
        )
        assert lock.read_text() == str(os.getpid())
    assert lock.read_text() == ""  # a run that finishes leaves no pid behind
    with ixdir.write_lock(timeout=1) as note:
        assert note is None


def test_a_held_lock_is_waited_for_then_given_up(tmp_path: Path) -> None:
    ixdir, _ = fresh(tmp_path / "index")
    fd = os.open(tmp_path / "index" / "write.lock", os.O_RDWR | os.O_CREAT)
    waits: list[str] = []
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.pwrite(fd, b"4242", 0)
        with pytest.raises(IndexLocked) as info, ixdir.write_lock(0.05, waits.append):
            pass
    finally:
        os.close(fd)
    assert waits == [
        f"waiting for another searchidx (pid 4242) to finish writing {ixdir.path} (up to 0.05s)"
    ]
    assert str(info.value) == (
        f"{ixdir.path} is being written by another searchidx process (pid 4242); "
        "gave up after 0.05s"
    )
    # Released when its holder closed it: taken at once, with a note, since the holder
    # left its pid behind.
    with ixdir.write_lock(timeout=0) as note:
        assert note is not None and note.startswith("a previous run (pid 4242) stopped")


# --- which index -----------------------------------------------------------------------------


def make_default(folder: Path) -> Path:
    index = folder / DEFAULT_INDEX
    index.mkdir(parents=True)
    (index / "CURRENT").write_text("data-1\n")
    return index


def test_the_default_index_is_found_upward(tmp_path: Path) -> None:
    index = make_default(tmp_path / "project")
    deep = tmp_path / "project" / "notes" / "2024"
    deep.mkdir(parents=True)
    assert find_default_index(str(deep)) == str(index)
    assert find_default_index(str(tmp_path / "project")) == DEFAULT_INDEX  # here: relative
    # Nearest first.
    inner = make_default(tmp_path / "project" / "notes")
    assert find_default_index(str(deep)) == str(inner)
    # A folder named indexes/default without CURRENT is no index.
    (tmp_path / "elsewhere" / DEFAULT_INDEX).mkdir(parents=True)
    assert find_default_index(str(tmp_path / "elsewhere")) == DEFAULT_INDEX


def test_resolve_index_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = make_default(tmp_path / "project")
    (tmp_path / "project" / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "project" / "sub")
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_index_path(None) == str(index)
    monkeypatch.setenv(ENV_VAR, "/from/env")
    assert resolve_index_path(None) == "/from/env"
    assert resolve_index_path("given") == "given"
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.chdir(tmp_path)
    assert resolve_index_path(None) == DEFAULT_INDEX
