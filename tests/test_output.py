"""Rendering results: exact text for people, exact CSV, JSON and JSON Lines for machines,
from results built by hand (no index is read)."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchidx import output
from searchidx.copies import Cluster, DupesResult, Member
from searchidx.facets import Bucket, FacetResult
from searchidx.indexing import IndexSummary
from searchidx.output import (
    DUPES_COLUMNS,
    Style,
    bar,
    display_path,
    dupes_rows,
    human_size,
    lag,
    located,
    render_dupes,
    render_facets,
    render_facets_csv,
    render_hits_csv,
    render_item,
    render_search,
    render_stats,
    render_summary,
    shortened,
    to_csv,
    to_json,
    to_jsonl,
)
from searchidx.searching import Hit, SearchResult
from searchidx.show import Item, ItemRef
from searchidx.stats import Stats

PLAIN = Style(False)


@pytest.fixture(autouse=True)
def outside_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths in these results lie outside the working folder: shown as they are."""
    monkeypatch.chdir(tmp_path)


def search_result() -> SearchResult:
    first = Hit(
        id="a1b2c3d4e5f60718",
        kind="article",
        title="Flood barrier approved",
        excerpt="The council approved a flood barrier on Tuesday.",
        provider="Harbor Wire",
        domain="harborwire.com",
        topics=["Climate", "Local politics"],
        published="2024-03-05T09:00:00Z",
        url="https://harborwire.com/a",
        path="",
        line=None,
        score=12.5,
        similar=2,
        also=["Bay Chronicle", "Coastal Daily"],
    )
    second = Hit(
        id="ffffeeeeddddcccc",
        kind="related",
        title='Barrier vote, with "quotes", commas',
        excerpt="",
        provider="",
        domain="",
        topics=[],
        published=None,
        url="",
        path="/elsewhere/bulletins.csv",
        line=1432,
        score=None,
        match="partial",
    )
    return SearchResult(
        query="flood barrier",
        total=7,
        page=2,
        limit=2,
        sort="relevance",
        filters={"providers": ["Harbor Wire"], "kind": "article"},
        partial=True,
        suggestion="flood barrier",
        provider_suggestions=["Harbor Wire", "Harbour Times"],
        terms=["barrier", "flood"],
        seconds=0.0123,
        hits=[first, second],
    )


SEARCH_TEXT = """\
7 results for 'flood barrier' (12 ms) [provider: Harbor Wire; kind: article]
No item has all the words; showing the best partial matches.
Did you mean: flood barrier?
No such provider is known. Closest: Harbor Wire, Harbour Times

  3. Flood barrier approved
     Harbor Wire · 2024-03-05 09:00 · article · id a1b2c3d4e5f60718 · +2 similar
     also: Bay Chronicle, Coastal Daily
     The council approved a flood barrier on Tuesday.
     https://harborwire.com/a

  4. Barrier vote, with "quotes", commas
     (no provider) · (no date) · related · id ffffeeeeddddcccc
     /elsewhere/bulletins.csv:1432

showing 3-4 of 7; --page 3 for more"""


def test_render_search() -> None:
    assert render_search(search_result(), PLAIN) == SEARCH_TEXT


def test_render_search_in_colour_marks_the_matched_words() -> None:
    text = render_search(search_result(), Style(True))
    assert text.splitlines()[5] == "  3. \x1b[1;33mFlood\x1b[0m \x1b[1;33mbarrier\x1b[0m approved"
    assert text.splitlines()[8] == (
        "     The council approved a \x1b[1;33mflood\x1b[0m \x1b[1;33mbarrier\x1b[0m on Tuesday."
    )
    # Without its escapes, it is the plain text.
    for code in ("\x1b[1;33m", "\x1b[1m", "\x1b[2m", "\x1b[36m", "\x1b[0m"):
        text = text.replace(code, "")
    assert text == SEARCH_TEXT


def test_render_search_of_a_page_past_the_last() -> None:
    r = search_result()
    r.page, r.hits, r.partial, r.suggestion, r.provider_suggestions, r.filters = (
        9,
        [],
        False,
        None,
        [],
        {},
    )
    assert render_search(r, PLAIN) == (
        "7 results for 'flood barrier' (12 ms)\n(page 9 is past the last result)"
    )


