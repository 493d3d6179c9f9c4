"""The command line: output, exit statuses and error messages."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from searchidx import __version__
from searchidx.cli import cli
from searchidx.fields import SCHEMA_VERSION
from searchidx.output import Style, use_color
from tests.conftest import ROOT, SAMPLES, article

Write = Callable[..., Path]


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def timeless(text: str) -> str:
    """Output with run times masked."""
    return re.sub(r"\d+(\.\d+)? ?(ms|s)\b", "T", text)


@pytest.fixture
def small(write: Write, corpus: Path, index_path: str) -> str:
    write(
        "a.md",
        article(
            "Harbor vote passes",
            "https://harborwire.com/a",
            excerpt="The council voted for the flood barrier.",
            topics=["Local Government"],
        ),
    )
    write(
        "b.md",
        article(
            "Fare rise approved",
            "https://coastaldaily.com/b",
            provider="Coastal Daily",
            domain="coastaldaily.com",
            published="2024-04-01T12:00:00Z",
            excerpt="Transit fares go up in April after a harbor vote.",
        ),
    )
    result = run("--index", index_path, "index", str(corpus))
    assert result.exit_code == 0, result.output
    return index_path


def test_version_and_help() -> None:
    assert run("--version").output == f"searchidx, version {__version__}\n"
    out = run("-h").output
    for command in ("index", "search", "show", "stats"):
        assert re.search(rf"^  {command} ", out, re.M)
    assert "[env var: SEARCHIDX_INDEX; default:" in out


def test_index_summary_and_status(write: Write, corpus: Path, index_path: str) -> None:
    write("a.md", article("Harbor vote passes", "https://harborwire.com/a"))
    result = run("--index", index_path, "index", str(corpus))
    assert result.exit_code == 0
    assert timeless(result.stdout) == (
        f"added 1, updated 0, removed 0, unchanged 0, failed 0, skipped 0 records in T (1 item from 1 file in {index_path})\n"
    )
    assert result.stderr == f"created index at {index_path}\n"
    bad = write("bad.md", "---\ntitle: [oops\n---\n")
    result = run("--index", index_path, "index", str(corpus))
    assert result.exit_code == 1
    assert result.stderr == f"{bad}:2: invalid YAML: did not find expected ',' or ']'\n"
    assert timeless(result.stdout) == (
        f"added 0, updated 0, removed 0, unchanged 1, failed 1, skipped 0 records in T (1 item from 1 file in {index_path})\n"
    )


def test_index_summary_tells_failed_files_from_skipped_records(
    write: Write, corpus: Path, index_path: str
) -> None:
    rows = write("rows.csv", "title,url\nOne,https://harborwire.com/1\n,https://harborwire.com/2\n")
    result = run("--index", index_path, "index", str(corpus))
    assert result.exit_code == 1
    assert result.stderr == f"{rows}:3: title is empty\ncreated index at {index_path}\n"
    assert timeless(result.stdout) == (
        f"added 1, updated 0, removed 0, unchanged 0, failed 0, skipped 1 record in T (1 item from 1 file in {index_path})\n"
    )


def test_index_says_what_a_file_that_went_bad_keeps(
    write: Write, corpus: Path, index_path: str
) -> None:
    write("a.md", article("Harbor vote passes", "https://harborwire.com/a"))
    write("b.md", article("Fare rise approved", "https://harborwire.com/b"))
    assert run("--index", index_path, "index", str(corpus)).exit_code == 0
    bad = write("a.md", article("Harbor vote passes", "https://harborwire.com/a", excerpt=[]))
    result = run("--index", index_path, "index", str(corpus))
    assert result.exit_code == 1
    assert result.stderr == (
        f"{bad}: excerpt must be text, not a list (the article indexed from this file before "
        "is kept; index --rebuild drops it)\n"
    )
    assert timeless(result.stdout) == (
        f"added 0, updated 0, removed 0, unchanged 1, failed 1, skipped 0 records in T (2 items from 2 files in {index_path})\n"
    )
    assert "Harbor vote passes" in run("--index", index_path, "search", "harbor").stdout


def test_search_text_output(small: str) -> None:
    result = run("--index", small, "search", "harbor")
    assert result.exit_code == 0
    assert timeless(result.output) == (
        "2 results for 'harbor' (T)\n"
        "\n"
        "  1. Harbor vote passes\n"
        "     Harbor Wire · 2024-03-05 09:00 · article · id 4f5c585a15928022\n"
        "     The council voted for the flood barrier.\n"
        "     https://harborwire.com/a\n"
        "\n"
        "  2. Fare rise approved\n"
        "     Coastal Daily · 2024-04-01 12:00 · article · id f4b0c5721588c03c\n"
        "     Transit fares go up in April after a harbor vote.\n"
        "     https://coastaldaily.com/b\n"
    )


def test_search_states_filters_partial_and_suggestions(small: str) -> None:
    out = timeless(run("--index", small, "search", "harbor", "--provider", "coastal daily").output)
    assert out.startswith("1 result for 'harbor' (T) [provider: coastal daily]\n")
    out = timeless(run("--index", small, "search", "harbor", "--provider", "Costal Daily").output)
    assert out == (
        "0 results for 'harbor' (T) [provider: Costal Daily]\n"
        "No such provider is known. Closest: Coastal Daily\n"
    )
    # Every item of this index has a provider: none to show, and "(none)" is no misspelling.
    out = timeless(run("--index", small, "search", "harbor", "--provider", "(none)").output)
    assert out == "0 results for 'harbor' (T) [provider: (none)]\n"
    out = run("--index", small, "search", "harbor", "zeppelin").output
    assert "No item has all the words; showing the best partial matches.\n" in out
    out = run("--index", small, "search", "harbr").output
    assert "Did you mean: harbor?\n" in out


def test_search_json(small: str) -> None:
    result = run("--index", small, "search", "harbor", "--format", "json")
    data = json.loads(result.output)
    assert (data["query"], data["total"]) == ("harbor", 2)
    assert list(data["hits"][0]) == [
        "id",
        "kind",
        "title",
        "excerpt",
        "provider",
        "domain",
        "topics",
        "published",
        "url",
        "path",
        "line",
        "score",
        "match",
        "similar",
        "also",
    ]
    assert data["hits"][0]["published"] == "2024-03-05T09:00:00Z"
    assert data["hits"][0]["topics"] == ["Local Government"]


def test_search_jsonl_and_csv(small: str) -> None:
    lines = run("--index", small, "search", "harbor", "--format", "jsonl").output.splitlines()
    assert [json.loads(line)["title"] for line in lines] == [
        "Harbor vote passes",
        "Fare rise approved",
    ]
    rows = list(
        csv.DictReader(
            io.StringIO(run("--index", small, "search", "harbor", "--format", "csv").output)
        )
    )
    assert [r["title"] for r in rows] == ["Harbor vote passes", "Fare rise approved"]
    assert rows[0]["topics"] == "Local Government"


def test_search_minus_limit_zero_and_match_column(small: str) -> None:
    result = run("--index", small, "search", "harbor", "-fare", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["title"] for line in result.output.splitlines()] == [
        "Harbor vote passes"
    ]
    every = run("--index", small, "search", "harbor OR fare", "--limit", "0", "--format", "json")
    data = json.loads(every.output)
    assert (data["total"], len(data["hits"]), data["limit"]) == (2, 2, 0)
    rows = list(
        csv.DictReader(
            io.StringIO(
                run("--index", small, "search", "harbor", "zeppelin", "--format", "csv").output
            )
        )
    )
    assert [(r["title"], r["match"]) for r in rows] == [
        ("Harbor vote passes", "partial"),
        ("Fare rise approved", "partial"),
    ]
    rows = list(
        csv.DictReader(
            io.StringIO(run("--index", small, "search", "fare", "--format", "csv").output)
        )
    )
    assert [(r["title"], r["match"]) for r in rows] == [("Fare rise approved", "all")]


def test_search_with_nothing_found_exits_0(small: str) -> None:
    result = run("--index", small, "search", "zeppelin")
    assert (result.exit_code, timeless(result.output)) == (0, "0 results for 'zeppelin' (T)\n")


def test_index_from_environment(small: str) -> None:
    result = run("search", "harbor", "--format", "jsonl", env={"SEARCHIDX_INDEX": small})
    assert result.exit_code == 0
    assert len(result.output.splitlines()) == 2


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["search"], 2, "Error: Missing argument 'QUERY...'."),
        (
            ["search", "x", "--limit", "-1"],
            2,
            "Error: Invalid value for '-n' / '--limit': -1 is not in the range x>=0.",
        ),
        (
            ["search", "x", "--limit", "0", "--page", "2"],
            2,
            "Error: --limit 0 shows every hit on one page; leave out --page",
        ),
        (
            ["search", "harbor published:[2024-13-01 to]"],
            2,
            "Error: cannot read the date range 'published:[2024-13-01 to]': '2024-13-01' is not a date; use YYYY, YYYY-MM, YYYY-MM-DD, YYYY-Www (an ISO week) or an ISO 8601 date-time",
        ),
        (
            ["search", "x", "--since", "tomorrow"],
            2,
            "Error: Invalid value for '--since': 'tomorrow' is not a date; use YYYY, YYYY-MM, YYYY-MM-DD, YYYY-Www (an ISO week) or an ISO 8601 date-time",
        ),
        (
            ["search", "x", "--kind", "video"],
            2,
            "Error: Invalid value for '--kind': 'video' is not one of 'article', 'related', 'all'.",
        ),
        (
            ["search", "x", "--sort", "random"],
            2,
            "Error: Invalid value for '--sort': 'random' is not one of 'relevance', 'newest', 'oldest', 'quality', 'heat'.",
        ),
        (
            ["search", "x", "--format", "xml"],
            2,
            "Error: Invalid value for '-f' / '--format': 'xml' is not one of 'text', 'json', 'jsonl', 'csv'.",
        ),
        (
            ["index", "/no/such/folder"],
            2,
            "Error: Invalid value for 'PATHS...': Path '/no/such/folder' does not exist.",
        ),
        (
            ["index", "--jobs", "0", "."],
            2,
            "Error: Invalid value for '--jobs': 0 is not in the range x>=1.",
        ),
        (
            ["index", "--variant-threshold", "101", "."],
            2,
            "Error: Invalid value for '--variant-threshold': 101.0 is not in the range 0<=x<=100.",
        ),
        (["show", "ffffffff"], 1, "Error: no item with id 'ffffffff'"),
        (["frobnicate"], 2, "Error: No such command 'frobnicate'."),
    ],
)
def test_usage_and_lookup_errors(small: str, args: list[str], status: int, message: str) -> None:
    result = run("--index", small, *args)
    assert result.exit_code == status
    assert result.output.rstrip("\n").splitlines()[-1] == message


@pytest.mark.parametrize("command", [["search", "x"], ["show", "abcd"], ["stats"]])
def test_missing_index_is_an_error(tmp_path: Path, command: list[str]) -> None:
    result = run("--index", str(tmp_path / "none"), *command)
    assert result.exit_code == 1
    assert (
        result.output == f"Error: no index at {tmp_path / 'none'}; create one with: "
        f"searchidx --index {tmp_path / 'none'} index PATH...\n"
    )


def test_not_an_index(tmp_path: Path, corpus: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x")
    for args in (["index", str(corpus)], ["search", "x"]):
        result = run("--index", str(tmp_path / "notes"), *args)
        assert result.exit_code == 1
        assert result.output == (
            f"Error: {tmp_path / 'notes'} is not a searchidx index (it holds other files); "
            "choose an empty or new folder with --index\n"
        )


def test_variant_threshold_change_is_a_usage_error(small: str, corpus: Path) -> None:
    result = run("--index", small, "index", "--variant-threshold", "80", str(corpus))
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: the index was built with --variant-threshold 90; add --rebuild to change it"
    )


def test_show_and_stats(small: str) -> None:
    result = run("--index", small, "show", "4f5c585a")
    assert result.exit_code == 0
    assert result.output.splitlines()[:4] == [
        "Harbor vote passes",
        "  id:        4f5c585a15928022",
        "  kind:      article",
        "  provider:  Harbor Wire (harborwire.com)",
    ]
    data = json.loads(run("--index", small, "show", "4f5c585a15928022", "--format", "json").output)
    assert (data["title"], data["related"], data["cited_by"]) == ("Harbor vote passes", [], [])
    stats = json.loads(run("--index", small, "stats", "--format", "json").output)
    assert (stats["items"], stats["articles"], stats["providers"], stats["schema_version"]) == (
        2,
        2,
        2,
        SCHEMA_VERSION,
    )
    text = run("--index", small, "stats").output
    assert "items:     2 (2 articles, 0 related)\n" in text
    assert "published: 2024-03-05 09:00 to 2024-04-01 12:00\n" in text


def test_no_colour_off_a_terminal_or_with_no_color(
    small: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = run("--index", small, "search", "harbor").output
    assert "\x1b[" not in out

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color(Terminal())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Terminal())
    assert Style(True).match("x") == "\x1b[1;33mx\x1b[0m"
    assert Style(False).match("x") == "x"


def test_output_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    exe = [sys.executable, "-m", "searchidx", "--index", str(index)]
    subprocess.run([*exe, "index", str(SAMPLES)], check=True, capture_output=True, cwd=ROOT)
    pipeline = f"{' '.join(exe)} search '*' --limit 40 --format jsonl | head -n 1"
    proc = subprocess.run(
        ["bash", "-c", pipeline],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert proc.stderr == ""
    assert len(proc.stdout.splitlines()) == 1


def test_seed_files_done_when(seeds: Path, tmp_path: Path) -> None:
    index = str(tmp_path / "ix")
    first = run("--index", index, "index", str(seeds))
    assert first.exit_code == 0
    assert timeless(first.stdout).startswith(
        "added 2, updated 0, removed 0, unchanged 0, failed 0, skipped 0 records in T (8 items"
    )
    result = run("--index", index, "search", "facial recognition", "--format", "json")
    data = json.loads(result.output)
    assert data["total"] == 8
    articles = sorted(h["title"] for h in data["hits"] if h["kind"] == "article")
    assert articles == [
        "Documents Detail New Orleans PD's Facial Recognition Use",
        "New Orleans Police Department using facial recognition despite years of denial",
    ]
    providers = sorted(h["provider"] for h in data["hits"] if h["kind"] == "related")
    assert providers == [
        "Aclu.org",
        "Governing",
        "NOLA.com",
        "NOLA.com",
        "Smithsonian Magazine",
        "The Lens",
    ]
    assert sum("assurances to the contrary" in h["title"] for h in data["hits"]) == 1
    again = run("--index", index, "index", str(seeds))
    assert timeless(again.output).startswith(
        "added 0, updated 0, removed 0, unchanged 2, failed 0, skipped 0 records in T"
    )


# --- options: short forms, --index after the command, the default index ------------------


@pytest.mark.parametrize(
    "args",
    [
        ["search", "harbor", "-f", "jsonl"],
        ["facets", "provider", "-n", "1", "-f", "jsonl"],
        ["dupes", "-n", "1", "-f", "json"],
        ["show", "4f5c585a", "-f", "json"],
        ["stats", "-f", "json"],
    ],
    ids=lambda a: a[0],
)
def test_short_options_mean_the_long_ones(small: str, args: list[str]) -> None:
    short = run("--index", small, *args)
    long = run("--index", small, *[{"-f": "--format", "-n": "--limit"}.get(a, a) for a in args])
    assert short.exit_code == 0, short.output
    assert short.output.lstrip().startswith("{")

    def timeless_json(text: str) -> str:
        return re.sub(r'"seconds": [0-9.e-]+', '"seconds": T', timeless(text))

    assert timeless_json(short.output) == timeless_json(long.output)


@pytest.mark.parametrize(
    "args",
    [
        ["search", "harbor"],
        ["facets", "provider"],
        ["dupes"],
        ["show", "4f5c585a"],
        ["stats"],
        ["check"],
    ],
    ids=lambda a: a[0],
)
def test_index_after_the_command_wins(small: str, tmp_path: Path, args: list[str]) -> None:
    missing = str(tmp_path / "none")
    after = run("--index", missing, *args, "--index", small, env={"SEARCHIDX_INDEX": missing})
    assert after.exit_code == 0, after.output
    assert timeless(after.output) == timeless(run("--index", small, *args).output)
    before = run("--index", missing, *args)
    assert before.exit_code == 1


def test_index_command_takes_index_after_it(corpus: Path, write: Write, tmp_path: Path) -> None:
    write("a.md", article("Harbor vote passes", "https://harborwire.com/a"))
    index = tmp_path / "after"
    result = run("index", str(corpus), "--index", str(index))
    assert result.exit_code == 0
    assert result.stderr == f"created index at {index}\n"
    again = run("index", str(corpus), "--index", str(index))
    assert (again.exit_code, again.stderr) == (0, "")
    rebuilt = run("index", "--rebuild", str(corpus), "--index", str(index))
    assert (rebuilt.exit_code, rebuilt.stderr) == (0, "")


def test_default_index_is_found_up_the_tree(
    corpus: Path, write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from searchidx.store import find_default_index

    write("a.md", article("Harbor vote passes", "https://harborwire.com/a"))
    project = tmp_path / "project"
    deeper = project / "notes" / "2024"
    deeper.mkdir(parents=True)
    no_env = {"SEARCHIDX_INDEX": None}
    assert find_default_index(str(deeper)) == "indexes/default"  # none anywhere up
    monkeypatch.chdir(project)
    created = run("index", str(corpus), env=no_env)
    assert created.exit_code == 0
    assert created.stderr == f"created index at {project / 'indexes' / 'default'}\n"
    assert find_default_index(str(deeper)) == str(project / "indexes" / "default")
    assert find_default_index(str(project)) == "indexes/default"
    monkeypatch.chdir(deeper)
    stats = run("stats", "-f", "json", env=no_env)
    assert json.loads(stats.output)["index"] == str(project / "indexes" / "default")
    found = run("search", "harbor", "-f", "jsonl", env=no_env)
    assert [json.loads(line)["title"] for line in found.output.splitlines()] == [
        "Harbor vote passes"
    ]
    # The environment variable, when set, is used as it is.
    elsewhere = str(tmp_path / "elsewhere")
    missing = run("stats", env={"SEARCHIDX_INDEX": elsewhere})
    assert (
        missing.output == f"Error: no index at {elsewhere}; create one with: "
        f"searchidx --index {elsewhere} index PATH...\n"
    )


def test_a_long_query_is_echoed_shortened(small: str) -> None:
    query = " ".join(["harbr"] * 1000)[:5000]
    result = run("--index", small, "search", query)
    assert result.exit_code == 0
    echo = "harbr " * 12 + "harbr h…"
    assert len(echo) == 80
    assert timeless(result.output).splitlines()[:2] == [
        f"0 results for '{echo}' (T)",
        "Did you mean: " + "harbor " * 11 + "ha…?",
    ]
    assert len(result.output) < 300
    facets = run("--index", small, "facets", "provider", query)
    assert facets.output.splitlines()[0] == f"provider counts of items matching '{echo}'"
    full = json.loads(run("--index", small, "search", query, "-f", "json").output)
    assert full["query"] == query  # machine-readable output keeps it whole


@pytest.mark.parametrize(
    ("args", "titles"),
    [
        (["harbor", "-fare", "-f", "jsonl"], ["Harbor vote passes"]),
        (["harbor", "-fare", "-n", "5", "-f", "jsonl"], ["Harbor vote passes"]),
        (["harbor", "-news", "-f", "jsonl"], ["Harbor vote passes", "Fare rise approved"]),
        (["-f", "jsonl", "--", "-fare", "harbor"], ["Harbor vote passes"]),
        # a short option with a value it takes written on
        (["harbor", "-news", "-fjsonl", "-n1"], ["Harbor vote passes"]),
        (["-n1", "-fjsonl", "harbor", "-news"], ["Harbor vote passes"]),
        (["harbor", "-fox", "-f", "jsonl"], ["Harbor vote passes", "Fare rise approved"]),
        (["harbor", "-nine", "-f", "jsonl"], ["Harbor vote passes", "Fare rise approved"]),
    ],
)
def test_minus_words_are_query_words_not_short_options(
    small: str, args: list[str], titles: list[str]
) -> None:
    result = run("--index", small, "search", *args)
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["title"] for line in result.output.splitlines()] == titles
    facets = run("--index", small, "facets", "provider", "harbor", "-fare", "-n", "1")
    assert facets.output.splitlines()[0] == "provider counts of items matching 'harbor -fare'"


@pytest.mark.parametrize("command", ["search", "facets provider", "stories", "dupes"])
@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--bogus", "Error: No such option '--bogus'."),
        ("-x", "Error: No such option '-x'."),
    ],
)
def test_an_unknown_option_is_a_usage_error_not_a_query_word(
    small: str, command: str, option: str, message: str
) -> None:
    result = run("--index", small, *command.split(), "harbor", option)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == message


def test_color_and_no_pager_are_taken_after_the_command_too(small: str) -> None:
    before = run("--index", small, "--color", "always", "--no-pager", "search", "harbor")
    after = run("--index", small, "search", "harbor", "--color", "always", "--no-pager")
    assert after.exit_code == 0
    assert "\x1b[" in after.output
    assert timeless(after.output) == timeless(before.output)
    plain = run("--index", small, "--color", "always", "search", "harbor", "--color", "never")
    assert "\x1b[" not in plain.output


def test_a_usage_error_from_the_core_shows_the_commands_usage(small: str) -> None:
    result = run("--index", small, "search", "published:xyz")
    assert result.exit_code == 2
    # (CliRunner names the program "cli"; the command line says searchidx)
    assert result.output.splitlines()[0] == "Usage: cli search [OPTIONS] QUERY..."
    assert result.output.splitlines()[-1] == (
        "Error: cannot read the date range 'published:xyz': 'xyz' is not a date; "
        "use YYYY, YYYY-MM, YYYY-MM-DD, YYYY-Www (an ISO week) or an ISO 8601 date-time"
    )


def test_grouping_line_shows_after_half_a_second_and_clears_when_done(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from searchidx.cli import GroupingLine

    now = [0.0]
    line = GroupingLine(clock=lambda: now[0])
    line(0, 50_000, "items read")
    now[0] = 0.4
    line(50_000, 50_000, "items read")
    assert capsys.readouterr().err == ""  # half a second has not gone by
    now[0] = 0.6
    line(9, 10, "steps done")
    line(10, 10, "steps done")
    assert capsys.readouterr().err == (
        "\rgrouping stories: 9 of 10 steps done"
        "\rgrouping stories: 10 of 10 steps done"
        "\r" + " " * len("grouping stories: 10 of 10 steps done") + "\r"
    )
    now[0] = 0.7  # a line already drawn is drawn again at once, shorter text padded
    line(99, 100, "items read")
    line(1, 100, "items read")
    assert capsys.readouterr().err == (
        "\rgrouping stories: 99 of 100 items read\rgrouping stories: 1 of 100 items read "
    )
    line.clear()  # when the command ends
    assert (
        capsys.readouterr().err == "\r" + " " * len("grouping stories: 1 of 100 items read") + "\r"
    )
    line.clear()  # cleared already: nothing more
    assert capsys.readouterr().err == ""


def test_grouping_line_says_nothing_of_quick_work(capsys: pytest.CaptureFixture[str]) -> None:
    from searchidx.cli import GroupingLine

    line = GroupingLine(clock=lambda: 0.1)
    for done in range(4):
        line(done, 3, "steps done")
    line.clear()
    assert capsys.readouterr().err == ""


def test_search_for_a_providers_name_points_to_the_filter(sample_index: str) -> None:
    result = run("--index", sample_index, "search", "harbor wire")
    assert result.exit_code == 0
    assert result.output.splitlines()[1:3] == [
        "No item has all the words; showing the best partial matches.",
        'Harbor Wire is a provider: --provider "Harbor Wire" shows its 8 items.',
    ]
    data = json.loads(run("--index", sample_index, "search", "harbor wire", "-fjson").output)
    assert (data["provider_named"], data["provider_items"]) == ("Harbor Wire", 8)


NOTE = (
    "No item has all the words; 7 items have some of them (search shows them as partial matches)."
)


@pytest.mark.parametrize(
    "command", [["facets", "provider"], ["facets", "provider", "--first"], ["stories"], ["dupes"]]
)
def test_commands_that_find_no_item_with_every_word_say_some_have_some(
    sample_index: str, command: list[str]
) -> None:
    partial = run("--index", sample_index, *command, "flood qwertyuiop")
    assert partial.exit_code == 0
    assert partial.output.splitlines()[-1] == NOTE
    assert "search shows them" not in run("--index", sample_index, *command, "flood").output
    none = run("--index", sample_index, *command, "qwertyuiop zxcvbnm")
    assert "search shows them" not in none.output


@pytest.mark.parametrize(
    "command", [["facets", "provider"], ["facets", "provider", "--first"], ["stories"], ["dupes"]]
)
def test_a_provider_none_is_named_gets_the_closest_ones(
    sample_index: str, command: list[str]
) -> None:
    result = run("--index", sample_index, *command, "--provider", "Harbr Wire")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == (
        "No such provider is known. Closest: Harbor Wire, Harbor Wire radio bulletin"
    )
    known = run("--index", sample_index, *command, "--provider", "harbor wire")
    assert "No such provider" not in known.output


@pytest.fixture
def bulletins(
    write: Write, index_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """An index of a table whose rows have no URL (each known by its file and line),
    run from the folder above the corpus."""
    table = write(
        "bulletins.csv",
        "title,date,provider,description\n"
        "Council approves flood barrier for the harbor,2024-03-05 09:00,Harbor Wire,Voted 7-2.\n"
        "Council approves flood barrier for the harbor,2024-03-05 11:30,Bay Chronicle,Voted.\n"
        "Fare rise approved,2024-04-01 12:00,Coastal Daily,Transit fares go up.\n",
    )
    assert run("--index", index_path, "index", str(table.parent)).exit_code == 0
    monkeypatch.chdir(tmp_path)
    return table


def test_items_without_a_url_are_shown_by_file_and_line(bulletins: Path, index_path: str) -> None:
    from searchidx.documents import item_id, path_key

    first, second = (item_id(path_key(str(bulletins), line)) for line in (2, 3))
    search = run("--index", index_path, "search", "flood")
    assert (search.exit_code, timeless(search.output)) == (
        0,
        "2 results for 'flood' (T)\n"
        "\n"
        "  1. Council approves flood barrier for the harbor\n"
        f"     Harbor Wire · 2024-03-05 09:00 · article · id {first} · +1 similar\n"
        "     Voted 7-2.\n"
        "     corpus/bulletins.csv:2\n"
        "\n"
        "  2. Council approves flood barrier for the harbor\n"
        f"     Bay Chronicle · 2024-03-05 11:30 · article · id {second} · +1 similar\n"
        "     Voted.\n"
        "     corpus/bulletins.csv:3\n",
    )
    stories = run("--index", index_path, "stories")
    assert (stories.exit_code, stories.output) == (
        0,
        "[1] Council approves flood barrier for the harbor  (2 outlets, 2 items, over 2.5 h)\n"
        f"    2024-03-05 09:00  Harbor Wire    article  {first}  corpus/bulletins.csv:2\n"
        f"      = +2h30m            Bay Chronicle  article  {second}  corpus/bulletins.csv:3\n"
        "\n"
        "1 story among 3 items\n",
    )
    dupes = run("--index", index_path, "dupes")
    assert (dupes.exit_code, dupes.output) == (
        0,
        "[1] Council approves flood barrier for the harbor  (2 items, 2 providers)\n"
        f"    2024-03-05 09:00  Harbor Wire    article  100.0  {first}  corpus/bulletins.csv:2\n"
        f"    +2h30m            Bay Chronicle  article  100.0  {second}  corpus/bulletins.csv:3\n"
        "\n"
        "1 cluster among 3 items (threshold 90, window 7 days)\n",
    )


@pytest.mark.parametrize(
    ("command", "members"),
    [
        (["search", "flood"], lambda data: data["hits"]),
        (["stories"], lambda data: data["stories"][0]["members"]),
        (["dupes"], lambda data: data["clusters"][0]["members"]),
    ],
)
def test_machine_output_gives_each_items_line_beside_its_path(
    bulletins: Path, index_path: str, command: list[str], members: Callable[[Any], Any]
) -> None:
    data = json.loads(run("--index", index_path, *command, "-fjson").output)
    assert [(m["path"], m["line"]) for m in members(data)] == [
        (str(bulletins), 2),
        (str(bulletins), 3),
    ]
    keys = list(members(data)[0])
    assert keys[keys.index("path") + 1] == "line"
    rows = [
        json.loads(x) for x in run("--index", index_path, *command, "-fjsonl").output.splitlines()
    ]
    assert [(r["path"], r["line"]) for r in rows] == [(str(bulletins), 2), (str(bulletins), 3)]
    table = list(csv.DictReader(io.StringIO(run("--index", index_path, *command, "-fcsv").output)))
    assert [(r["path"], r["line"]) for r in table] == [(str(bulletins), "2"), (str(bulletins), "3")]


def test_items_of_whole_files_have_no_line(small: str) -> None:
    data = json.loads(run("--index", small, "search", "harbor", "-fjson").output)
    assert [hit["line"] for hit in data["hits"]] == [None, None]
    table = list(
        csv.DictReader(io.StringIO(run("--index", small, "search", "harbor", "-fcsv").output))
    )
    assert [r["line"] for r in table] == ["", ""]
