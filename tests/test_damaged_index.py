"""A damaged index (a file missing, cut short or unreadable) makes every command say so
and exit 1: never a traceback, never "0 results". ``--rebuild`` recovers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchidx.cli import cli
from searchidx.errors import IndexDamaged
from searchidx.facets import facet_counts
from searchidx.store import IndexDir
from tests.conftest import ROOT, SAMPLES, article, front_matter

REBUILD = "; rebuild it with: searchidx index --rebuild PATH...\n"


@pytest.fixture(scope="module")
def updated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """An index of the samples updated three times: several segments."""
    root = tmp_path_factory.mktemp("damaged")
    corpus = root / "corpus"
    shutil.copytree(SAMPLES, corpus)
    index = str(root / "index")
    runner = CliRunner()
    assert runner.invoke(cli, ["--index", index, "index", str(corpus)]).exit_code == 0
    for n in range(3):
        (corpus / f"extra{n}.md").write_text(
            front_matter(article(f"Extra story {n}", f"https://harborwire.com/extra/{n}")),
            encoding="utf-8",
        )
        assert runner.invoke(cli, ["--index", index, "index", str(corpus)]).exit_code == 0
    return corpus, index


@pytest.fixture
def index(updated: tuple[Path, str], tmp_path: Path) -> str:
    """A copy of the updated index, to damage."""
    copy = str(tmp_path / "index")
    shutil.copytree(updated[1], copy)
    return copy


def segments(index: str) -> list[str]:
    """Each segment's terms file: segments are written as separate files, and every
    search opens the terms of every segment."""
    data = IndexDir(index).data_dir()
    return sorted(n for n in os.listdir(data) if n.endswith(".trm"))


def data_name(index: str) -> str:
    return os.path.basename(IndexDir(index).data_dir())


def some_id(index: str) -> str:
    from whoosh import index as windex

    with windex.open_dir(IndexDir(index).data_dir()).searcher() as searcher:
        return str(next(searcher.all_stored_fields())["id"])


def toc(index: str) -> str:
    data = IndexDir(index).data_dir()
    return next(n for n in os.listdir(data) if n.endswith(".toc"))


def remove_segment(index: str) -> str:
    name = segments(index)[-1]
    os.unlink(os.path.join(IndexDir(index).data_dir(), name))
    return f"{data_name(index)}/{name} is missing"


def cut_segment(index: str) -> str:
    name = segments(index)[0]
    path = os.path.join(IndexDir(index).data_dir(), name)
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) // 2)
    return f"{data_name(index)}/{name} is cut short or corrupt (invalid load key, '\\x00'.)"


def cut_segment_short(index: str) -> str:
    """Cut to its first 500 bytes, the terms file makes Whoosh seek before its start:
    an error that names no file."""
    name = segments(index)[-1]
    with open(os.path.join(IndexDir(index).data_dir(), name), "r+b") as fh:
        fh.truncate(500)
    return f"{data_name(index)}/{name} is cut short or corrupt (invalid argument)"


def cut_toc(index: str) -> str:
    name = toc(index)
    with open(os.path.join(IndexDir(index).data_dir(), name), "r+b") as fh:
        fh.truncate(20)
    return f"{data_name(index)}/{name} is cut short or corrupt (pickle data was truncated)"


def remove_toc(index: str) -> str:
    os.unlink(os.path.join(IndexDir(index).data_dir(), toc(index)))
    return f"{data_name(index)} has no table of contents"


def bad_meta(index: str) -> str:
    Path(IndexDir(index).data_dir(), "meta.json").write_text("{", encoding="utf-8")
    return (
        f"{data_name(index)}/meta.json is not valid JSON "
        "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"
    )


def remove_manifest(index: str) -> str:
    data = IndexDir(index).data_dir()
    name = next(n for n in os.listdir(data) if n.startswith("manifest-"))
    os.unlink(os.path.join(data, name))
    return f"{data_name(index)}/{name} is missing"


DAMAGES: dict[str, Callable[[str], str]] = {
    "segment-missing": remove_segment,
    "segment-cut": cut_segment,
    "segment-cut-short": cut_segment_short,
    "toc-cut": cut_toc,
    "toc-missing": remove_toc,
    "meta-invalid": bad_meta,
    "manifest-missing": remove_manifest,
}
COMMANDS = [
    ["search", "flood"],
    ["search", "flood", "--format", "json"],
    ["facets", "provider"],
    ["dupes"],
    ["show", "ID"],
    ["stats"],
    ["check"],
    ["index", "CORPUS"],
]
#: The manifest is only read by the commands that speak of files.
MANIFEST_READERS = {"stats", "check", "index"}


@pytest.fixture
def damaged(
    updated: tuple[Path, str], tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[Path, str, str, str]:
    corpus, built = updated
    index = str(tmp_path / "index")
    shutil.copytree(built, index)
    item = some_id(index)
    assert len(segments(index)) >= 2
    what = DAMAGES[request.param](index)
    return corpus, index, item, what


@pytest.mark.parametrize("damaged", list(DAMAGES), indirect=True)
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: "-".join(c))
def test_every_command_says_the_index_is_damaged(
    damaged: tuple[Path, str, str, str], command: list[str], request: pytest.FixtureRequest
) -> None:
    corpus, index, item, what = damaged
    args = [{"ID": item, "CORPUS": str(corpus)}.get(a, a) for a in command]
    result = CliRunner().invoke(cli, ["--index", index, *args])
    if "manifest" in what and command[0] not in MANIFEST_READERS:
        assert result.exit_code == 0, result.output  # the items themselves are sound
        return
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"Error: index damaged: {what}{REBUILD}"


def test_commands_that_read_items_name_a_cut_file_of_stored_items(index: str) -> None:
    item = some_id(index)
    name = cut_stored(index)
    for command in (["search", "flood"], ["show", item], ["check"]):
        result = CliRunner().invoke(cli, ["--index", index, *command])
        assert (result.exit_code, result.stdout) == (1, ""), command
        assert result.stderr.startswith(f"Error: index damaged: {name} is cut short or corrupt (")
        assert result.stderr.endswith(REBUILD)


@pytest.mark.parametrize("damaged", ["segment-missing", "toc-cut"], indirect=True)
def test_core_raises_index_damaged_and_rebuild_recovers(
    damaged: tuple[Path, str, str, str],
) -> None:
    corpus, index, _, what = damaged
    with pytest.raises(IndexDamaged) as caught:
        facet_counts(index, "provider")
    assert caught.value.what == what
    result = CliRunner().invoke(cli, ["--index", index, "index", "--rebuild", str(corpus)])
    assert result.exit_code == 0, result.output
    check = CliRunner().invoke(cli, ["--index", index, "check"])
    assert check.exit_code == 0, check.output
    search = CliRunner().invoke(cli, ["--index", index, "search", "extra", "--format", "json"])
    assert json.loads(search.output)["total"] == 3


def test_an_unreadable_segment(index: str) -> None:
    """As in test_bad_input: root reads everything, so the command runs without the
    capabilities that override file permissions."""
    name = segments(index)[0]
    os.chmod(os.path.join(IndexDir(index).data_dir(), name), 0)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        caps = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]
    for command in (["search", "flood"], ["stats"], ["check"]):
        cmd = [*prefix, sys.executable, "-m", "searchidx", "--index", index, *command]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        assert (proc.returncode, proc.stdout) == (1, "")
        assert proc.stderr == (
            f"Error: index damaged: cannot read {data_name(index)}/{name}: "
            f"permission denied{REBUILD}"
        )


def garble_postings(index: str) -> str:
    """Overwrite a posting list of ``title:flood`` that is kept in a postings file (not
    with its term), leaving the file's length as it was."""
    from searchidx.whooshdb import bulk
    from searchidx.whooshdb.storage import open_live

    with open_live(IndexDir(index)).reader() as reader:
        for leaf, _ in reader.leaf_readers():
            terms = bulk._terms_reader(leaf)
            found = terms._tindex.get(terms._keycoder("title", b"flood"))
            if found and not found[0]:
                offset, length = bulk._EXTENT.unpack_from(found, bulk._INFO.size)
                name = leaf._segment.make_filename(".pst")
                break
        else:
            raise AssertionError("no posting list of title:flood in a postings file")
    skip = len(bulk.WHOOSH3_HEADER_MAGIC)
    with open(os.path.join(IndexDir(index).data_dir(), name), "r+b") as fh:
        fh.seek(offset + skip)
        fh.write(b"\xda" * (length - skip))
    return f"{data_name(index)}/{name}"