def test_render_hits_csv() -> None:
    assert render_hits_csv(search_result()) == (
        "id,kind,title,excerpt,provider,domain,topics,published,url,path,line,score,match,"
        "similar,also\n"
        "a1b2c3d4e5f60718,article,Flood barrier approved,"
        "The council approved a flood barrier on Tuesday.,Harbor Wire,harborwire.com,"
        "Climate; Local politics,2024-03-05T09:00:00Z,https://harborwire.com/a,,,12.5,all,2,"
        "Bay Chronicle; Coastal Daily\n"
        'ffffeeeeddddcccc,related,"Barrier vote, with ""quotes"", commas",,,,,,,'
        "/elsewhere/bulletins.csv,1432,,partial,0,\n"
    )


def test_to_csv_keeps_the_columns_asked_for_in_order() -> None:
    rows: list[dict[str, object]] = [
        {"b": 2, "a": "x, y", "extra": "dropped"},
        {"a": ["one", "two"]},
    ]
    assert to_csv(rows, ("a", "b")) == 'a,b\n"x, y",2\none; two,\n'
    assert to_csv([], ("a", "b")) == "a,b\n"


def test_render_summary() -> None:
    summary = IndexSummary(
        index="idx",
        added=3,
        updated=1,
        unchanged=1,
        failed=1,
        skipped=14,
        seconds=1.234,
        files=1,
        items=12,
    )
    assert render_summary(summary) == (
        "added 3, updated 1, removed 0, unchanged 1, failed 1, skipped 14 records in 1.23s "
        "(12 items from 1 file in idx)"
    )
    summary.skipped = 1
    assert render_summary(summary).startswith(
        "added 3, updated 1, removed 0, unchanged 1, failed 1, skipped 1 record in "
    )


@pytest.mark.parametrize(
    ("stats", "text"),
    [
        (
            Stats(
                index="idx",
                items=50,
                articles=46,
                related=4,
                files=34,
                providers=13,
                topics=13,
                first_published="2023-05-09T13:00:00Z",
                last_published="2024-06-12T15:00:00Z",
                size_bytes=1536 * 1024,
                last_update="2024-06-13T10:00:00+00:00",
                schema_version=6,
            ),
            "index:     idx\n"
            "items:     50 (46 articles, 4 related)\n"
            "files:     34\n"
            "providers: 13\n"
            "topics:    13\n"
            "published: 2023-05-09 13:00 to 2024-06-12 15:00\n"
            "size:      1.5 MiB\n"
            "updated:   2024-06-13T10:00:00+00:00\n"
            "schema:    version 6",
        ),
        (
            Stats(
                index="empty",
                items=0,
                articles=0,
                related=0,
                files=0,
                providers=0,
                topics=0,
                first_published=None,
                last_published=None,
                size_bytes=512,
                last_update="",
                schema_version=6,
            ),
            "index:     empty\n"
            "items:     0 (0 articles, 0 related)\n"
            "files:     0\n"
            "providers: 0\n"
            "topics:    0\n"
            "published: (no dates)\n"
            "size:      512 B\n"
            "updated:   (never)\n"
            "schema:    version 6",
        ),
    ],
    ids=["full", "empty"],
)
def test_render_stats(stats: Stats, text: str) -> None:
    assert render_stats(stats) == text


@pytest.mark.parametrize(
    ("name", "domain", "line"),
    [
        ("Harbor Wire", "harborwire.com", "Harbor Wire (harborwire.com)"),
        ("Harbor Wire", "", "Harbor Wire"),
        ("", "huffpost.com", "huffpost.com (no name given)"),
        ("", "", ""),
    ],
)
def test_provider_line(name: str, domain: str, line: str) -> None:
    assert output._provider_line(name, domain) == line


