"""The Whoosh backend's own parts: the analyzers of the schema (acronyms, stems, folded
accents), and reading the files of a data folder (which file is damaged, which files
no table of contents refers to)."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchidx.indexing import update_index
from searchidx.store import IndexDir
from searchidx.whooshdb.schema import text_analyzer, word_analyzer
from searchidx.whooshdb.storage import damaged_file, open_live, orphan_files
from tests.conftest import article, front_matter


def terms(analyzer: object, text: str, mode: str = "index") -> list[str]:
    assert callable(analyzer)
    return [t.text for t in analyzer(text, mode=mode)]


@pytest.mark.parametrize(
    ("text", "indexed", "queried"),
    [
        # Acronyms: a dotted term of their own, and when indexing the plain word too.
        ("US", ["u.s", "us"], ["u.s"]),
        ("U.S.", ["u.s", "us"], ["u.s"]),
        ("u.s.", ["u.s", "us"], ["u.s"]),
        ("IT", ["i.t", "it"], ["i.t"]),
        ("NATO", ["n.a.t.o", "nato"], ["n.a.t.o"]),
        ("NEWS", ["n.e.w.s", "new"], ["n.e.w.s"]),
        ("COVID-19", ["c.o.v.i.d", "covid", "19"], ["c.o.v.i.d", "19"]),
        # Not acronyms: lower case, a capital and lower case, six capitals, one letter.
        ("us", ["us"], ["us"]),
        ("It", ["it"], ["it"]),
        ("ABCDEF", ["abcdef"], ["abcdef"]),
        ("A", ["a"], ["a"]),
        # Stems: "used" is "us", never "u.s"; a dotted number is left alone.
        ("used", ["us"], ["us"]),
        ("Recognised recognise", ["recognis", "recognis"], ["recognis", "recognis"]),
        ("immigration", ["immigr"], ["immigr"]),
        ("3.5", ["3.5"], ["3.5"]),
        # Accents folded (after stemming).
        ("Zoë", ["zoe"], ["zoe"]),
        ("São Paulo", ["sao", "paulo"], ["sao", "paulo"]),
        ("naïve flooding", ["naiv", "flood"], ["naiv", "flood"]),
    ],
)
def test_text_analyzer(text: str, indexed: list[str], queried: list[str]) -> None:
    assert terms(text_analyzer(), text) == indexed
    assert terms(text_analyzer(), text, "query") == queried


@pytest.mark.parametrize(
    ("text", "indexed"),
    [
        ("immigration", ["immigration"]),
        ("used", ["used"]),
        ("Recognised", ["recognised"]),
        ("US", ["u.s", "us"]),
        ("NEWS", ["n.e.w.s", "news"]),
        ("naïve Café", ["naive", "cafe"]),
    ],
)
def test_word_analyzer_does_not_stem(text: str, indexed: list[str]) -> None:
    assert terms(word_analyzer(), text) == indexed


@pytest.fixture
def updated(tmp_path: Path) -> str:
    """An index updated twice: three segments."""
    corpus, index = tmp_path / "corpus", str(tmp_path / "index")
    corpus.mkdir()
    for step in range(3):
        for n in range(5 * step, 5 * step + 5):
            fields = article(f"Harbor story {n}", f"https://harborwire.com/{n}")
            (corpus / f"{n:02}.md").write_text(front_matter(fields), encoding="utf-8")
        assert update_index(index, [str(corpus)], jobs=1).failed == 0
    return index


def segment_terms(index: str) -> list[Path]:
    """Each segment's terms file, in the order of the table of contents."""
    ix = open_live(IndexDir(index))
    return [
        Path(ix.storage.folder, seg.make_filename(seg.codec().TERMS_EXT)) for seg in ix._segments()
    ]


def test_damaged_file_names_the_first_unreadable_file(updated: str) -> None:
    ixdir = IndexDir(updated)
    assert damaged_file(ixdir) is None
    files = segment_terms(updated)
    assert len(files) == 3
    for cut in (files[2], files[1]):
        cut.write_bytes(cut.read_bytes()[:40])
        assert damaged_file(ixdir) == f"data-1/{cut.name}"
    toc = Path(ixdir.data_dir(), f"_MAIN_{open_live(ixdir).latest_generation()}.toc")
    toc.write_bytes(toc.read_bytes()[:20])
    assert damaged_file(ixdir) == f"data-1/{toc.name}"


def test_damaged_file_of_no_index_is_none(tmp_path: Path) -> None:
    assert damaged_file(IndexDir(str(tmp_path / "none"))) is None


def test_orphan_files(updated: str) -> None:
    ixdir = IndexDir(updated)
    data_dir = ixdir.data_dir()
    generation = open_live(ixdir).latest_generation()
    assert orphan_files(data_dir, generation) == []
    for name in (f"_MAIN_{generation - 1}.toc", "MAIN_zzzzzzzzzzzzzzzz.trm", "notes.txt"):
        Path(data_dir, name).write_bytes(b"")
    assert orphan_files(data_dir, generation) == [
        "MAIN_zzzzzzzzzzzzzzzz.trm",
        f"_MAIN_{generation - 1}.toc",
    ]


@pytest.mark.parametrize(
    "name", ["id", "norm", "provider", "provider_name", "domain", "month", "gist", "oldest"]
)
def test_column_values_read_at_once_equal_those_read_one_by_one(
    updated_index: tuple[str, dict[str, str]], name: str
) -> None:
    from searchidx.engine import Index

    with Index(updated_index[0]) as index:
        snap = index.snapshot()
        assert snap.rows() > snap.count()  # deleted items' rows are there too
        values = snap.column_values(name)
        assert len(values) == snap.rows()
        assert values == list(snap.column(name, translate=False))
