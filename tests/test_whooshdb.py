"""The Whoosh backend's own parts: the analyzers of the schema (acronyms, stems, folded
accents), and reading the files of a data folder (which file is damaged, which files
no table of contents refers to)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchidx.indexing import update_index
from searchidx.store import IndexDir
from searchidx.whooshdb.schema import (
    _indexer,
    _whooshs_index,
    build_schema,
    text_analyzer,
    word_analyzer,
)
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
        # Stems: "used" is "use", never "us" (Porter's stem, the plain word of "US") or
        # "u.s"; "us" is "us"; a dotted number is left alone.
        ("used", ["use"], ["use"]),
        ("using uses useful", ["use", "use", "use"], ["use", "use", "use"]),
        ("us", ["us"], ["us"]),
        ("Recognised recognise", ["recognis", "recognis"], ["recognis", "recognis"]),
        ("immigration", ["immigr"], ["immigr"]),
        ("3.5", ["3.5"], ["3.5"]),
        # A number's thousands separators are dropped; other commas split words.
        ("2,000 jobs", ["2000", "job"], ["2000", "job"]),
        ("1,250,000.5", ["1250000.5"], ["1250000.5"]),
        ("2,0001 1,2,3 12,34", ["2", "0001", "1", "2", "3", "12", "34"], None),
        ("the 2,000s", ["the", "2", "000"], None),
        # Accents folded (after stemming).
        ("Zoë", ["zoe"], ["zoe"]),
        ("São Paulo", ["sao", "paulo"], ["sao", "paulo"]),
        ("naïve flooding", ["naiv", "flood"], ["naiv", "flood"]),
    ],
)
def test_text_analyzer(text: str, indexed: list[str], queried: list[str] | None) -> None:
    assert terms(text_analyzer(), text) == indexed
    assert terms(text_analyzer(), text, "query") == (indexed if queried is None else queried)


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


_SCHEMA = build_schema()
_WORDS = st.sampled_from(
    ["US", "U.S.", "u.s.", "e.g.", "NATO", "Zoë", "ÉTÉ", "İstanbul", "3.5", "used", "naïve",
     "flooding", "A.B", "x.Y.z.", "COVID-19", "ǅemal", "straße", "ÆON", "it's", "Ωmega", "Hi",
     "2,000", "1,250,000.5", "12,34", "2,0001", "٣,٠٠٠"]
)  # fmt: skip


@given(
    st.lists(st.one_of(_WORDS, st.text(max_size=12)), max_size=12),
    st.sampled_from(["", " ", ". ", "-", "\n", ","]),
)
@settings(max_examples=400)
def test_text_fields_index_as_whooshs_analyzers_do(words: list[str], sep: str) -> None:
    text = sep.join(words)
    for name in ("title", "title_w", "alt_titles", "excerpt", "excerpt_w", "body", "body_w"):
        field = _SCHEMA[name]
        indexer = _indexer(field)
        assert indexer is not None
        assert sorted(indexer(text)) == sorted(_whooshs_index(field, text)), name


def test_other_analyzers_are_left_to_whoosh() -> None:
    from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer
    from whoosh.fields import TEXT
    from whoosh.support.charset import accent_map

    from searchidx.whooshdb.schema import AcronymFilter, StemUnlessAcronym

    assert _indexer(TEXT()) is None  # Whoosh's standard analyzer: stop words, lengths
    field = TEXT(analyzer=word_analyzer())
    assert field.index("Flood barrier") is not None
    assert sorted(field.index("Flood barrier")) == sorted(_whooshs_index(field, "Flood barrier"))
    # another language's stemmer
    french = RegexTokenizer() | AcronymFilter() | LowercaseFilter() | StemUnlessAcronym(lang="fr")
    assert _indexer(TEXT(analyzer=french | CharsetFilter(accent_map))) is None
    # a field changed after it first indexed
    field = _SCHEMA["title_w"].__class__(analyzer=word_analyzer(), field_boost=3.0)
    assert sorted(field.index("Flood US")) == sorted(_whooshs_index(field, "Flood US"))
    field.format.field_boost = 5.0
    assert sorted(field.index("Flood US")) == sorted(_whooshs_index(field, "Flood US"))
    field.analyzer = text_analyzer()
    assert sorted(field.index("Flooding")) == sorted(_whooshs_index(field, "Flooding"))


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


@pytest.mark.parametrize("name", ["norm", "title", "provider", "domain", "id", "title_w"])
def test_field_terms_read_at_once_equal_whooshs_lexicon(
    updated_index: tuple[str, dict[str, str]], name: str
) -> None:
    from searchidx.whooshdb.bulk import field_terms

    with open_live(IndexDir(updated_index[0])).reader() as reader:
        leaves = reader.leaf_readers()
        assert len(leaves) > 1
        found = 0
        for leaf, _ in leaves:
            terms = field_terms(leaf, name)
            assert terms == list(leaf.lexicon(name))
            found += len(terms)
        assert found > 0


def test_field_terms_of_a_field_no_item_has(updated_index: tuple[str, dict[str, str]]) -> None:
    from searchidx.whooshdb.bulk import field_terms

    with open_live(IndexDir(updated_index[0])).reader() as reader:
        assert [field_terms(leaf, "cites") for leaf, _ in reader.leaf_readers()] == [[]] * len(
            reader.leaf_readers()
        )
        assert field_terms(reader.leaf_readers()[0][0], "norm") != []


def test_posting_ids_read_a_block_at_once_equal_whooshs_postings(
    updated_index: tuple[str, dict[str, str]],
) -> None:
    from searchidx.whooshdb.bulk import field_terms, posting_ids

    with open_live(IndexDir(updated_index[0])).reader() as reader:
        compared = deleted = 0
        for leaf, _ in reader.leaf_readers():
            for term in field_terms(leaf, "norm"):
                word = term.decode("utf-8")
                live = list(leaf.postings("norm", word).all_ids())
                assert posting_ids(leaf, "norm", word) == live
                compared += len(live)
                deleted += leaf.doc_frequency("norm", word) - len(live)
            assert posting_ids(leaf, "norm", "nosuchword") == []
        assert compared > 1000  # long posting lists, of several blocks
        assert deleted > 0  # and deleted items left out


def test_the_terms_and_postings_readers_have_what_bulk_reads(sample_index: str) -> None:
    from searchidx.whooshdb.bulk import TERMS_PARTS, TINDEX_PARTS, _read_postings, _terms_reader

    with open_live(IndexDir(sample_index)).reader() as reader:
        leaf = reader.leaf_readers()[0][0]
        terms = _terms_reader(leaf)
        assert terms is not None
        assert [p for p in TERMS_PARTS if not hasattr(terms, p)] == []
        assert [p for p in TINDEX_PARTS if not hasattr(terms._tindex, p)] == []
        word = max(leaf.lexicon("title"), key=lambda t: leaf.doc_frequency("title", t))
        # Its posting list is read here as Whoosh writes it, not through Whoosh's matcher.
        found = terms._tindex.get(terms._keycoder("title", word))
        whooshs = list(terms.matcher("title", word, leaf.schema["title"].format).all_ids())
        assert _read_postings(terms, "title", found) == whooshs
        assert len(whooshs) > 1
        # Ranking in bulk reads the same list with its weights and positions.
        from searchidx.whooshdb.bulk import postings_with_weights

        matcher = terms.matcher("title", word, leaf.schema["title"].format)
        weights, positions = [], []
        while matcher.is_active():
            weights.append(matcher.weight())
            positions.append(matcher.value())
            matcher.next()
        assert postings_with_weights(leaf, "title", word, values=True) == (
            whooshs,
            weights,
            positions,
        )
        assert postings_with_weights(leaf, "title", word, wanted=whooshs[-1:]) == (
            whooshs[-1:],
            weights[-1:],
            [],
        )


@pytest.mark.parametrize("text", ["apple", "samsung shares", "court OR vote", "bank -deal"])
def test_scores_with_lengths_in_memory_equal_whooshs(
    updated_index: tuple[str, dict[str, str]], text: str
) -> None:
    from searchidx.engine import Index
    from searchidx.query import Filters
    from searchidx.whooshdb.query import parse_query

    with Index(updated_index[0]) as index, open_live(IndexDir(updated_index[0])).searcher() as own:
        snap = index.snapshot()
        ranked = snap.rank(text, Filters(), literal=False, sort="relevance", fetch=None)
        assert ranked.total > 10
        q = parse_query(own.schema, text, snap=snap)  # the same query, run by each
        whooshs = own.search(q, limit=None)
        assert [(h.docnum, h.score) for h in whooshs] == list(
            zip(ranked.rows, ranked.scores, strict=True)
        )
        kept = [leaf._perdoc._readers for leaf, _ in snap.reader.leaf_readers()]
        assert any(type(r) is bytes for readers in kept for r in readers.values())


def test_the_per_document_reader_has_what_lengths_in_memory_uses(sample_index: str) -> None:
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
    from whoosh.columns import NumericColumn

    from searchidx.whooshdb.bulk import LENGTHS_PARTS, PERDOC_PARTS

    with open_live(IndexDir(sample_index)).reader() as reader:
        perdoc = reader.leaf_readers()[0][0]._perdoc
        assert [p for p in PERDOC_PARTS if not hasattr(perdoc, p)] == []
        lengths = perdoc._cached_reader(_lenfield("title"), LENGTHS_COLUMN)
        assert type(lengths) is NumericColumn.Reader
        assert [p for p in LENGTHS_PARTS if not hasattr(lengths, p)] == []


def test_live_rows_read_segment_by_segment_equal_whooshs(
    updated_index: tuple[str, dict[str, str]],
) -> None:
    from searchidx.engine import Index

    with Index(updated_index[0]) as index:
        snap = index.snapshot()
        live = list(snap.live())
        assert live == list(snap.reader.all_doc_ids())
        assert len(live) == snap.count() < snap.rows()


@pytest.mark.parametrize("name", ["id", "norm", "provider_name", "domain"])
def test_mapped_columns_equal_whooshs_reader(
    updated_index: tuple[str, dict[str, str]], name: str
) -> None:
    from searchidx.engine import Index
    from searchidx.whooshdb.bulk import MappedColumn
    from searchidx.whooshdb.schema import column_reader

    with Index(updated_index[0]) as index:
        snap = index.snapshot()
        column = snap.column(name, translate=False)
        assert type(column) is MappedColumn
        whooshs = column_reader(snap.reader, name, translate=False)
        assert len(column) == snap.rows()
        assert [column[row] for row in range(snap.rows())] == list(whooshs)
        assert list(column) == list(whooshs)
        with pytest.raises(IndexError):
            column[snap.rows()]
    with pytest.raises(ValueError, match="closed"):
        column[0]  # the snapshot closed its maps


def test_a_cut_column_file_is_found_when_mapped(updated: str) -> None:
    from searchidx.errors import IndexDamaged
    from searchidx.searching import search

    data = Path(IndexDir(updated).data_dir())
    norm = max(data.glob("*.norm.col"), key=lambda p: p.stat().st_size)
    norm.write_bytes(norm.read_bytes()[:-30])
    with pytest.raises(IndexDamaged, match="cut short or corrupt"):
        search(updated, "harbor")


def test_a_column_not_in_a_file_is_read_by_whoosh() -> None:
    from whoosh.filedb.filestore import RamStorage

    from searchidx.whooshdb.bulk import MappedColumn
    from searchidx.whooshdb.schema import build_schema

    ix = RamStorage().create_index(build_schema())
    with ix.writer() as writer:
        writer.add_document(id="a", norm="harbor story", data="{}")
    with ix.reader() as reader:
        assert reader.doc_count_all() == 1
        assert MappedColumn.of(reader, "norm") is None
        assert list(reader.column_reader("norm", translate=False)) == [b"harbor story"]


@pytest.mark.parametrize("mapped", [True, False])
def test_titles_sized_count_characters_not_bytes(
    tmp_path: Path, mapped: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The normalised titles of some rows within a length in characters: accents take
    two bytes, CJK three, an emoji four; a title's bytes alone must not leave it out.
    The same through Whoosh's column reader, when the column is not memory-mapped."""
    from searchidx.backend import column_texts
    from searchidx.engine import index_at
    from searchidx.whooshdb.bulk import MappedColumn

    if not mapped:
        monkeypatch.setattr(MappedColumn, "of", classmethod(lambda cls, reader, name: None))

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    titles = ["Port strike", "Café crème brûlée", "東京 株価 上昇", "Storm 🌀🌀🌀", "Ab", "Mayor"]
    for n, title in enumerate(titles * 2):  # updated: two segments
        (corpus / f"{n}.md").write_text(front_matter(article(title, f"https://a.example/{n}")))
        if n == len(titles) - 1:
            update_index(str(tmp_path / "index"), [str(corpus)], jobs=1)
    update_index(str(tmp_path / "index"), [str(corpus)], jobs=1)
    snap = index_at(str(tmp_path / "index")).snapshot()
    assert isinstance(snap.column("norm", translate=False), MappedColumn) == mapped
    norms = column_texts(snap, "norm")
    rows = list(snap.live())
    assert max(len(n.encode()) - len(n) for n in norms) > 6  # multi-byte titles are there
    for least in range(0, 20):
        for most in range(least, 20):
            kept = [r for r in rows if least <= len(norms[r]) <= most]
            assert snap.titles_sized(rows, least, most) == (kept, [norms[r] for r in kept])
    assert snap.titles_sized(rows, 8, 8)[1] == ["東京 株価 上昇"] * 2  # 20 bytes