def test_render_item() -> None:
    item = Item(
        id="a1b2c3d4e5f60718",
        kind="article",
        title="Flood barrier approved",
        titles=["Flood barrier approved", "Barrier approved"],
        excerpt="The council approved it.",
        provider="Harbor Wire",
        domain="harborwire.com",
        topics=["Climate"],
        category="news",
        type="article",
        published="2024-03-05T09:00:00Z",
        quality=87.5,
        heat=3.0,
        is_published=True,
        images=0,
        url="https://harborwire.com/a",
        urls=["https://harborwire.com/a", "https://m.harborwire.com/a"],
        path="/elsewhere/a.md",
        line=3,
        related=[
            ItemRef(
                "0000000000000001",
                "related",
                "Council backs barrier",
                "Bay Chronicle",
                "2024-03-05T11:00:00Z",
                "https://bay.example/x",
            )
        ],
        cited_by=[ItemRef("0000000000000002", "article", "Later take", "", None, "")],
    )
    assert render_item(item, PLAIN) == (
        "Flood barrier approved\n"
        "  also titled: Barrier approved\n"
        "  id:        a1b2c3d4e5f60718\n"
        "  kind:      article\n"
        "  provider:  Harbor Wire (harborwire.com)\n"
        "  published: 2024-03-05 09:00\n"
        "  topics:    Climate\n"
        "  category:  news\n"
        "  type:      article\n"
        "  quality:   87.5\n"
        "  heat:      3\n"
        "  status:    published\n"
        "  url:       https://harborwire.com/a\n"
        "  path:      /elsewhere/a.md:3\n"
        "  also at:   https://m.harborwire.com/a\n"
        "\n"
        "  The council approved it.\n"
        "\n"
        "Related coverage (1):\n"
        "  0000000000000001  2024-03-05 11:00  Bay Chronicle: Council backs barrier\n"
        "\n"
        "Cited by (1):\n"
        "  0000000000000002  (no date)  (no provider): Later take"
    )


def providers_result() -> FacetResult:
    return FacetResult(
        field="provider",
        query="flood",
        total=9,
        distinct=2,
        buckets=[
            Bucket("Harbor Wire", 5, ["harborwire.com"]),
            Bucket("Bay Chronicle", 3),
            Bucket("(none)", 1),
        ],
        filters={"topics": ["Climate", "AI"]},
    )


def test_render_facets() -> None:
    assert render_facets(providers_result(), PLAIN) == (
        "provider counts of items matching 'flood' [topics: Climate, AI]\n"
        "provider       count   share\n"
        "Harbor Wire        5   55.6%  ████████████████████████  harborwire.com\n"
        "Bay Chronicle      3   33.3%  ██████████████▍\n"
        "(none)             1   11.1%  ████▊\n"
        "9 items, 2 providers"
    )


def test_render_facets_by_domain_with_hidden_values() -> None:
    result = FacetResult(
        field="domain",
        query=None,
        total=10,
        distinct=1,
        buckets=[Bucket("harborwire.com", 8, ["Harbor Wire"])],
        other=2,
        hidden=1,
        by_domain=True,
    )
    assert render_facets(result, PLAIN) == (
        "domain          count   share\n"
        "harborwire.com      8   80.0%  ████████████████████████  Harbor Wire\n"
        "… 1 more value (2 items)\n"
        "10 items, 1 domain"
    )


def test_render_facets_csv() -> None:
    assert render_facets_csv(providers_result()) == (
        "value,count,share,also\n"
        "Harbor Wire,5,0.555556,harborwire.com\n"
        "Bay Chronicle,3,0.333333,\n"
        "(none),1,0.111111,\n"
    )


FIRST = Member(
    "a1",
    "article",
    "Flood barrier approved",
    "Harbor Wire",
    "2024-03-05T09:00:00Z",
    "https://harborwire.com/a",
    "",
    None,
    100.0,
)
SECOND = Member(
    "b2",
    "related",
    "Flood barrier is approved",
    "Bay Chronicle",
    "2024-03-06T12:30:00Z",
    "",
    "/x/b.jsonl",
    12,
    93.4,
)
UNDATED = Member(
    "c3", "article", "Flood barrier approved", "", None, "https://c.example/c", "", None, 100.0
)


def dupes_result() -> DupesResult:
    return DupesResult(
        threshold=90,
        window_days=3,
        query="flood",
        items=40,
        clusters=[Cluster(3, [FIRST, SECOND, UNDATED]), Cluster(2, [FIRST, UNDATED])],
        total_clusters=5,
        filters={"kind": "article"},
    )


CLUSTER_TEXT = """\
[1] Flood barrier approved  (3 items, 3 providers)
    2024-03-05 09:00  Harbor Wire    article  100.0  a1  https://harborwire.com/a
    +1d3h             Bay Chronicle  related   93.4  b2  /x/b.jsonl:12
                        Flood barrier is approved
    (no date)         (no provider)  article  100.0  c3  https://c.example/c"""


def test_render_dupes() -> None:
    assert render_dupes(dupes_result(), PLAIN) == (
        f"{CLUSTER_TEXT}\n"
        "\n"
        "[2] Flood barrier approved  (2 items, 2 providers)\n"
        "    2024-03-05 09:00  Harbor Wire    article  100.0  a1  https://harborwire.com/a\n"
        "    (no date)         (no provider)  article  100.0  c3  https://c.example/c\n"
        "\n"
        "5 clusters among 40 items (threshold 90, window 3 days) [kind: article]; "
        "showing 2, --limit 0 for all"
    )


