"""Indexes built by earlier releases of the same schema version still open.

``tests/data/index-schema-6-before-whooshdb`` was built (from two of the bundled
samples) when the Whoosh schema module was ``searchidx.schema``. Whoosh keeps the schema
pickled in the index, its analyzers named by module, so such an index opens only while
that name can still be imported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchidx.cli import cli
from searchidx.engine import index_at
from searchidx.indexing import update_index
from tests.conftest import SAMPLES

OLD = Path(__file__).parent / "data" / "index-schema-6-before-whooshdb"


def test_an_index_built_before_the_backend_moved_opens(tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(OLD, index)
    runner = CliRunner()
    found = runner.invoke(cli, ["--index", str(index), "search", "flood", "-f", "json"])
    assert found.exit_code == 0, found.output
    assert '"total": 2' in found.output
    checked = runner.invoke(cli, ["--index", str(index), "stats"])
    assert checked.exit_code == 0, checked.output
    assert "items:     4 (2 articles, 2 related)" in checked.output


@pytest.mark.parametrize(
    ("text", "as_built", "rebuilt"),
    [
        # Its terms were made with Porter's stem "us" for "used": its queries keep it, so
        # that "used" still finds what it holds; a rebuild stems it "use".
        ("used us", ["us", "us"], ["use", "us"]),
        # Its terms for "2,000" are "2" and "000": its queries make the same, so "2,000"
        # finds it as a phrase (and a hit is marked); a rebuild makes "2000" of it.
        ("2,000", ["2", "000"], ["2000"]),
    ],
    ids=["use-apart-from-us", "numbers-without-separators"],
)
def test_an_index_built_before_an_analysis_changed_queries_as_it_was_built(
    tmp_path: Path, text: str, as_built: list[str], rebuilt: list[str]
) -> None:
    index = tmp_path / "index"
    shutil.copytree(OLD, index)
    analyzer = index_at(str(index)).snapshot().schema["title"].analyzer
    assert [t.text for t in analyzer(text, mode="query")] == as_built
    fresh = tmp_path / "fresh"
    update_index(str(fresh), [str(SAMPLES / "002-flood-barrier-coastal-daily.md")])
    analyzer = index_at(str(fresh)).snapshot().schema["title"].analyzer
    assert [t.text for t in analyzer(text, mode="query")] == rebuilt


def test_an_index_with_a_manifest_in_full_only_takes_updates(tmp_path: Path) -> None:
    """Its manifest (of the files it was built from, elsewhere) is the full manifest the
    updates' changes are written against."""
    index, corpus = tmp_path / "index", tmp_path / "corpus"
    shutil.copytree(OLD, index)
    corpus.mkdir()
    source = SAMPLES / "002-flood-barrier-coastal-daily.md"
    # Another copy of a story the index holds, under its own address.
    text = source.read_text(encoding="utf-8").replace("20240305.html", "20240305-copy.html")
    (corpus / source.name).write_text(text, encoding="utf-8")
    runner = CliRunner()
    for version in range(1, 4):
        changed = text.replace("title: ", f"title: Changed {version} ", 1)
        (corpus / source.name).write_text(changed, encoding="utf-8")
        updated = runner.invoke(cli, ["--index", str(index), "index", str(corpus)])
        assert updated.exit_code == 0, updated.output
        data = index / "data-1"
        assert sorted(p.name for p in data.glob("manifest-*")) == [
            "manifest-1.json",
            f"manifest-{1 + version}.json",
        ]
        raw = json.loads((data / f"manifest-{1 + version}.json").read_text(encoding="utf-8"))
        assert (raw["base"], list(raw["changed"]), raw["removed"]) == (
            1,
            [str(corpus / source.name)],
            [],
        )
        found = runner.invoke(
            cli, ["--index", str(index), "search", f"changed {version}", "-f", "json"]
        )
        assert '"total": 1' in found.output
        checked = runner.invoke(cli, ["--index", str(index), "check"])
        assert checked.exit_code == 0, checked.output
    stats = runner.invoke(cli, ["--index", str(index), "stats"])
    assert "files:     3" in stats.output, stats.output


def test_an_index_that_kept_only_the_number_of_a_files_errors_learns_them_once(
    tmp_path: Path,
) -> None:
    """Manifests used to keep how many errors a file had, not what they were: such a
    file is read again once, and is unchanged from then on, its errors reported."""
    index, corpus = tmp_path / "index", tmp_path / "corpus"
    corpus.mkdir()
    rows = corpus / "rows.csv"
    rows.write_text("title,url\nOne,https://example.com/1\nTwo,notaurl\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["--index", str(index), "index", str(corpus)]).exit_code == 1
    manifest = index / "data-1" / "manifest-1.json"
    raw = json.loads(manifest.read_text(encoding="utf-8"))
    raw["files"][str(rows)][5] = 1  # as an earlier release wrote it
    manifest.write_text(json.dumps(raw), encoding="utf-8")
    error = f"{rows}:3: url is not a URL: 'notaurl'\n"
    for run, counts in enumerate(
        ["updated 1, removed 0, unchanged 0"] + 2 * ["updated 0, removed 0, unchanged 1"]
    ):
        result = runner.invoke(cli, ["--index", str(index), "index", str(corpus)])
        assert result.exit_code == 1
        assert result.stderr == error
        assert result.stdout.startswith(f"added 0, {counts}, failed 0, skipped 1 record in ")
        if run == 0:
            kept = json.loads((index / "data-1" / "manifest-2.json").read_text())
            assert kept["changed"][str(rows)][5] == [[3, "url is not a URL: 'notaurl'"]]
    assert sorted(p.name for p in (index / "data-1").glob("manifest-*")) == [
        "manifest-1.json",
        "manifest-2.json",
    ]
