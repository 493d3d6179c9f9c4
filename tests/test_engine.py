"""The engine seam: an Index keeps one snapshot of the last committed state until a
writer commits; index_at opens each folder once; reads_index reports the index's read
failures as IndexDamaged naming the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from searchidx.backend import Snapshot
from searchidx.engine import Index, index_at, reads_index
from searchidx.errors import IndexDamaged, IndexNotFound
from searchidx.indexing import update_index
from searchidx.stats import stats
from searchidx.store import IndexDir
from searchidx.whooshdb.snapshot import WhooshSnapshot
from tests.conftest import article, front_matter


def add_article(corpus: Path, n: int) -> None:
    fields = article(f"Harbor story {n}", f"https://harborwire.com/{n}")
    (corpus / f"{n}.md").write_text(front_matter(fields), encoding="utf-8")


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, str]:
    corpus, index = tmp_path / "corpus", str(tmp_path / "index")
    corpus.mkdir()
    for n in range(3):
        add_article(corpus, n)
    assert update_index(index, [str(corpus)], jobs=1).failed == 0
    return corpus, index


def closed(snap: Snapshot) -> bool:
    assert isinstance(snap, WhooshSnapshot)
    return bool(snap.searcher.is_closed)


def test_the_same_snapshot_until_a_writer_commits(built: tuple[Path, str]) -> None:
    corpus, index = built
    with Index(index) as ix:
        first = ix.snapshot()
        assert ix.snapshot() is first
        assert first.count() == 3
        add_article(corpus, 3)
        assert update_index(index, [str(corpus)], jobs=1).added == 1
        second = ix.snapshot()
        assert second is not first
        assert closed(first)
        assert (second.count(), second.generation) == (4, first.generation + 1)
        assert ix.snapshot() is second
        # A run that changes nothing commits nothing.
        assert update_index(index, [str(corpus)], jobs=1).unchanged == 4
        assert ix.snapshot() is second


def test_a_rebuild_gives_a_new_snapshot_of_the_new_data_folder(built: tuple[Path, str]) -> None:
    corpus, index = built
    with Index(index) as ix:
        first = ix.snapshot()
        update_index(index, [str(corpus)], jobs=1, rebuild=True)
        second = ix.snapshot()
        assert second is not first
        assert closed(first)
        assert isinstance(second, WhooshSnapshot) and isinstance(first, WhooshSnapshot)
        assert (Path(first.folder).name, Path(second.folder).name) == ("data-1", "data-2")
        assert second.count() == 3


def test_close_releases_the_snapshot(built: tuple[Path, str]) -> None:
    _, index = built
    ix = Index(index)
    first = ix.snapshot()
    ix.close()
    assert closed(first)
    second = ix.snapshot()
    assert second is not first and not closed(second)
    with ix:
        pass
    assert closed(second)
    ix.close()  # twice is harmless


def test_index_at_opens_each_folder_once(built: tuple[Path, str], tmp_path: Path) -> None:
    _, index = built
    ix = index_at(index)
    assert index_at(index) is ix
    assert index_at(index + os.sep) is ix
    assert index_at(str(tmp_path / "corpus" / ".." / "index")) is ix
    (tmp_path / "link").symlink_to(tmp_path / "index")
    assert index_at(str(tmp_path / "link")) is ix
    other = index_at(str(tmp_path / "other"))
    assert other is not ix and other.path == str(tmp_path / "other")
    mine = Index(index)
    assert index_at(mine) is mine


def test_no_index_is_index_not_found(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound):
        Index(str(tmp_path / "none")).snapshot()


@reads_index
def read_file(index: str, name: str) -> bytes:
    return Path(IndexDir(index).data_dir(), name).read_bytes()


@reads_index
def fail(index: str, exc: Exception) -> None:
    raise exc


def test_reads_index_names_a_missing_file(built: tuple[Path, str]) -> None:
    _, index = built
    with pytest.raises(IndexDamaged) as info:
        read_file(index, "MAIN_gone.trm")
    assert info.value.what == "data-1/MAIN_gone.trm is missing"
    with pytest.raises(IndexDamaged) as info:
        read_file(index=index, name="MAIN_gone.trm")  # found by keyword too
    assert info.value.what == "data-1/MAIN_gone.trm is missing"


def test_reads_index_names_a_cut_segment(built: tuple[Path, str]) -> None:
    _, index = built
    data = Path(IndexDir(index).data_dir())
    (terms,) = data.glob("*.trm")
    terms.write_bytes(terms.read_bytes()[:40])
    with pytest.raises(IndexDamaged) as info:
        Index(index).snapshot()
    assert info.value.what == f"data-1/{terms.name} is cut short or corrupt (invalid argument)"


def test_reads_index_lets_other_failures_through(built: tuple[Path, str]) -> None:
    _, index = built
    with pytest.raises(ValueError, match="not the index's"):
        fail(index, ValueError("not the index's"))
    with pytest.raises(KeyError):
        fail(index, KeyError("x"))


def gone(snap: Snapshot, column: str) -> bool:
    """Whether a writer has deleted the snapshot's files of ``column``."""
    assert isinstance(snap, WhooshSnapshot)
    names = [
        leaf._segment.make_filename(f".{column}.col") for leaf, _ in snap.reader.leaf_readers()
    ]
    return not all(os.path.exists(os.path.join(snap.folder, name)) for name in names)