def test_render_dupes_of_one_item() -> None:
    result = DupesResult(
        threshold=88.5,
        window_days=None,
        query=None,
        items=3,
        clusters=[Cluster(3, [FIRST, SECOND, UNDATED])],
        total_clusters=1,
        of="a1",
    )
    assert render_dupes(result, PLAIN) == (
        f"{CLUSTER_TEXT}\n\n2 near-duplicates of a1 (threshold 88.5, no window)"
    )


def test_render_dupes_that_found_nothing() -> None:
    result = DupesResult(threshold=90, window_days=3, query=None, items=12, clusters=[])
    assert render_dupes(result, PLAIN) == "0 clusters among 12 items (threshold 90, window 3 days)"


def test_dupes_rows_as_csv() -> None:
    assert to_csv(dupes_rows(dupes_result()), DUPES_COLUMNS) == (
        "cluster,id,kind,title,provider,published,url,path,line,similarity\n"
        "1,a1,article,Flood barrier approved,Harbor Wire,2024-03-05T09:00:00Z,"
        "https://harborwire.com/a,,,100.0\n"
        "1,b2,related,Flood barrier is approved,Bay Chronicle,2024-03-06T12:30:00Z,,/x/b.jsonl,12,"
        "93.4\n"
        "1,c3,article,Flood barrier approved,,,https://c.example/c,,,100.0\n"
        "2,a1,article,Flood barrier approved,Harbor Wire,2024-03-05T09:00:00Z,"
        "https://harborwire.com/a,,,100.0\n"
        "2,c3,article,Flood barrier approved,,,https://c.example/c,,,100.0\n"
    )


def test_json_and_json_lines() -> None:
    assert to_jsonl([{"a": 1}, SECOND]) == (
        '{"a": 1}\n'
        '{"id": "b2", "kind": "related", "title": "Flood barrier is approved", '
        '"provider": "Bay Chronicle", "published": "2024-03-06T12:30:00Z", "url": "", '
        '"path": "/x/b.jsonl", "line": 12, "similarity": 93.4}\n'
    )
    assert to_json(UNDATED) == (
        "{\n"
        '  "id": "c3",\n'
        '  "kind": "article",\n'
        '  "title": "Flood barrier approved",\n'
        '  "provider": "",\n'
        '  "published": null,\n'
        '  "url": "https://c.example/c",\n'
        '  "path": "",\n'
        '  "line": null,\n'
        '  "similarity": 100.0\n'
        "}"
    )


@pytest.mark.parametrize(
    ("later", "text"),
    [
        ("2024-03-05T09:00:00Z", "+0m"),
        ("2024-03-05T09:45:00Z", "+45m"),
        ("2024-03-05T12:30:00Z", "+3h30m"),
        ("2024-03-07T13:00:00Z", "+2d4h"),
        ("2024-03-05T11:00:00+02:00", "+0m"),
        (None, "(no date)"),
    ],
)
def test_lag(later: str | None, text: str) -> None:
    assert lag("2024-03-05T09:00:00Z", later) == text


@pytest.mark.parametrize(
    ("count", "largest", "text"),
    [(0, 10, ""), (1, 0, ""), (1, 10, "▍"), (3, 10, "█▎"), (5, 10, "██"), (10, 10, "████")],
)
def test_bar(count: int, largest: int, text: str) -> None:
    assert bar(count, largest, width=4) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536 * 1024, "1.5 MiB"),
        (5 * 1024**3, "5.0 GiB"),
        (5000 * 1024**3, "5000.0 GiB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


def test_shortened() -> None:
    assert shortened("x" * 80) == "x" * 80
    assert shortened("x" * 81) == "x" * 79 + "…"
    assert shortened("flood barrier plan", 10) == "flood bar…"  # characters, not words
    assert shortened("flood barrier plan", 7) == "flood…"  # no space before the mark


def test_display_path(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    assert display_path(str(tmp_path / "corpus" / "a.md")) == "corpus/a.md"
    assert display_path("/elsewhere/a.md") == "/elsewhere/a.md"
    assert display_path("") == ""


def test_located(tmp_path: Path) -> None:
    assert located(str(tmp_path / "corpus" / "bulletins.csv"), 1432) == "corpus/bulletins.csv:1432"
    assert located("/elsewhere/a.md", None) == "/elsewhere/a.md"
    assert located("", None) == ""
