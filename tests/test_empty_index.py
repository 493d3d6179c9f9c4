"""An index of no items answers every command with nothing found, exit 0: one built
from a folder without article files, and one whose files were all removed by updates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from searchidx.cli import cli
from tests.conftest import SAMPLES, front_matter

FACETS = ["provider", "domain", "topic", "kind", "year", "month"]


def run(index: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--index", index, *args])


def timeless(text: str) -> str:
    return re.sub(r"\d+(\.\d+)? ?(ms|s)\b", "T", text)


@pytest.fixture(params=["no-article-files", "emptied-by-updates"])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    index = str(tmp_path / "index")
    (corpus / "notes.pdf").write_text("%PDF-1.4\n", encoding="utf-8")
    if request.param == "emptied-by-updates":
        for path in sorted(SAMPLES.iterdir()):
            (corpus / path.name).write_bytes(path.read_bytes())
        assert run(index, "index", str(corpus)).exit_code == 0
        for name in sorted(p.name for p in corpus.iterdir() if p.suffix != ".pdf")[:20]:
            (corpus / name).unlink()
        assert run(index, "index", str(corpus)).exit_code == 0
        for path in corpus.iterdir():
            if path.suffix != ".pdf":
                path.unlink()
    created = "" if request.param == "emptied-by-updates" else f"created index at {index}\n"
    result = run(index, "index", str(corpus))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"no article files found under {corpus}\n{created}"
    assert timeless(result.stdout).endswith(f" in T (0 items from 0 files in {index})\n")
    return index


def test_search(empty: str) -> None:
    for args in (
        ["obama"],
        ["obama", "--sort", "newest"],
        ["obama", "--sort", "oldest"],
    ):
        result = run(empty, "search", *args)
        assert (result.exit_code, result.stderr) == (0, ""), result.output
        assert timeless(result.stdout) == "0 results for 'obama' (T)\n"
    since = run(empty, "search", "obama", "--since", "2020")
    assert timeless(since.output) == "0 results for 'obama' (T) [since: 2020-01-01T00:00:00Z]\n"
    provider = run(empty, "search", "obama", "--provider", "Riverside Post")
    # No suggestion from the providers of deleted items.
    assert timeless(provider.output) == "0 results for 'obama' (T) [provider: Riverside Post]\n"
    collapsed = run(empty, "search", "obama", "--collapse")
    assert timeless(collapsed.output) == "0 results for 'obama' in 0 stories (T)\n"
    as_json = json.loads(run(empty, "search", "obama", "--format", "json").output)
    assert (as_json["total"], as_json["hits"]) == (0, [])
    jsonl = run(empty, "search", "obama", "--format", "jsonl")
    assert (jsonl.exit_code, jsonl.output) == (0, "")


@pytest.mark.parametrize("field", FACETS)
def test_facets(empty: str, field: str) -> None:
    plural = {"category": "categories"}.get(field, field + "s")
    result = run(empty, "facets", field)
    assert (result.exit_code, result.output) == (
        0,
        f"{field}  count   share\n0 items, 0 {plural}\n",
    )
    as_json = json.loads(run(empty, "facets", field, "--format", "json").output)
    assert (as_json["total"], as_json["buckets"]) == (0, [])


def test_facets_by_domain_and_with_a_query(empty: str) -> None:
    result = run(empty, "facets", "provider", "--by-domain")
    assert (result.exit_code, result.output) == (0, "domain  count   share\n0 items, 0 domains\n")
    result = run(empty, "facets", "provider", "obama")
    assert (result.exit_code, result.output) == (
        0,
        "provider counts of items matching 'obama'\nprovider  count   share\n0 items, 0 providers\n",
    )


def test_dupes(empty: str) -> None:
    for args, scope in (([], ""), (["obama"], ""), (["--kind", "article"], " [kind: article]")):
        result = run(empty, "dupes", *args)
        assert (result.exit_code, result.output) == (
            0,
            f"0 clusters among 0 items (threshold 90, window 7 days){scope}\n",
        )


def test_show_an_unknown_id_is_the_same_error_as_in_any_index(empty: str) -> None:
    result = run(empty, "show", "4f5c585a15928022")
    assert (result.exit_code, result.output) == (1, "Error: no item with id '4f5c585a15928022'\n")


def test_stats(empty: str) -> None:
    result = run(empty, "stats")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[:6] == [
        f"index:     {empty}",
        "items:     0 (0 articles, 0 related)",
        "files:     0",
        "providers: 0",
        "topics:    0",
        "published: (no dates)",
    ]
    as_json = json.loads(run(empty, "stats", "--format", "json").output)
    assert (as_json["items"], as_json["providers"], as_json["first_published"]) == (0, 0, None)


def test_check(empty: str) -> None:
    result = run(empty, "check")
    assert result.exit_code == 0
    assert re.fullmatch(
        rf"ok: 0 items from 0 files \(generation \d\) in {re.escape(empty)}\n", result.output
    )


def test_a_named_file_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    notes = tmp_path / "notes.pdf"
    notes.write_text(front_matter({"title": "x"}), encoding="utf-8")
    result = run(str(tmp_path / "index"), "index", str(notes))
    assert result.exit_code == 1
    assert result.stderr == (
        f"{notes}: unsupported file type '.pdf'\ncreated index at {tmp_path / 'index'}\n"
    )