def with_a_small_segment(corpus: Path, index: str) -> None:
    """Grow the index, then add a segment small enough for a later update to merge."""
    for n in range(3, 40):
        add_article(corpus, n)
    update_index(index, [str(corpus)], jobs=1)
    add_article(corpus, 40)
    update_index(index, [str(corpus)], jobs=1)


def commit_until_gone(corpus: Path, index: str, snap: Snapshot, rebuild: bool) -> None:
    """Update the index (merging segments away) or rebuild it until some files of the
    snapshot's ``norm`` column are deleted."""
    for n in range(41, 60):
        add_article(corpus, n)
        update_index(index, [str(corpus)], jobs=1, rebuild=rebuild)
        if gone(snap, "norm"):
            return
    raise AssertionError("the snapshot's files were never deleted")


@pytest.mark.parametrize("rebuild", [False, True], ids=["merged", "rebuilt"])
def test_a_column_whose_file_a_writer_deleted_fails_to_open_rather_than_reads_empty(
    built: tuple[Path, str], rebuild: bool
) -> None:
    corpus, index = built
    with_a_small_segment(corpus, index)
    snap = Index(index).snapshot()
    commit_until_gone(corpus, index, snap, rebuild)
    with pytest.raises(FileNotFoundError):
        snap.column("norm")
    snap.close()


@pytest.mark.parametrize("rebuild", [False, True], ids=["merged", "rebuilt"])
def test_a_read_whose_files_a_writer_deleted_is_made_again_on_the_new_state(
    built: tuple[Path, str], rebuild: bool
) -> None:
    corpus, index = built
    with_a_small_segment(corpus, index)
    calls: list[int] = []

    @reads_index
    def norms(index: str) -> list[str]:
        snap = index_at(index).snapshot()
        calls.append(snap.generation)
        if len(calls) == 1:
            commit_until_gone(corpus, index, snap, rebuild)
        return sorted(snap.column("norm"))

    found = norms(index)
    with Index(index) as fresh:
        expected = sorted(fresh.snapshot().column("norm"))
    assert len(calls) == 2
    assert found == expected
    assert len(found) > 3 and all(found)


def test_a_manifest_removed_by_a_later_commit_is_read_from_the_newer_state(
    built: tuple[Path, str],
) -> None:
    corpus, index = built
    add_article(corpus, 3)
    update_index(index, [str(corpus)], jobs=1)  # generation 2: a manifest of changes
    with Index(index) as ix:
        snap = ix.snapshot()
        assert snap.generation == 2
        add_article(corpus, 4)
        update_index(index, [str(corpus)], jobs=1)  # commits 3, removes manifest-2
        assert not os.path.exists(os.path.join(snap.folder, "manifest-2.json"))
        with pytest.raises(IndexDamaged):
            ix.dir.read_manifest(snap.folder, 2)
        newer, manifest = ix.manifest(snap)
        assert (newer.generation, manifest.generation) == (3, 3)
        assert len(manifest.files) == newer.count() == 5
        assert stats(ix).files == 5
