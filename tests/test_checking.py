"""``check``: each rule that makes it fail, with its exact message, on an index changed
behind the manifest's back (through Whoosh, as a damaged or meddled-with index would be);
and the notes it gives on a sound index."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from searchidx.checking import check_index
from searchidx.cli import cli
from searchidx.items import StoredItem
from searchidx.store import FileEntry, IndexDir, Manifest
from searchidx.whooshdb.storage import open_live
from searchidx.whooshdb.writing import document
from tests.conftest import article, front_matter, related

Record = dict[str, Any]
GHOST = "0123456789abcdef"


@pytest.fixture
def sound(tmp_path: Path) -> tuple[str, Path, Path]:
    """An index of two seed-shaped files (a.md cites another outlet's story), updated
    once more with a third file; ``check`` passes."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    a, b = corpus / "a.md", corpus / "b.md"
    a.write_text(
        front_matter(
            article(
                "Harbor vote passes",
                "https://harborwire.com/a",
                related=[
                    related(
                        "Council backs barrier",
                        "https://coastaldaily.com/r",
                        "Coastal Daily",
                        "coastaldaily.com",
                    )
                ],
            )
        ),
        encoding="utf-8",
    )
    b.write_text(front_matter(article("Fare rise", "https://harborwire.com/b")), encoding="utf-8")
    index = str(tmp_path / "index")
    runner = CliRunner()
    assert runner.invoke(cli, ["--index", index, "index", str(corpus)]).exit_code == 0
    (corpus / "c.md").write_text(
        front_matter(article("Storm ahead", "https://harborwire.com/c")), encoding="utf-8"
    )
    assert runner.invoke(cli, ["--index", index, "index", str(corpus)]).exit_code == 0
    result = runner.invoke(cli, ["--index", index, "check"])
    assert (result.exit_code, result.stderr) == (0, "")
    return index, a, b


def records(index: str) -> dict[str, Record]:
    """The stored records by title."""
    with open_live(IndexDir(index)).searcher() as searcher:
        recs = [json.loads(f["data"]) for f in searcher.all_stored_fields()]
    return {r["title"]: r for r in recs}


def tamper(
    index: str,
    add: list[Record] = [],  # noqa: B006 - never changed
    delete: list[str] = [],  # noqa: B006
    manifest: Callable[[dict[str, FileEntry]], None] | None = None,
) -> None:
    """Change the items and the manifest, keeping the manifest's generation in step."""
    ixdir = IndexDir(index)
    data = ixdir.data_dir()
    ix = open_live(ixdir)
    entries = ixdir.read_manifest(data, ix.latest_generation())
    if add or delete:
        writer = ix.writer()
        for item in delete:
            writer.delete_by_term("id", item)
        for rec in add:
            writer.add_document(**document(StoredItem(**rec)))
        writer.commit(merge=False)
        entries.generation += 1
    if manifest is not None:
        manifest(entries.files)
    written = Manifest(entries.generation, files=entries.files)  # in full
    ixdir.write_manifest(data, written)
    ixdir.prune_manifests(data, keep=written)


def failing_check(index: str, problems: list[str], items: int) -> None:
    result = CliRunner().invoke(cli, ["--index", index, "check"])
    generation = open_live(IndexDir(index)).latest_generation()
    assert result.exit_code == 1
    assert result.stdout.splitlines() == problems
    assert result.stderr == (
        f"Error: the index does not match its manifest: {items} items from 3 files "
        f"(generation {generation}) in {index}\n"
    )


def test_an_id_twice(sound: tuple[str, Path, Path]) -> None:
    index, _, _ = sound
    fare = records(index)["Fare rise"]
    tamper(index, add=[fare])
    failing_check(index, [f"id {fare['id']} is in the index 2 times"], 5)


def test_an_article_missing_from_the_index(sound: tuple[str, Path, Path]) -> None:
    index, _, b = sound
    fare = records(index)["Fare rise"]
    tamper(index, delete=[fare["id"]])
    failing_check(index, [f"{b}: its article {fare['id']} is missing from the index"], 3)


def test_a_cited_item_missing_from_the_index(sound: tuple[str, Path, Path]) -> None:
    index, a, _ = sound
    tamper(index, manifest=lambda files: files[str(a)].cites.append(GHOST))
    failing_check(index, [f"{a}: the item {GHOST} it cites is missing from the index"], 4)


def test_an_article_from_a_file_the_manifest_does_not_list(
    sound: tuple[str, Path, Path],
) -> None:
    index, _, _ = sound
    vote = records(index)["Harbor vote passes"]
    tamper(index, delete=[vote["id"]], add=[{**vote, "path": "/elsewhere/a.md"}])
    failing_check(
        index,
        [f"article {vote['id']} comes from /elsewhere/a.md, which the manifest does not list"],
        4,
    )


def test_an_article_its_file_does_not_claim(sound: tuple[str, Path, Path]) -> None:
    index, a, b = sound
    vote = records(index)["Harbor vote passes"]

    def move(files: dict[str, FileEntry]) -> None:
        files[str(a)].ids.remove(vote["id"])
        files[str(b)].ids.append(vote["id"])

    tamper(index, manifest=move)
    failing_check(index, [f"article {vote['id']} is not claimed by its file {a}"], 4)


def test_a_related_item_no_article_cites(sound: tuple[str, Path, Path]) -> None:
    index, a, _ = sound
    council = records(index)["Council backs barrier"]
    tamper(
        index,
        add=[{**council, "id": GHOST, "title": "Nobody cites this"}],
        manifest=lambda files: files[str(a)].cites.append(GHOST),
    )
    failing_check(index, [f"related item {GHOST} is cited by no article"], 5)


def test_a_related_item_claimed_as_an_article(sound: tuple[str, Path, Path]) -> None:
    index, _, b = sound
    council = records(index)["Council backs barrier"]
    tamper(index, manifest=lambda files: files[str(b)].ids.append(council["id"]))
    failing_check(
        index,
        [
            f"{b}: its article {council['id']} is missing from the index",
            f"related item {council['id']} is claimed as an article by {b}",
        ],
        4,
    )


def test_an_item_cited_but_missing(sound: tuple[str, Path, Path]) -> None:
    index, _, _ = sound
    vote = records(index)["Harbor vote passes"]
    cites_ghost = {**vote, "related": [*vote["related"], {**vote["related"][0], "id": GHOST}]}
    tamper(index, delete=[vote["id"]], add=[cites_ghost])
    failing_check(index, [f"item {GHOST} is cited but missing"], 4)


def test_an_item_no_file_accounts_for(sound: tuple[str, Path, Path]) -> None:
    index, _, _ = sound
    recs = records(index)
    vote, council = recs["Harbor vote passes"], recs["Council backs barrier"]
    cites_ghost = {**vote, "related": [*vote["related"], {**vote["related"][0], "id": GHOST}]}
    tamper(index, delete=[vote["id"]], add=[cites_ghost, {**council, "id": GHOST}])
    failing_check(index, [f"item {GHOST} is accounted for by no file"], 5)


def test_problems_past_the_limit_are_counted(sound: tuple[str, Path, Path]) -> None:
    index, a, _ = sound
    ghosts = [f"{n:016x}" for n in range(3)]
    tamper(index, manifest=lambda files: files[str(a)].cites.extend(ghosts))
    report = check_index(index, limit=2)
    assert report.problems == [
        f"{a}: the item {ghosts[0]} it cites is missing from the index",
        f"{a}: the item {ghosts[1]} it cites is missing from the index",
        "… and 1 more problems",
    ]


def test_files_no_longer_in_use_are_a_note(sound: tuple[str, Path, Path]) -> None:
    index, _, _ = sound
    data = IndexDir(index).data_dir()
    # A segment is separate files; its terms file stands for the lot.
    segment = next(n for n in sorted(os.listdir(data)) if n.endswith(".trm"))
    shutil.copy(os.path.join(data, segment), os.path.join(data, "MAIN_aaaaaaaaaaaaaaaa.trm"))
    toc = next(n for n in os.listdir(data) if n.endswith(".toc"))
    shutil.copy(os.path.join(data, toc), os.path.join(data, "_MAIN_0.toc"))
    result = CliRunner().invoke(cli, ["--index", index, "check"])
    assert result.exit_code == 0
    assert result.stdout.startswith("ok: 4 items from 3 files (generation ")
    assert result.stderr == (
        "note: 2 index file(s) no longer in use (MAIN_aaaaaaaaaaaaaaaa.trm, _MAIN_0.toc); "
        "the next index run that changes something removes them\n"
    )
    corpus = Path(index).parent / "corpus"
    (corpus / "d.md").write_text(front_matter(article("New", "https://x.com/d")), encoding="utf-8")
    assert CliRunner().invoke(cli, ["--index", index, "index", str(corpus)]).exit_code == 0
    result = CliRunner().invoke(cli, ["--index", index, "check"])
    assert (result.exit_code, result.stderr) == (0, "")


def test_an_update_that_changes_nothing_leaves_no_files_behind(
    sound: tuple[str, Path, Path],
) -> None:
    index, a, _ = sound
    data = IndexDir(index).data_dir()
    before = sorted(os.listdir(data))
    for _ in range(2):
        assert CliRunner().invoke(cli, ["--index", index, "index", str(a.parent)]).exit_code == 0
    assert sorted(os.listdir(data)) == before
    result = CliRunner().invoke(cli, ["--index", index, "check"])
    assert (result.exit_code, result.stderr) == (0, "")


@pytest.mark.parametrize("rebuild", [False, True], ids=["update", "rebuild"])
def test_a_writer_committing_while_check_reads_is_no_damage(
    sound: tuple[str, Path, Path], monkeypatch: pytest.MonkeyPatch, rebuild: bool
) -> None:
    """A writer commits (deleting files of the state being read: a merge's segments, a
    rebuild's whole folder) just as check starts reading: check reads the new state."""
    from searchidx.indexing import update_index
    from searchidx.whooshdb.snapshot import WhooshSnapshot

    index, a, _ = sound
    corpus = a.parent
    verify = WhooshSnapshot.verify
    generations: list[int] = []

    def committed_meanwhile(snap: WhooshSnapshot) -> None:
        generations.append(snap.generation)
        if len(generations) == 1:
            for n in range(12):  # enough small segments to merge the old ones away
                (corpus / f"extra{n}.md").write_text(
                    front_matter(article(f"Extra {n}", f"https://harborwire.com/x/{n}")),
                    encoding="utf-8",
                )
                update_index(index, [str(corpus)], jobs=1, rebuild=rebuild)
        verify(snap)

    monkeypatch.setattr(WhooshSnapshot, "verify", committed_meanwhile)
    report = check_index(index)
    assert (report.ok, report.items, report.files) == (True, 16, 15)
    assert len(generations) == 2 and generations[1] != generations[0]
