"""Reading article files: formats, validation, URL identity."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from searchidx.documents import (
    _FrontMatterLoader,
    is_url,
    iter_article_files,
    parse_datetime,
    parse_file,
    read_file,
    url_key,
)
from searchidx.errors import ParseError
from searchidx.feeds import parse_any_file
from tests.conftest import SAMPLES, front_matter


def parse(name: str, data: bytes | str) -> tuple[list, list[str]]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    articles, errors = parse_file(name, raw)
    return articles, [str(e) for e in errors]


def test_seed_format_is_read_in_full(seeds: Path) -> None:
    path = seeds / "000_a1be698e3989278b.txt"
    articles, errors = parse_file(str(path), path.read_bytes())
    assert errors == []
    (a,) = articles
    assert a.title == "Documents Detail New Orleans PD's Facial Recognition Use"
    assert a.provider == "Government Technology"
    assert a.domain == "govtech.com"
    assert a.topics == ["Computer Vision", "AI"]
    assert a.published == datetime(2020, 12, 17, tzinfo=UTC)
    assert (a.quality, a.heat, a.is_published, a.image_count) == (74.0, -1.0, False, 1)
    assert a.category == "news" and a.type == "article"
    assert a.web_url.startswith("https://www.govtech.com/public-safety/")
    assert [r.provider for r in a.related] == [
        "NOLA.com",
        "The Lens",
        "Governing",
        "Aclu.org",
    ]
    assert a.related[0].published == datetime(2020, 12, 14, 23, 30, tzinfo=UTC)


def test_every_sample_file_parses() -> None:
    paths = list(iter_article_files([str(SAMPLES)]))
    assert len(paths) == 34  # 31 article files, an RSS and an Atom feed, a CSV export
    total = 0
    for path in paths:
        articles, errors = parse_any_file(path, Path(path).read_bytes())
        assert errors == [], path
        total += len(articles)
    assert total == 33 + 5 + 4 + 5


def test_body_after_front_matter_is_kept() -> None:
    (a,), errors = parse("a.md", front_matter({"title": "T"}, "\nSome *Markdown* body.\n"))
    assert errors == []
    assert a.body == "Some *Markdown* body."


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("a.json", '{"title": "From JSON", "topics": ["X"]}'),
        ("a.yaml", "title: From YAML\ntopics: [X]\n"),
        ("a.yml", "---\ntitle: From YAML\ntopics: [X]\n---\n"),
        ("a.markdown", "---\ntitle: From YAML\ntopics: [X]\n---\n"),
        ("a.txt", "\ufeff---\r\ntitle: From YAML\r\ntopics: [X]\r\n---\r\n"),
    ],
)
def test_other_formats(name: str, data: str) -> None:
    (a,), errors = parse(name, data)
    assert errors == []
    assert a.title.startswith("From ")
    assert a.topics == ["X"]


HUFFPOST = (
    '{"link": "https://www.huffpost.com/entry/covid-boosters_n_632d", "headline": "Over 4 '
    'Million Americans Roll Up Sleeves", "category": "U.S. NEWS", "short_description": "Too '
    'early to predict.", "authors": "Carla K. Johnson, AP", "date": "2022-09-23"}\n'
    '{"link": "https://www.huffpost.com/entry/b_n_1", "headline": "", "date": "2022-09-22"}\n'
    '{"headline": "Wire story", "source": "Reuters", "link": "https://reuters.com/a", '
    '"date": "2022-09-21", "title": "Its own title wins"}'
)


def test_a_json_file_of_json_lines_with_dataset_names_is_read() -> None:
    # The HuffPost News Category Dataset: JSON Lines in a .json file, its own key names.
    articles, errors = parse("News_Category_Dataset_v3.json", HUFFPOST)
    assert errors == ["News_Category_Dataset_v3.json:2: title is empty"]
    assert [a.topics for a in articles] == [["U.S. NEWS"], []]
    assert [
        (a.line, a.title, a.excerpt, a.category, a.provider, a.domain, a.web_url, a.published)
        for a in articles
    ] == [
        (
            1,
            "Over 4 Million Americans Roll Up Sleeves",
            "Too early to predict.",
            "U.S. NEWS",
            "",
            "huffpost.com",
            "https://www.huffpost.com/entry/covid-boosters_n_632d",
            datetime(2022, 9, 23, tzinfo=UTC),
        ),
        (
            3,
            "Its own title wins",
            "",
            "",
            "Reuters",
            "reuters.com",
            "https://reuters.com/a",
            datetime(2022, 9, 21, tzinfo=UTC),
        ),
    ]
    # One object over several lines, or on one line, is one article, as before.
    pretty = '{\n  "headline": "Pretty",\n  "link": "https://x.com/p"\n}\n'
    assert [a.title for a in parse("p.json", pretty)[0]] == ["Pretty"]
    assert parse("two.json", '{"title": "a"}\n{"title": ')[1] == [
        "two.json:2: invalid JSON: Expecting value (column 11)"
    ]


def test_a_json_list_of_articles_is_read_each_with_its_line() -> None:
    """Exports often hold a list of articles; it was refused whole ("expected an
    article mapping, found a list")."""
    data = (
        '[\n  {"headline": "One [a], {b}", "link": "https://harborwire.com/1"},\n'
        '  {"title": 3},\n  "not an article",\n\n'
        '  {"title": "Four",\n   "url": "https://harborwire.com/4"}, {"title": "Five"}\n]\n'
    )
    articles, errors = parse("export.json", data)
    assert [(a.line, a.title, a.web_url) for a in articles] == [
        (2, "One [a], {b}", "https://harborwire.com/1"),
        (6, "Four", "https://harborwire.com/4"),
        (7, "Five", ""),
    ]
    assert errors == [
        "export.json:3: title must be text, not a number",
        "export.json:4: expected an article mapping, found text",
    ]
    assert parse("none.json", " [ ] ") == ([], [])
    assert parse("cut.json", '[{"title": "a"},\n{"title": ')[1] == [
        "cut.json:2: invalid JSON: Expecting value (column 11)"
    ]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_with_a_bom_is_read(encoding: str) -> None:
    text = '{"title": "Über den Hafen"}\n{"title": "Zweite Zeile"}'
    data = text.encode(encoding) if encoding == "utf-16" else b"\xfe\xff" + text.encode(encoding)
    articles, errors = parse("export.jsonl", data)
    assert (errors, [a.title for a in articles]) == ([], ["Über den Hafen", "Zweite Zeile"])
    assert parse("cut.jsonl", data[:-1])[1] == [
        "cut.jsonl: not UTF-16, though it starts as UTF-16 does: truncated data"
    ]


def test_jsonl_keeps_good_lines_and_reports_bad_ones() -> None:
    data = '{"title": "one"}\n\n{"title": \n{"title": "three"}\n{"title": 3}\n'
    articles, errors = parse("feed.jsonl", data)
    assert [(a.title, a.line) for a in articles] == [("one", 1), ("three", 4)]
    assert errors == [
        "feed.jsonl:3: invalid JSON: Expecting value (column 11)",
        "feed.jsonl:5: title must be text, not a number",
    ]


def test_dates_are_kept_in_utc() -> None:
    assert parse_datetime("2024-03-05T10:00:00+01:00") == datetime(2024, 3, 5, 9, tzinfo=UTC)
    assert parse_datetime("2024-03-05") == datetime(2024, 3, 5, tzinfo=UTC)


BAD_FILES = [
    ("empty.md", "", "empty.md: empty file"),
    ("blank.md", "  \n\n", "blank.md: empty file"),
    ("only.md", "---\n", "only.md: front matter has no closing '---' line"),
    ("unclosed.md", "---\ntitle: x\n", "unclosed.md: front matter has no closing '---' line"),
    (
        "nofm.md",
        "# Just Markdown\n",
        "nofm.md:1: no front matter: the file must start with a '---' line",
    ),
    ("emptyfm.md", "---\n---\nbody", "emptyfm.md:1: front matter is empty"),
    ("list.md", "---\n- a\n- b\n---\n", "list.md: expected an article mapping, found a list"),
    (
        "tabs.md",
        "---\ntitle: x\n\tquality: 3\n---\n",
        "tabs.md:3: invalid YAML: found a tab character that violates indentation",
    ),
    (
        "quote.md",
        '---\ntitle: "unclosed\nexcerpt: x\n---\n',
        "quote.md:3: invalid YAML: found unexpected end of stream",
    ),
    ("dup.md", "---\ntitle: a\ntitle: b\n---\n", "dup.md:3: invalid YAML: duplicate key 'title'"),
    ("notitle.md", "---\nexcerpt: x\n---\n", "notitle.md: missing title"),
    ("nulltitle.md", "---\ntitle:\n---\n", "nulltitle.md: title is empty"),
    ("emptytitle.md", "---\ntitle: ''\n---\n", "emptytitle.md: title is empty"),
    ("listtitle.md", "---\ntitle: [a, b]\n---\n", "listtitle.md: title must be text, not a list"),
    ("numtitle.md", "---\ntitle: 42\n---\n", "numtitle.md: title must be text, not a number"),
    (
        "date.md",
        "---\ntitle: x\npublishedDateTime: yesterday\n---\n",
        "date.md: publishedDateTime is not an ISO 8601 date-time: 'yesterday'",
    ),
    (
        "naive.md",
        "---\ntitle: x\npublishedDateTime: 2024-03-05T09:00:00\n---\n",
        "naive.md: publishedDateTime has no timezone: '2024-03-05T09:00:00'",
    ),
    (
        "year0.md",
        "---\ntitle: x\npublishedDateTime: 0000-01-01T00:00:00Z\n---\n",
        "year0.md: publishedDateTime year is out of range (1 to 9999): '0000-01-01T00:00:00Z'",
    ),
    (
        "year99999.md",
        "---\ntitle: x\npublishedDateTime: 99999-01-01T00:00:00Z\n---\n",
        "year99999.md: publishedDateTime year is out of range (1 to 9999): '99999-01-01T00:00:00Z'",
    ),
    (
        "provider.md",
        "---\ntitle: x\nprovider: Reuters\n---\n",
        "provider.md: provider must be a mapping with name and domain, not text",
    ),
    ("topics.md", "---\ntitle: x\ntopics: AI\n---\n", "topics.md: topics must be a list, not text"),
    (
        "topic.md",
        "---\ntitle: x\ntopics: [[a]]\n---\n",
        "topic.md: topics[0] must be text, not a list",
    ),
    (
        "quality.md",
        "---\ntitle: x\nquality: high\n---\n",
        "quality.md: quality must be a number, not 'high'",
    ),
    (
        "flag.md",
        "---\ntitle: x\npublished: maybe\n---\n",
        "flag.md: published must be true or false, not text",
    ),
    (
        "url.md",
        "---\ntitle: x\nwebUrl: not a url\n---\n",
        "url.md: webUrl is not a URL: 'not a url'",
    ),
    ("rel.md", "---\ntitle: x\nrelated: nope\n---\n", "rel.md: related must be a list, not text"),
    (
        "relitem.md",
        "---\ntitle: x\nrelated: [3]\n---\n",
        "relitem.md: related[0] must be a mapping, not a number",
    ),
    (
        "reltitle.md",
        "---\ntitle: x\nrelated:\n  - excerpt: y\n---\n",
        "reltitle.md: related[0]: missing title",
    ),
    (
        "relurl.md",
        "---\ntitle: x\nrelated:\n  - title: y\n    webUrl: ftp//x\n---\n",
        "relurl.md: related[0]: webUrl is not a URL: 'ftp//x'",
    ),
    (
        "recursive.md",
        "---\ntitle: x\nextra: &a [*a]\n---\n",
        "recursive.md: YAML alias refers to itself",
    ),
    ("bad.json", '{"title": ', "bad.json:1: invalid JSON: Expecting value (column 11)"),
    ("number.json", "3", "number.json: expected an article mapping, found a number"),
    ("dup.json", '{"title": "a", "title": "b"}', "dup.json: duplicate key 'title'"),
    ("nul.md", "---\ntitle: x\x00\n---\n", "nul.md: binary file: contains NUL bytes"),
    ("a.csv", "title,x\n", "a.csv: unsupported file type '.csv'"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_reported_exactly(name: str, data: str, message: str) -> None:
    articles, errors = parse(name, data)
    assert articles == []
    assert errors == [message]


def test_latin1_bytes_are_reported_with_line() -> None:
    _, errors = parse("latin.md", b"---\ntitle: caf\xe9\n---\n")
    assert errors == ["latin.md:2: not UTF-8: byte 0xe9 at offset 14"]


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    text = "---\ntitle: boom\n" + "\n".join(lines) + "\n---\n"
    _, errors = parse("bomb.md", text)
    assert errors == ["bomb.md: YAML aliases expand to more than 100,000 values"]


@pytest.mark.parametrize("depth", [101, 999, 1000, 1001, 10_000])
def test_deep_nesting_is_refused_with_one_message_whatever_the_yaml_library(depth: int) -> None:
    text = "---\ntitle: deep\nextra: " + "[" * depth + "]" * depth + "\n---\n"
    articles, errors = parse("deep.md", text)
    assert articles == []
    assert errors == ["deep.md:3: invalid YAML: nested deeper than 100 levels"]


@pytest.mark.parametrize(
    "extra",
    [
        "[" * 100 + "]" * 100,
        # Under mappings PyYAML builds itself: a key that is no text, a merge key.
        "{1: " + "[" * 99 + "]" * 99 + "}",
        "{<<: {a: " + "[" * 98 + "]" * 98 + "}}",
    ],
)
def test_nesting_up_to_the_limit_is_read(extra: str) -> None:
    text = "---\ntitle: deep\nextra: " + extra + "\n---\n"
    articles, errors = parse("deep.md", text)
    assert ([a.title for a in articles], errors) == (["deep"], [])


class _PyYAMLConstructed(_FrontMatterLoader):
    """The front-matter loader with PyYAML's own tag resolution and constructor for
    every node."""

    resolve = yaml.resolver.BaseResolver.resolve
    construct_document = yaml.constructor.BaseConstructor.construct_document


def loaded(text: str, loader: type) -> tuple[str, object]:
    try:
        return ("value", yaml.load(text, Loader=loader))
    except yaml.YAMLError as exc:
        return ("error", str(exc))


# What the loader builds itself, and what it hands to PyYAML's constructor.
YAML_CASES = [
    "title: plain\nlist: [a, 'b', \"c\"]\nmap: {x: y}",
    "n: 1\nf: 1.5\nb: true\nz: null\nd: 2024-03-05\nt: 2024-03-05T09:00:00Z",
    "a: 7\nb: 010\nc: 0\nd: 1_000\ne: -3\nf: +4\ng: 0x1f\nh: !!int 12\ni: '12'\nj: 1:30",
    "a: &x {k: v}\nb: *x\nc: [*x, *x]",
    "base: &b {k: v, j: w}\nderived:\n  <<: *b\n  j: mine",
    "s: !!str 12\nbin: !!binary aGVsbG8=\nset: !!set {a, b}\nom: !!omap [{a: 1}]",
    "1: int key\n~: null key\n[1, 2]: sequence key",
    "title: a\ntitle: b",
    "outer: {inner: x, inner: y}",
    "self: &s [a, *s]",
    "x: !custom thing",
    "?: [unhashable key]\n? [a]\n: v",
    "- a\n- {b: [c, {d: e}]}",
]


@pytest.mark.parametrize("text", YAML_CASES)
def test_loader_builds_what_pyyaml_builds(text: str) -> None:
    ours, theirs = loaded(text, _FrontMatterLoader), loaded(text, _PyYAMLConstructed)
    if "self:" in text:  # a recursive list: compare its shape
        assert ours[1]["self"][1] is ours[1]["self"]  # type: ignore[index]
        assert theirs[1]["self"][1] is theirs[1]["self"]  # type: ignore[index]
        return
    assert ours == theirs


def test_loader_shares_an_alias_like_pyyaml() -> None:
    value = yaml.load("a: &x {k: v}\nb: *x", Loader=_FrontMatterLoader)
    assert value["a"] is value["b"]


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(value=yaml_values, style=st.sampled_from([None, '"', "'", "|"]), flow=st.booleans())
def test_loader_matches_pyyaml_on_random_documents(
    value: object, style: str | None, flow: bool
) -> None:
    text = yaml.safe_dump(value, default_style=style, default_flow_style=flow, allow_unicode=True)
    assert loaded(text, _FrontMatterLoader) == loaded(text, _PyYAMLConstructed)


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    with open(big, "wb") as fh:
        fh.truncate(11 * 1024 * 1024)
    with pytest.raises(ParseError) as info:
        read_file(str(big))
    assert str(info.value) == f"{big}: file is 11,534,336 bytes, over the 10,485,760-byte limit"


@pytest.mark.skipif(not os.path.exists("/proc/self/cmdline"), reason="needs Linux /proc")
def test_file_longer_than_its_stat_size_is_read_whole() -> None:
    # /proc files report size 0, as a file does that grows after it was stat'ed.
    assert os.stat("/proc/self/cmdline").st_size == 0
    data, _ = read_file("/proc/self/cmdline")
    assert data == Path("/proc/self/cmdline").read_bytes()
    assert len(data) > 1


def test_walk_skips_hidden_and_foreign_files(tmp_path: Path) -> None:
    for name in [
        "a.md",
        "b.txt",
        "c.json",
        "d.jsonl",
        "e.yaml",
        "f.yml",
        "g.markdown",
        "i.rss",
        "j.atom",
        "k.xml",
        "l.csv",
        "m.tsv",
        "skip.pdf",
        ".hidden.md",
        ".git/x.md",
        "sub/h.md",
        "sub/.cache/y.md",
    ]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    found = [Path(p).relative_to(tmp_path).as_posix() for p in iter_article_files([str(tmp_path)])]
    assert found == [
        "a.md",
        "b.txt",
        "c.json",
        "d.jsonl",
        "e.yaml",
        "f.yml",
        "g.markdown",
        "i.rss",
        "j.atom",
        "k.xml",
        "l.csv",
        "m.tsv",
        "sub/h.md",
    ]


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://www.nola.com/news/a.html", "nola.com/news/a.html"),
        ("http://nola.com/news/a.html", "nola.com/news/a.html"),
        ("https://www.nola.com/news/a.amp.html", "nola.com/news/a.html"),
        (
            "https://www-nola-com.cdn.ampproject.org/c/s/www.nola.com/news/a.amp.html",
            "nola.com/news/a.html",
        ),
        ("https://www.govtech.com/x/Doc.html?AMP", "govtech.com/x/Doc.html"),
        ("https://thelensnola.org/2020/12/14/city/", "thelensnola.org/2020/12/14/city"),
        ("https://example.com/story/amp/", "example.com/story"),
        ("https://example.com/a?utm_source=tw&id=3#top", "example.com/a?id=3"),
        ("https://example.com/a?b=2&a=1", "example.com/a?a=1&b=2"),
        ("http://www.example.com/a\\?track=rss", "example.com/a?track=rss"),
        ("https://Example.COM/Path", "example.com/Path"),
    ],
)
def test_url_identity(url: str, key: str) -> None:
    assert url_key(url) == key


def _is_url_by_splitting(text: str) -> bool:
    """``is_url`` without its shortcut for plain URLs."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname) and " " not in text


_URL_PIECES = ["http", "https", "HTTPS", "ftp", "://", ":/", "x.com", "a", ".", "-", "_", "/"]
_URL_PIECES += ["?q=1", "#f", " ", "\t", "\n", "@", ":80", ":x", "[::1]", "[", "é", "%20", ""]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(_URL_PIECES), max_size=7).map("".join))
def test_is_url_says_what_splitting_the_url_says(text: str) -> None:
    assert is_url(text) == _is_url_by_splitting(text)