@pytest.mark.parametrize("guess", [64, 0])
def test_term_index_finds_what_whooshs_reader_finds(
    updated_index: tuple[str, dict[str, str]], guess: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every title word of every segment, and words no segment has, looked up in the
    file as Whoosh looks them up (a term's information read with its key, or apart
    when longer than guessed); a word's count over the segments."""
    from searchidx.engine import index_at
    from searchidx.whooshdb import bulk
    from searchidx.whooshdb.bulk import TermIndex, field_terms, term_documents

    monkeypatch.setattr(bulk, "_VALUE_GUESS", guess)

    with open_live(IndexDir(updated_index[0])).reader() as reader:
        words: set[bytes] = set()
        looked = 0
        for leaf, _ in reader.leaf_readers():
            index = TermIndex.of(leaf)
            assert index is not None
            mine = field_terms(leaf, "norm")
            words.update(mine)
            for word in [*mine, b"nosuchword", b""]:
                found = index.value("norm", word)
                assert (found is None) == (("norm", word) not in leaf)
                if found is not None:
                    assert found == leaf._terms._tindex.get(_key(leaf, word))
                    assert term_documents(found) == leaf.doc_frequency("norm", word)
                    looked += 1
            assert index.value("nosuchfield", b"apple") is None
        assert looked > 100
        snap = index_at(updated_index[0]).snapshot()
        for word in [w.decode("utf-8") for w in sorted(words)] + ["nosuchword"]:
            assert snap.title_word_count(word) == reader.doc_frequency("norm", word)


def _key(leaf: object, word: bytes) -> bytes:
    key: bytes = leaf._terms._keycoder("norm", word)  # type: ignore[attr-defined]
    return key
