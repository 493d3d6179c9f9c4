"""Searching, filtering, sorting, show and stats, on real indexes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from searchidx.errors import IndexNotFound, InvalidOption, ItemNotFound
from searchidx.indexing import update_index
from searchidx.schema import SCHEMA_VERSION
from searchidx.searching import (
    Filters,
    mark,
    parse_date_option,
    search,
    show,
    snippet,
    stats,
)
from tests.conftest import article, sample_articles

Write = Callable[..., Path]


def titles(index: str, query: str, **kw: object) -> list[str]:
    return [h.title for h in search(index, query, limit=50, **kw).hits]  # type: ignore[arg-type]


def test_words_are_anded_and_ranked(sample_index: str) -> None:
    r = search(sample_index, "flood barrier", limit=50)
    assert r.total == 5
    assert not r.partial
    assert all("flood" in (h.title + h.excerpt).lower() for h in r.hits[:5])
    assert r.terms == ["barrier", "flood"]


def test_phrase_or_not_field_wildcard_fuzzy(sample_index: str) -> None:
    assert titles(sample_index, '"port strike" NOT dockworkers') == [
        "Port strike halts cargo at Ellery terminals",
    ]
    assert titles(sample_index, "title:quillon") == titles(sample_index, "title:quill*")
    assert len(titles(sample_index, "title:quillon")) == 4
    assert titles(sample_index, "wildfir~ evacuaton~") == titles(
        sample_index, "wildfire evacuation"
    )
    assert set(titles(sample_index, "stocks OR fares")) == {
        "Stocks rise on Fed rate news",
        "Stocks fall on Fed rate news",
        "Transit fares to rise in April",
        "Transit fares to rise in April as ridership lags",
        "Transit fares to rise in June",
        "Riders' group says fare increase will hit night-shift workers hardest",
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("U.S. grant", "U.S. grant to fund protected bike lanes on Harbor Avenue"),
        ("COVID-19", "COVID-19 booster clinics return to Lakemont libraries"),
        ("20.04", "City moves permit system to Ubuntu 20.04 servers ahead of cloud migration"),
        ("Harbor's", "Port Ellery Harbor's flood barrier faces first legal challenge"),
        (
            "Zoe cafe Sao Paulo",
            "Café owner Zoë Almeida brings São Paulo-style pastries to the waterfront",
        ),
    ],
)
def test_punctuated_queries_find_their_headline(
    sample_index: str, query: str, expected: str
) -> None:
    assert expected in titles(sample_index, query)


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced quote',
        "(",
        ")",
        "[",
        "published:[junk to 2020]",
        "a AND",
        "NOT",
        "*",
        "~",
        ":",
        "\\",
        "title:",
        "OR OR",
        "^",
        "foo^bar",
        "{",
        "published:>",
        "kind:",
        "+-!@#$%",
        "'",
    ],
)
def test_odd_queries_never_fail(sample_index: str, query: str) -> None:
    result = search(sample_index, query)
    assert result.total >= 0


def test_unbalanced_quote_still_searches_the_words(sample_index: str) -> None:
    assert search(sample_index, '"flood barrier').total == 5


def test_literal_ignores_query_syntax(sample_index: str) -> None:
    # Read literally, "title" and "OR" are words that no item has together with the rest.
    assert search(sample_index, "title:quillon", literal=True).partial
    assert not search(sample_index, "title:quillon").partial
    assert search(sample_index, "quillon OR nonsenseword", literal=True).partial
    assert not search(sample_index, "quillon OR nonsenseword").partial


def test_partial_matches_when_no_item_has_every_word(sample_index: str) -> None:
    r = search(sample_index, "flood barrier zeppelin")
    assert r.partial
    assert r.total == 7
    assert "flood barrier" in r.hits[0].title


def test_did_you_mean(sample_index: str) -> None:
    r = search(sample_index, "flod barier")
    assert r.suggestion == "flood barrier"
    assert search(sample_index, "flood barrier").suggestion is None


def test_provider_filter_is_case_and_space_insensitive(sample_index: str) -> None:
    for name in ("Coastal Daily", "coastal daily", "  COASTAL   daily "):
        r = search(sample_index, "*", Filters(providers=(name,)), limit=50)
        assert r.total == 5
        assert {h.provider for h in r.hits} == {"Coastal Daily", "coastal daily"}
    assert r.filters == {"providers": ["  COASTAL   daily "]}


def test_unknown_provider_names_the_closest(sample_index: str) -> None:
    r = search(sample_index, "flood", Filters(providers=("Harbour Wire",)))
    assert r.total == 0
    assert r.provider_suggestions[0] == "Harbor Wire"


def test_domain_topic_kind_and_dates(sample_index: str) -> None:
    assert search(sample_index, "*", Filters(domains=("www.HarborWire.com",))).total == 8

    def with_topic(*names: str) -> int:
        wanted = {n.casefold() for n in names}
        return sum(
            1 for a in sample_articles() if wanted & {t.casefold() for t in a.get("topics") or []}
        )

    assert search(sample_index, "*", Filters(topics=("ai",))).total == with_topic("ai") == 6
    assert search(sample_index, "*", Filters(topics=("AI", "Labor"))).total == with_topic(
        "AI", "Labor"
    )
    assert search(sample_index, "*", Filters(kind="related")).total == 8
    march = Filters(since=parse_date_option("2024-03"), until=parse_date_option("2024-03", True))
    r = search(sample_index, "*", march, limit=50, sort="oldest")
    dates = [h.published or "" for h in r.hits]
    assert dates == sorted(dates)
    assert len(dates) == r.total > 5
    assert all(d.startswith("2024-03") for d in dates)
    everything = search(sample_index, "*", limit=100, sort="oldest")
    assert r.total == sum(1 for h in everything.hits if (h.published or "").startswith("2024-03"))


def test_sorts_put_missing_values_last(write: Write, corpus: Path, index_path: str) -> None:
    write(
        "a.md",
        article(
            "alpha one", "https://x.com/a", published="2024-01-01T00:00:00Z", quality=10, heat=-1
        ),
    )
    write("b.md", article("alpha two", "https://x.com/b", published=None))
    write(
        "c.md",
        article(
            "alpha three", "https://x.com/c", published="2023-01-01T00:00:00Z", quality=90, heat=5
        ),
    )
    update_index(index_path, [str(corpus)], jobs=1)
    assert titles(index_path, "alpha", sort="newest") == ["alpha one", "alpha three", "alpha two"]
    assert titles(index_path, "alpha", sort="oldest") == ["alpha three", "alpha one", "alpha two"]
    assert titles(index_path, "alpha", sort="quality") == ["alpha three", "alpha one", "alpha two"]
    assert titles(index_path, "alpha", sort="heat") == ["alpha three", "alpha one", "alpha two"]


def test_pages(sample_index: str) -> None:
    all_hits = [h.id for h in search(sample_index, "flood barrier", limit=50).hits]
    page2 = search(sample_index, "flood barrier", limit=3, page=2)
    assert [h.id for h in page2.hits] == all_hits[3:6]
    assert page2.total == 5
    assert search(sample_index, "flood barrier", limit=3, page=9).hits == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sort": "random"}, "sort must be one of relevance, newest, oldest, quality, heat"),
        ({"limit": 0}, "--limit and --page must be at least 1"),
        ({"page": 0}, "--limit and --page must be at least 1"),
    ],
)
def test_bad_search_options(sample_index: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidOption) as info:
        search(sample_index, "x", **kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2024", False, datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024", True, datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2024-02", True, datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2024-03-05", True, datetime(2024, 3, 5, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2024-03-05T10:00:00+02:00", False, datetime(2024, 3, 5, 8, tzinfo=UTC)),
    ],
)
def test_date_options(text: str, end: bool, expected: datetime) -> None:
    assert parse_date_option(text, end) == expected


def test_bad_date_option() -> None:
    with pytest.raises(InvalidOption, match="'next week' is not a date"):
        parse_date_option("next week")


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound):
        search(str(tmp_path / "none"), "x")


def test_show_article_with_related_and_citations(sample_index: str) -> None:
    hit = search(
        sample_index, '"City council approves $40 million flood barrier plan"', sort="oldest"
    ).hits[0]
    item = show(sample_index, hit.id)
    assert (item.kind, item.provider, item.published) == (
        "article",
        "Harbor Wire",
        "2024-03-05T09:00:00Z",
    )
    assert [r.provider for r in item.related] == ["Riverside Post", "Bay Chronicle"]  # by date
    assert [r.provider for r in item.cited_by] == ["Coastal Daily", "Metro Ledger", "Coastal Daily"]
    assert show(sample_index, hit.id[:6]).id == hit.id


def test_show_related_item(sample_index: str) -> None:
    hit = search(
        sample_index, "*", Filters(providers=("Bay Chronicle",), kind="related"), sort="oldest"
    ).hits[0]
    item = show(sample_index, hit.id)
    assert item.kind == "related"
    assert [Path(r.url).name for r in item.cited_by] == [
        "dockworkers-walk-off-job-as-port-strike-begins",
        "dockworkers-walk-off-the-job-port-strike",
        "port-strike-ends-tentative-deal-20231006.html",
    ]
    assert item.path == ""


def test_show_unknown_id(sample_index: str) -> None:
    with pytest.raises(ItemNotFound, match="no item with id 'ffffffff'"):
        show(sample_index, "ffffffff")


def test_stats(sample_index: str) -> None:
    s = stats(sample_index)
    assert (s.items, s.articles, s.related, s.files) == (41, 33, 8, 31)
    assert (s.providers, s.topics, s.schema_version) == (11, 10, SCHEMA_VERSION)
    assert (s.first_published, s.last_published) == ("2023-05-09T13:00:00Z", "2024-06-12T08:45:00Z")
    assert s.size_bytes > 0


def test_mark_and_snippet() -> None:
    assert mark("Floods barred; flood barriers", ["flood", "barrier"]) == [
        ("Floods", True),
        (" barred; ", False),
        ("flood", True),
        (" ", False),
        ("barriers", True),
    ]
    text = "word " * 100 + "flood barrier " + "word " * 100
    snip = snippet(text, ["flood"], width=60)
    assert "flood barrier" in snip
    assert snip.startswith("…") and snip.endswith("…")
    assert len(snip) <= 62


def test_stop_words_do_not_block_matches(sample_index: str) -> None:
    r = search(sample_index, "the flood barrier of the city")
    assert (r.total, r.partial) == (5, False)
    assert (
        search(sample_index, "topic:climate").total
        == search(sample_index, "*", Filters(topics=("Climate",))).total
        > 0
    )


def test_show_lists_related_coverage_and_citing_articles_by_date(
    write: Callable[..., Path], corpus: Path, index_path: str
) -> None:
    from tests.conftest import related

    def rel(title: str, when: str | None) -> dict[str, object]:
        extra = {"publishedDateTime": when} if when else {}
        slug = title.lower().replace(" ", "-")
        return related(
            title, f"https://other.example/{slug}", "Other Desk", "other.example", **extra
        )

    write(
        "a.md",
        article(
            "Harbor vote passes",
            "https://harborwire.com/a",
            related=[
                rel("Later story", "2024-03-07T08:00:00Z"),
                rel("Undated story", None),
                rel("East story", "2024-03-01T10:00:00+05:00"),  # 05:00 UTC
                rel("Morning story", "2024-03-01T06:00:00Z"),
            ],
        ),
    )
    shared = rel("Morning story", "2024-03-01T06:00:00Z")
    write("b.md", article("Late follow-up", "https://x.com/b", published=None, related=[shared]))
    write(
        "c.md",
        article(
            "Early take", "https://x.com/c", published="2024-02-01T00:00:00Z", related=[shared]
        ),
    )
    write(
        "d.md",
        article(
            "Second look", "https://x.com/d", published="2024-04-01T00:00:00Z", related=[shared]
        ),
    )
    update_index(index_path, [str(corpus)], jobs=1)
    vote = search(index_path, '"harbor vote passes"').hits[0]
    item = show(index_path, vote.id)
    assert [r.title for r in item.related] == [
        "East story",
        "Morning story",
        "Later story",
        "Undated story",
    ]
    morning = next(r for r in item.related if r.title == "Morning story")
    assert [r.title for r in show(index_path, morning.id).cited_by] == [
        "Early take",
        "Harbor vote passes",
        "Second look",
        "Late follow-up",
    ]
