"""Searching, filtering, sorting, show and stats, on real indexes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from searchidx.errors import IndexNotFound, InvalidOption, ItemNotFound
from searchidx.fields import SCHEMA_VERSION
from searchidx.highlight import mark, snippet
from searchidx.indexing import update_index
from searchidx.query import Filters, parse_date_option
from searchidx.searching import search
from searchidx.show import show
from searchidx.stats import stats
from tests.conftest import article, sample_articles

Write = Callable[..., Path]


def titles(index: str, query: str, **kw: object) -> list[str]:
    return [h.title for h in search(index, query, limit=50, **kw).hits]  # type: ignore[arg-type]


def test_words_are_anded_and_ranked(sample_index: str) -> None:
    r = search(sample_index, "flood barrier", limit=50)
    assert r.total == 7
    assert not r.partial
    assert all("flood" in (h.title + h.excerpt).lower() for h in r.hits[:7])
    assert r.terms == ["barrier", "flood"]


def test_phrase_or_not_field_wildcard_fuzzy(sample_index: str) -> None:
    assert titles(sample_index, '"port strike" NOT dockworkers') == [
        "Port strike halts cargo at Ellery terminals",
        "Port strike leaves Riverside shippers scrambling for trucks",
    ]
    assert titles(sample_index, "title:quillon") == titles(sample_index, "title:quill*")
    assert len(titles(sample_index, "title:quillon")) == 5
    assert titles(sample_index, "evacuaton~ ordrs~") == titles(sample_index, "evacuation orders")
    assert "Evacuation orders lifted for Sawtooth Ridge fire" in titles(
        sample_index, "evacuation orders"
    )
    assert set(titles(sample_index, "stocks OR fares")) == {
        "Stocks rise on Fed rate news",
        "Stocks fall on Fed rate news",
        "Transit fares to rise in April",
        "Transit fares to rise in April as ridership lags",
        "Transit fares to rise in June",
        # Bay Chronicle's story, related by 006 under this title, is in its RSS feed
        # (032) under its own title.
        "Riders' union asks council to delay fare increase",
        "Fare increase to take effect in April despite riders' objections",
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
        "kind:",
        "+-!@#$%",
        "'",
    ],
)
def test_odd_queries_never_fail(sample_index: str, query: str) -> None:
    result = search(sample_index, query)
    assert result.total >= 0


def test_unbalanced_quote_still_searches_the_words(sample_index: str) -> None:
    assert search(sample_index, '"flood barrier').total == 7


def test_literal_ignores_query_syntax(sample_index: str) -> None:
    # Read literally, "title" and "OR" are words that no item has together with the rest.
    assert search(sample_index, "title:quillon", literal=True).partial
    assert not search(sample_index, "title:quillon").partial
    assert search(sample_index, "quillon OR nonsenseword", literal=True).partial
    assert not search(sample_index, "quillon OR nonsenseword").partial


def test_partial_matches_when_no_item_has_every_word(sample_index: str) -> None:
    r = search(sample_index, "flood barrier zeppelin")
    assert r.partial
    assert r.total == 9
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
    assert search(sample_index, "*", Filters(kind="related")).total == 4
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
    assert page2.total == 7
    assert search(sample_index, "flood barrier", limit=3, page=9).hits == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sort": "random"}, "sort must be one of relevance, newest, oldest, quality, heat"),
        ({"limit": -1}, "--limit must not be negative and --page must be at least 1"),
        ({"page": 0}, "--limit must not be negative and --page must be at least 1"),
        ({"limit": 0, "page": 2}, "--limit 0 shows every hit on one page; leave out --page"),
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
    assert (s.items, s.articles, s.related, s.files) == (50, 46, 4, 34)
    assert (s.providers, s.topics, s.schema_version) == (13, 13, SCHEMA_VERSION)
    assert (s.first_published, s.last_published) == ("2023-05-09T13:00:00Z", "2024-06-12T15:00:00Z")
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
    assert (r.total, r.partial) == (6, False)
    assert (
        search(sample_index, "topic:climate").total
        == search(sample_index, "*", Filters(topics=("Climate",))).total
        > 0
    )


# --- exact answers on updated indexes ---------------------------------------------------------


def _brute(titles: dict[str, str], *words: str) -> int:
    return sum(any(w in t.lower().split() for w in words) for t in titles.values())


@pytest.mark.parametrize(
    ("query", "filters", "words"),
    [
        ("apple OR samsung", Filters(), ("apple", "samsung")),
        ("apple OR samsung", Filters(kind="article"), ("apple", "samsung")),
        ("apple OR samsung OR google", Filters(providers=("Outlet 1", "outlet 2")), None),
        ("market", Filters(since=datetime(2014, 4, 1, tzinfo=UTC)), None),
        ("bank OR deal OR storm", Filters(), ("bank", "deal", "storm")),
    ],
)
def test_totals_are_exact_and_stable_across_pages(
    updated_index: tuple[str, dict[str, str]],
    query: str,
    filters: Filters,
    words: tuple[str, ...] | None,
) -> None:
    index, titles_by_file = updated_index
    every = search(index, query, filters, limit=0, similar=False)
    assert every.total == len(every.hits) > 30
    assert len({h.id for h in every.hits}) == every.total
    for page in (1, 2, 3, 7):
        assert search(index, query, filters, limit=10, page=page, similar=False).total == (
            every.total
        )
    if words is not None:
        assert every.total == _brute(titles_by_file, *words)


def test_limit_zero_pages_every_hit_in_rank_order(
    updated_index: tuple[str, dict[str, str]],
) -> None:
    index, _ = updated_index
    every = search(index, "apple OR vote", limit=0, similar=False)
    paged = [
        h.id
        for page in range(1, every.total // 10 + 2)
        for h in search(index, "apple OR vote", limit=10, page=page, similar=False).hits
    ]
    assert paged == [h.id for h in every.hits]


NEWS_WORDS = [
    ("us.md", "US sanctions hit Russian banks"),
    ("usdots.md", "U.S. weighs new sanctions on Moscow"),
    ("us-pronoun.md", "Tell us what you think of the budget"),
    ("used.md", "Farmers used drones to count sheep"),
    ("may.md", "Theresa May faces vote on Brexit deal"),
    ("who.md", "WHO warns of measles outbreak in Europe"),
    ("it.md", "IT outage grounds flights at Heathrow"),
    ("eu.md", "E.U. and UK agree on fishing quotas"),
    ("happy.md", "Happiness index ranks Finland first again"),
    ("immigration.md", "Immigration bill clears the Senate"),
    ("ukraine.md", "Ukraine talks resume in Geneva"),
    ("sprains.md", "Ankle sprains keep striker out for a month"),
    ("covid.md", "Covid-19 vaccine rollout speeds up"),
    ("covid-booster.md", "Covid-19 booster approved for adults"),
]


@pytest.fixture(scope="module")
def news_index(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tests.conftest import front_matter

    base = tmp_path_factory.mktemp("news")
    corpus, index = base / "corpus", str(base / "index")
    corpus.mkdir()
    for i, (name, title) in enumerate(NEWS_WORDS):
        fields = article(
            title, f"https://example.com/{i}", published=f"2021-05-{i + 1:02d}T12:00:00Z"
        )
        (corpus / name).write_text(front_matter(fields), encoding="utf-8")
    assert update_index(index, [str(corpus)], jobs=1).failed == 0
    return index


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # No stop words, no minimum length; letters joined by dots are one word.
        # Capitals or dots ask for the acronym: not "used", which stems to "us".
        ("US", {"us.md", "usdots.md"}),
        ("U.S.", {"us.md", "usdots.md"}),
        ("u.s.", {"us.md", "usdots.md"}),
        ("US sanctions", {"us.md", "usdots.md"}),
        ("title:US", {"us.md", "usdots.md"}),
        # In lower case it is the plain word, stemmed like every other.
        ("us", {"us.md", "usdots.md", "us-pronoun.md", "used.md"}),
        ("may", {"may.md"}),
        ("WHO", {"who.md"}),
        ("it", {"it.md"}),
        ("IT outage", {"it.md"}),
        ("EU", {"eu.md"}),
        ("UK", {"eu.md"}),
        ('"U.S. weighs"', {"usdots.md"}),
        ('"tell us what"', {"us-pronoun.md"}),
        # Wildcards and prefixes match the words as written, not their stems.
        ("happin*", {"happy.md"}),
        ("immigrati*", {"immigration.md"}),
        ("*raine", {"ukraine.md"}),
        ("title:sprain?", {"sprains.md"}),
        # -word excludes, as NOT does; the hyphen inside a word is not a minus.
        ("covid-19", {"covid.md", "covid-booster.md"}),
        ("covid -booster", {"covid.md"}),
        ('covid -"booster approved"', {"covid.md"}),
        ("sanctions -(moscow OR russian)", set()),
        (
            "-covid -sanctions -us -may -who -it -eu -happiness -immigration",
            {"ukraine.md", "sprains.md"},
        ),
    ],
)
def test_every_word_is_searchable(news_index: str, query: str, expected: set[str]) -> None:
    hits = search(news_index, query, limit=0).hits
    assert {Path(h.path).name for h in hits} == expected
    assert all(h.match == "all" for h in hits)


def test_ranges_in_the_query_select_what_since_and_until_select(news_index: str) -> None:
    def names(query: str, filters: Filters | None = None) -> list[str]:
        hits = search(news_index, query, filters or Filters(), limit=0).hits
        return sorted(Path(h.path).name for h in hits)

    window = Filters(
        since=parse_date_option("2021-05-03"), until=parse_date_option("2021-05-06", True)
    )
    expected = names("*", window)
    assert len(expected) == 4
    assert names("published:[2021-05-03 to 2021-05-06]") == expected
    assert names("published:[2021-05-03 TO 2021-05-06]") == expected
    assert names("date:[2021-05-03 to 2021-05-06]") == expected
    assert names("published:>=2021-05-03 published:<=2021-05-06") == expected
    assert names("published:>2021-05-02 published:<2021-05-07") == expected
    assert len(names("published:[2021-05-11 to]")) == 4
    assert len(names("published:[to 2021-05-02]")) == 2
    assert (
        names("published:2021-05-04")
        == ["used.md"]
        == names(
            "*",
            Filters(
                since=parse_date_option("2021-05-04"), until=parse_date_option("2021-05-04", True)
            ),
        )
    )
    assert len(names("published:2021-05")) == len(NEWS_WORDS)
    # A range narrows --since/--until; words still count.
    assert names("published:[2021-05-01 to 2021-05-31]", window) == expected
    assert names("covid published:[2021-05-12 to]") == ["covid-booster.md", "covid.md"]
    assert search(news_index, "covid published:[2021-05-13 to]").filters == {
        "since": "2021-05-13T00:00:00Z"
    }
    # Under --literal the clause is plain words.
    assert search(news_index, "published:[2021-05-03 to 2021-05-06]", literal=True).total == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "published:[junk to 2020]",
            "cannot read the date range 'published:[junk to 2020]': 'junk' is not a date; use YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 date-time",
        ),
        (
            "obama published:[2014-05-01 to 2014-13-01]",
            "cannot read the date range 'published:[2014-05-01 to 2014-13-01]': '2014-13-01' is not a date; use YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 date-time",
        ),
        ("published:[ to ]", "cannot read the date range 'published:[ to ]': it names no date"),
        ("published:>", "cannot read the date range 'published:>': it names no date"),
        (
            "date:yesterday",
            "cannot read the date range 'date:yesterday': 'yesterday' is not a date; use YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 date-time",
        ),
    ],
)
def test_unreadable_ranges_are_errors(news_index: str, query: str, message: str) -> None:
    with pytest.raises(InvalidOption) as info:
        search(news_index, query)
    assert str(info.value) == message


def test_common_words_rank_but_do_not_block(news_index: str, sample_index: str) -> None:
    # In the samples "the" and "of" are in more than 30% of the items: optional.
    assert search(sample_index, "the flood barrier of the city").total == (
        search(sample_index, "flood barrier city").total
    )
    # In an index of fewer than 20 items every word is required.
    assert search(news_index, "the senate").total == 1
    assert search(news_index, "the ukraine").partial


def test_partial_matches_say_so_per_hit(news_index: str) -> None:
    r = search(news_index, "ukraine geneva zurich", limit=0)
    assert r.partial
    assert [(Path(h.path).name, h.match) for h in r.hits] == [("ukraine.md", "partial")]


def test_no_spelling_suggestion_for_wildcards_or_field_names(news_index: str) -> None:
    assert search(news_index, "happ*").suggestion is None
    assert search(news_index, "*rain").suggestion is None
    assert search(news_index, "titel:ukraine").total == 0
    assert search(news_index, "ukriane").suggestion == "ukraine"


def test_a_date_range_with_no_items_finds_nothing(news_index: str) -> None:
    for query in ("*", "covid", "published:[2030-01-01 to]"):
        r = search(news_index, query, Filters(since=parse_date_option("2030")), limit=0)
        assert (r.total, r.hits) == (0, [])


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


@pytest.mark.parametrize(
    ("query", "filters", "message"),
    [
        (
            "*",
            {"since": "2024-03-05", "until": "2024-03-04"},
            "the dates select nothing: since 2024-03-05T00:00:00Z is after until 2024-03-04T23:59:59.999999Z",
        ),
        (
            "published:[2024-03-05 to 2024-03-04]",
            {},
            "the dates select nothing: since 2024-03-05T00:00:00Z is after until 2024-03-04T23:59:59.999999Z",
        ),
        (
            "published:[2024-03-10 to]",
            {"until": "2024-03-01"},
            "the dates select nothing: since 2024-03-10T00:00:00Z is after until 2024-03-01T23:59:59.999999Z",
        ),
    ],
)
def test_a_reversed_date_range_is_an_error(
    news_index: str, query: str, filters: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidOption) as info:
        search(
            news_index,
            query,
            Filters(
                since=parse_date_option(filters["since"]) if "since" in filters else None,
                until=parse_date_option(filters["until"], True) if "until" in filters else None,
            ),
        )
    assert str(info.value) == message