def cut_column(index: str) -> str:
    """Cut one segment's column of normalised titles to half its length."""
    data = IndexDir(index).data_dir()
    name = sorted(n for n in os.listdir(data) if n.endswith(".norm.col"))[0]
    path = os.path.join(data, name)
    os.truncate(path, os.path.getsize(path) // 2)
    return f"{data_name(index)}/{name}"


def cut_stored(index: str) -> str:
    """Cut the biggest segment's stored items to half their file."""
    data = IndexDir(index).data_dir()
    paths = [os.path.join(data, n) for n in os.listdir(data) if n.endswith("._stored.col")]
    path = max(paths, key=os.path.getsize)
    os.truncate(path, os.path.getsize(path) // 2)
    return f"{data_name(index)}/{os.path.basename(path)}"


def cut_dates(column: str) -> Callable[[str], str]:
    def cut(index: str) -> str:
        """Cut the biggest segment's column of dates to half its values: Whoosh leaves
        trailing default values unwritten, so the column reads as whole, its last items
        undated."""
        data = IndexDir(index).data_dir()
        paths = [os.path.join(data, n) for n in os.listdir(data) if n.endswith(f".{column}.col")]
        path = max(paths, key=os.path.getsize)
        os.truncate(path, os.path.getsize(path) // 16 * 8)
        return f"{data_name(index)}/{os.path.basename(path)}"

    return cut


def test_check_reads_every_posting_list(index: str) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["--index", index, "check"]).exit_code == 0
    name = garble_postings(index)
    check = runner.invoke(cli, ["--index", index, "check"])
    assert (check.exit_code, check.stdout) == (1, "")
    assert check.stderr == (
        f"Error: index damaged: {name} is cut short or corrupt "
        f"(invalid load key, '\\xda'.){REBUILD}"
    )
    # What reads those postings says so, naming the file; what does not still answers.
    search = runner.invoke(cli, ["--index", index, "search", "flood"])
    assert (search.exit_code, search.stdout) == (1, "")
    assert search.stderr == (
        f"Error: index damaged: {name} is cut short or corrupt "
        f"(invalid load key, '\\xda'.){REBUILD}"
    )
    assert runner.invoke(cli, ["--index", index, "search", "barrier"]).exit_code == 0


def test_check_finds_a_block_whose_packed_postings_are_not_its_own(index: str) -> None:
    """A block of positions carries its documents packed after its pickle, which
    searches read; a wrong byte there reads as a valid document, so check compares
    them with the pickle."""
    from searchidx.whooshdb import bulk

    runner = CliRunner()
    assert runner.invoke(cli, ["--index", index, "check"]).exit_code == 0
    data = IndexDir(index).data_dir()
    for name in sorted(n for n in os.listdir(data) if n.endswith(".pst")):
        path = os.path.join(data, name)
        content = Path(path).read_bytes()
        end = content.find(bulk.SIDE_MAGIC) + len(bulk.SIDE_MAGIC)
        if end >= len(bulk.SIDE_MAGIC):
            break
    else:
        raise AssertionError("no block carries its documents packed")
    start = bulk.side_start(content[:end])
    assert start is not None
    with open(path, "r+b") as fh:  # the first gap between two documents, one more
        fh.seek(start)
        fh.write(bytes([content[start] + 1]))
    check = runner.invoke(cli, ["--index", index, "check"])
    assert (check.exit_code, check.stdout) == (1, "")
    assert check.stderr == (
        f"Error: index damaged: {data_name(index)}/{name} is cut short or corrupt "
        "(the postings of excerpt are corrupt "
        f"(a block's packed documents or weights are not its own)){REBUILD}"
    )


def test_a_search_names_the_postings_file_it_finds_cut_short(index: str) -> None:
    data = IndexDir(index).data_dir()
    name = max(
        (n for n in os.listdir(data) if n.endswith(".pst")),
        key=lambda n: os.path.getsize(os.path.join(data, n)),
    )
    path = os.path.join(data, name)
    os.truncate(path, os.path.getsize(path) // 2)
    search = CliRunner().invoke(cli, ["--index", index, "search", "flood"])
    assert (search.exit_code, search.stdout) == (1, "")
    assert search.stderr.startswith(
        f"Error: index damaged: {data_name(index)}/{name} is cut short or corrupt (the postings of "
    )
    assert search.stderr.endswith(f" bytes early){REBUILD}")


def garble_term_tables(index: str) -> str:
    """Overwrite half of the hash tables after a segment's terms (what a search looks
    terms up through), leaving the terms in order as they were."""
    from searchidx.whooshdb import bulk
    from searchidx.whooshdb.storage import open_live

    with open_live(IndexDir(index)).reader() as reader:
        leaf = next(leaf for leaf, _ in reader.leaf_readers() if leaf.doc_count_all() > 10)
        end = bulk._terms_reader(leaf)._tindex.endofdata
        name = leaf._segment.make_filename(".trm")
    path = os.path.join(IndexDir(index).data_dir(), name)
    size = os.path.getsize(path)
    with open(path, "r+b") as fh:
        fh.seek(end)
        fh.write(bytes(range(256)) * ((size - end) // 512) + b"\x07" * ((size - end) // 2 % 256))
    return f"{data_name(index)}/{name}"


def remove_file(ending: str) -> Callable[[str], str]:
    def remove(index: str) -> str:
        data = IndexDir(index).data_dir()
        name = sorted(n for n in os.listdir(data) if n.endswith(ending))[-1]
        os.unlink(os.path.join(data, name))
        return f"{data_name(index)}/{name}"

    return remove


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (garble_term_tables, "is cut short or corrupt (a term of "),
        (cut_column, "is cut short or corrupt ("),
        (remove_file(".norm.col"), "is missing"),
        (remove_file("._title_len.col"), "is missing"),
        (cut_dates("published"), "is cut short or corrupt (it ends after 25 of the segment's"),
        (cut_dates("oldest"), "is cut short or corrupt (it ends after 25 of the segment's"),
        (cut_stored, "is cut short or corrupt ("),
    ],
    ids=[
        "term-tables",
        "column-cut",
        "column-missing",
        "lengths-missing",
        "published-cut",
        "oldest-cut",
        "stored-cut",
    ],
)
def test_check_reads_every_term_and_column(
    index: str, damage: Callable[[str], str], message: str
) -> None:
    name = damage(index)
    check = CliRunner().invoke(cli, ["--index", index, "check"])
    assert (check.exit_code, check.stdout) == (1, "")
    assert check.stderr.startswith(f"Error: index damaged: {name} {message}")
    assert check.stderr.endswith(REBUILD)


@pytest.mark.parametrize(
    "command",
    [["stories"], ["dupes"], ["facets", "provider", "--first"], ["search", "--collapse", "flood"]],
)
def test_commands_that_read_a_damaged_column_name_its_file(index: str, command: list[str]) -> None:
    """As check does: the column of normalised titles, which grouping reads whole."""
    name = cut_column(index)
    result = CliRunner().invoke(cli, ["--index", index, *command])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(f"Error: index damaged: {name} is cut short or corrupt (")
    assert result.stderr.endswith(REBUILD)


@pytest.mark.parametrize(("start", "end"), [(0.02, 0.98), (0.02, 0.5), (0.5, 0.98)])
def test_zeroed_bytes_in_a_segment_are_damage_not_a_traceback(
    tmp_path: Path, start: float, end: float
) -> None:
    """Whoosh reads some wrong bytes as data and fails on others with bare exceptions
    ("Block tag error", zlib errors): each command either answers or says the index is
    damaged, exit 1. CliRunner lets any other exception through, failing the test."""
    index = str(tmp_path / "index")
    runner = CliRunner()
    assert runner.invoke(cli, ["--index", index, "index", str(SAMPLES)]).exit_code == 0
    data = Path(IndexDir(index).data_dir())
    # The largest of the segment's files (postings or stored records).
    segment = max(data.glob("MAIN_*.*"), key=lambda p: p.stat().st_size)
    size = segment.stat().st_size
    with segment.open("r+b") as fh:
        fh.seek(int(size * start))
        fh.write(b"\0" * int(size * (end - start)))
    damaged = 0
    for args in (["search", "facial"], ["search", "*"], ["stories"], ["facets", "provider"]):
        result = runner.invoke(cli, ["--index", index, *args], catch_exceptions=False)
        assert result.exit_code in (0, 1), result.output
        if result.exit_code == 1:
            damaged += 1
            assert result.stderr.startswith("Error: index damaged: "), result.stderr
            assert result.stderr.endswith(REBUILD)
    assert damaged
