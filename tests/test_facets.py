"""Facet counts, checked against brute-force counts computed from the corpus files."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from searchidx.cli import cli
from searchidx.errors import InvalidOption
from searchidx.facets import NONE, facet_counts
from searchidx.indexing import update_index
from searchidx.output import bar
from searchidx.query import Filters
from searchidx.searching import search
from tests.conftest import article, front_matter

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
]
TOPICS = ["Climate", "Labor", "Health", "Transit", "AI"]
# Skewed: the first providers are far more frequent. Spelling variants differ only in
# case and spacing; None means no provider at all.
PROVIDERS = [
    ("Harbor Wire", "harborwire.com"),
    ("harbor wire", "harborwire.com"),
    (" Harbor  Wire ", "harborwire.net"),
    ("Coastal Daily", "coastaldaily.com"),
    ("Metro Ledger", "metroledger.com"),
    ("Civic Signal", "civicsignal.org"),
    ("Valley Tribune", "valleytribune.net"),
    ("Pinecrest Gazette", "pinecrestgazette.com"),
    None,
]
WEIGHTS = [40, 6, 3, 20, 10, 6, 4, 2, 9]


def generate(root: Path, n: int = 2500, seed: int = 7) -> None:
    """A corpus whose URLs are already canonical, so item identity is the URL."""
    rng = random.Random(seed)
    outside = [f"https://outside{i}.example/story" for i in range(150)]
    for i in range(n):
        fields: dict[str, Any] = {
            "title": " ".join(rng.sample(WORDS, 3)),
            "webUrl": f"https://news{i % 97}.example/a/{i}",
            "publishedDateTime": f"20{rng.choice(['22', '23'])}-{rng.randint(1, 12):02}-{rng.randint(1, 28):02}T12:00:00Z",
            "topics": rng.sample(TOPICS, rng.choice([0, 1, 1, 2, 3])),
        }
        prov = rng.choices(PROVIDERS, WEIGHTS)[0]
        if prov:
            fields["provider"] = {"name": prov[0], "domain": prov[1]}
        related = []
        for j in rng.sample(range(150), rng.choice([0, 0, 1, 2])):
            related.append(
                {
                    "title": f"{WORDS[j % 10]} {WORDS[(j * 3 + 1) % 10]} outside {j}",
                    "webUrl": outside[j],
                    "provider": {"name": f"Outlet {j % 12}", "domain": f"outlet{j % 12}.example"},
                }
            )
        if i > 10 and rng.random() < 0.2:  # cite an earlier article: that item is the article
            earlier = rng.randrange(i)
            related.append(
                {
                    "title": "a citation",
                    "webUrl": f"https://news{earlier % 97}.example/a/{earlier}",
                    "provider": {"name": "Ignored", "domain": "ignored.example"},
                }
            )
        if related:
            fields["related"] = related
        sub = root / f"{i // 500:02}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{i:05}.md").write_text(front_matter(fields), encoding="utf-8")


def brute_force_items(root: Path) -> list[dict[str, Any]]:
    """Items as the specification defines them, computed from the files alone."""
    articles: dict[str, dict[str, Any]] = {}
    related: dict[str, dict[str, Any]] = {}
    for path in sorted(root.rglob("*.md")):
        data = yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])
        articles[data["webUrl"]] = {**data, "kind": "article"}
        for entry in data.get("related", []):
            related.setdefault(entry["webUrl"], {**entry, "kind": "related"})
    items = list(articles.values())
    items += [entry for url, entry in related.items() if url not in articles]
    return items


def provider_of(item: dict[str, Any]) -> str:
    name = (item.get("provider") or {}).get("name")
    return " ".join(name.split()).casefold() if name else NONE


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("facet-corpus")
    generate(root / "corpus")
    index = str(root / "index")
    assert update_index(index, [str(root / "corpus")], jobs=2).failed == 0
    return index, brute_force_items(root / "corpus")


def counted(result: Any) -> dict[str, int]:
    return {b.value: b.count for b in result.buckets}


def label(day: date, field: str) -> str:
    iso = day.isocalendar()
    return {
        "year": str(day.year),
        "month": day.isoformat()[:7],
        "week": f"{iso.year}-W{iso.week:02}",
        "day": day.isoformat(),
    }[field]


def span(first: str, last: str, field: str) -> list[str]:
    """Every period label from the one of ``first`` to the one of ``last`` (dates or
    months), walking day by day."""
    day, end = date.fromisoformat((first + "-01")[:10]), date.fromisoformat((last + "-01")[:10])
    labels: list[str] = []
    while day <= end:
        if label(day, field) not in labels:
            labels.append(label(day, field))
        day += timedelta(days=1)
    return labels


def test_provider_counts_match_brute_force(generated: tuple[str, list[dict[str, Any]]]) -> None:
    index, items = generated
    expected = Counter(provider_of(i) for i in items)
    result = facet_counts(index, "provider", limit=0)
    assert result.total == len(items) > 2500
    assert {k.casefold(): v for k, v in counted(result).items()} == expected
    assert sum(b.count for b in result.buckets) == result.total
    # Case and spacing variants are one provider, labelled with the commonest spelling,
    # with every domain seen for it.
    harbor = next(b for b in result.buckets if b.value == "Harbor Wire")
    assert harbor.also == ["harborwire.com", "harborwire.net"]
    assert result.buckets[0].value == "Harbor Wire"
    assert counted(result)[NONE] == expected[NONE] > 0


def test_article_only_counts(generated: tuple[str, list[dict[str, Any]]]) -> None:
    index, items = generated
    expected = Counter(provider_of(i) for i in items if i["kind"] == "article")
    result = facet_counts(index, "provider", filters=Filters(kind="article"), limit=0)
    assert {k.casefold(): v for k, v in counted(result).items()} == expected


def test_topics_overlap(generated: tuple[str, list[dict[str, Any]]]) -> None:
    index, items = generated
    expected: Counter[str] = Counter()
    for item in items:
        expected.update(item.get("topics") or [NONE])
    result = facet_counts(index, "topic", limit=0)
    assert counted(result) == expected
    assert result.total == len(items)
    assert sum(b.count for b in result.buckets) > result.total


def test_query_and_filters_narrow_the_count(generated: tuple[str, list[dict[str, Any]]]) -> None:
    index, items = generated

    def matches(item: dict[str, Any]) -> bool:
        words = set(item["title"].split())
        return {"alpha", "bravo"} <= words and provider_of(item) == "coastal daily"

    result = facet_counts(
        index, "month", "alpha bravo", Filters(providers=("COASTAL DAILY",)), limit=0
    )
    expected = Counter(i["publishedDateTime"][:7] for i in items if matches(i))
    assert {k: v for k, v in counted(result).items() if v} == expected
    assert [b.value for b in result.buckets] == span(min(expected), max(expected), "month")
    assert result.filters == {"providers": ["COASTAL DAILY"]}


def test_years_domains_kinds(generated: tuple[str, list[dict[str, Any]]]) -> None:
    index, items = generated
    years = Counter(
        (i.get("publishedDateTime") or NONE)[:4] if i.get("publishedDateTime") else NONE
        for i in items
    )
    assert counted(facet_counts(index, "year", limit=0)) == years
    kinds = Counter(i["kind"] for i in items)
    assert counted(facet_counts(index, "kind")) == kinds
    domains = Counter((i.get("provider") or {}).get("domain") or NONE for i in items)
    assert counted(facet_counts(index, "domain", limit=0)) == domains
    assert counted(facet_counts(index, "provider", by_domain=True, limit=0)) == domains


def test_a_segment_without_a_column_counts_as_none(
    write: Any, tmp_path: Path, index_path: str
) -> None:
    # An update writes a segment of its own; one whose items have no date, provider or
    # domain has no column for them at all, and its items still count, under (none).
    from tests.conftest import article

    for i in range(3):
        write(f"{i}.md", article(f"Dated story {i}", f"https://harborwire.com/{i}"))
    update_index(index_path, [str(tmp_path / "corpus")], jobs=1)
    write("9.md", article("Undated story", "https://example.org/9", None, published=None))
    update_index(index_path, [str(tmp_path / "corpus")], jobs=1)
    assert counted(facet_counts(index_path, "year")) == {"2024": 3, NONE: 1}
    assert counted(facet_counts(index_path, "provider")) == {"Harbor Wire": 3, NONE: 1}
    assert counted(facet_counts(index_path, "domain", "undated")) == {NONE: 1}
    assert counted(facet_counts(index_path, "month", "story")) == {"2024-03": 3, NONE: 1}


def test_limit_min_count_and_order(generated: tuple[str, list[dict[str, Any]]]) -> None:
    index, _ = generated
    everything = facet_counts(index, "provider", limit=0)
    top = facet_counts(index, "provider", limit=3)
    assert top.buckets == everything.buckets[:3]
    assert top.distinct == everything.distinct
    assert top.other == sum(b.count for b in everything.buckets[3:])
    counts = [b.count for b in everything.buckets]
    assert counts == sorted(counts, reverse=True)
    frequent = facet_counts(index, "provider", limit=0, min_count=100)
    assert [b.value for b in frequent.buckets] == [
        b.value for b in everything.buckets if b.count >= 100
    ]


def test_sample_facets(sample_index: str) -> None:
    r = facet_counts(sample_index, "provider", "flood barrier")
    assert [(b.value, b.count) for b in r.buckets] == [
        ("Coastal Daily", 2),
        ("Bay Chronicle", 1),
        ("Civic Signal", 1),
        ("Harbor Wire", 1),
        ("Lakemont Ledger", 1),
        ("Metro Ledger", 1),
    ]


def test_seed_facial_recognition(seeds: Path, index_path: str) -> None:
    update_index(index_path, [str(seeds)], jobs=1)
    r = facet_counts(index_path, "provider", "facial recognition")
    assert [(b.value, b.count, b.also) for b in r.buckets] == [
        ("NOLA.com", 2, ["nola.com"]),  # two stories; the near-identical pair is one
        ("The Lens", 2, ["thelensnola.org"]),
        ("Aclu.org", 1, ["aclu.org"]),
        ("Governing", 1, ["governing.com"]),
        ("Government Technology", 1, ["govtech.com"]),
        ("Smithsonian Magazine", 1, ["smithsonianmag.com"]),
    ]
    assert r.total == 8


def test_bad_field(sample_index: str) -> None:
    with pytest.raises(
        InvalidOption,
        match="field must be one of provider, domain, topic, kind, year, month, week, day",
    ):
        facet_counts(sample_index, "author")


@pytest.mark.parametrize(
    ("count", "largest", "expected"),
    [
        (8, 8, "█" * 24),
        (4, 8, "█" * 12),
        (1, 8, "███"),
        (1, 100, "▎"),
        (1, 10_000, "▏"),
        (0, 8, ""),
    ],
)
def test_bar(count: int, largest: int, expected: str) -> None:
    assert bar(count, largest) == expected


def test_cli_table(sample_index: str) -> None:
    result = CliRunner().invoke(
        cli, ["--index", sample_index, "facets", "provider", "flood", "barrier"]
    )
    assert result.exit_code == 0
    assert result.output == (
        "provider counts of items matching 'flood barrier'\n"
        "provider         count   share\n"
        "Coastal Daily        2   28.6%  ████████████████████████  coastaldaily.com\n"
        "Bay Chronicle        1   14.3%  ████████████              baychronicle.com\n"
        "Civic Signal         1   14.3%  ████████████              civicsignal.org\n"
        "Harbor Wire          1   14.3%  ████████████              harborwire.com\n"
        "Lakemont Ledger      1   14.3%  ████████████              lakemontledger.com\n"
        "Metro Ledger         1   14.3%  ████████████              metroledger.com\n"
        "7 items, 6 providers\n"
    )


def test_cli_timeline_and_hidden_values(sample_index: str) -> None:
    out = (
        CliRunner().invoke(cli, ["--index", sample_index, "facets", "month", "--limit", "2"]).output
    )
    assert out.splitlines() == [
        "month    count   share",
        "2023-05      5   10.0%  ████████████████████████",
        "2023-06      0    0.0%",
        "… 12 more values (45 items)",
        "50 items, 14 months",
    ]


def test_cli_json_adds_up(sample_index: str) -> None:
    out = (
        CliRunner()
        .invoke(
            cli, ["--index", sample_index, "facets", "provider", "--format", "json", "--limit", "0"]
        )
        .output
    )
    data = json.loads(out)
    assert list(data)[:5] == ["field", "query", "total", "distinct", "buckets"]
    assert sum(b["count"] for b in data["buckets"]) == data["total"] == 50
    assert len(data["buckets"]) == 14
    assert "(none)" in [b["value"] for b in data["buckets"]]
    assert data["distinct"] == 13  # "(none)" is not a provider


def test_cli_jsonl_csv_and_errors(sample_index: str) -> None:
    runner = CliRunner()
    lines = runner.invoke(
        cli, ["--index", sample_index, "facets", "kind", "--format", "jsonl"]
    ).output.splitlines()
    assert [json.loads(x) for x in lines] == [
        {"value": "article", "count": 46, "also": []},
        {"value": "related", "count": 4, "also": []},
    ]
    csv_out = runner.invoke(
        cli, ["--index", sample_index, "facets", "kind", "--format", "csv"]
    ).output
    assert csv_out == "value,count,share,also\narticle,46,0.92,\nrelated,4,0.08,\n"
    bad = runner.invoke(cli, ["--index", sample_index, "facets", "author"])
    assert bad.exit_code == 2
    assert (
        "Error: Invalid value for 'FIELD': 'author' is not one of 'provider', 'domain', 'topic', 'kind', 'year', 'month', 'week', 'day'."
        in bad.output
    )


@pytest.mark.parametrize("field", ["provider", "domain", "kind", "month", "year", "week", "day"])
@pytest.mark.parametrize("query", ["*", "apple OR samsung", "market -court"])
def test_facet_totals_on_an_updated_index_equal_search_totals(
    updated_index: tuple[str, dict[str, str]], field: str, query: str
) -> None:
    from searchidx.searching import search

    index, _ = updated_index
    result = facet_counts(index, field, query, limit=0)
    hits = search(index, query, limit=0, similar=False)
    assert result.total == hits.total == len(hits.hits) > 30
    assert sum(b.count for b in result.buckets) == result.total


@pytest.mark.parametrize("field", ["year", "month", "week", "day"])
def test_timelines_match_brute_force_with_empty_periods(
    generated: tuple[str, list[dict[str, Any]]], field: str
) -> None:
    index, items = generated
    query = "alpha bravo charlie"
    dates = [
        date.fromisoformat(i["publishedDateTime"][:10])
        for i in items
        if {"alpha", "bravo", "charlie"} <= set(i["title"].split())
    ]
    result = facet_counts(index, field, query)
    expected = dict.fromkeys(span(min(dates).isoformat(), max(dates).isoformat(), field), 0)
    for d in dates:
        expected[label(d, field)] += 1
    assert [(b.value, b.count) for b in result.buckets] == list(expected.items())
    assert result.total == len(dates) == sum(expected.values())
    if field in ("week", "day"):
        assert 0 in expected.values()


def test_week_timeline_on_an_updated_index(write: Any, tmp_path: Path, index_path: str) -> None:
    # Three updates: three segments, one of them with an undated item.
    from tests.conftest import article

    corpus = str(tmp_path / "corpus")
    write(
        "a.md",
        article("Strike talks resume", "https://x.com/a", published="2014-05-06T23:30:00-02:00"),
    )
    write(
        "b.md", article("Strike talks stall", "https://x.com/b", published="2014-05-08T10:00:00Z")
    )
    update_index(index_path, [corpus], jobs=1)
    write("c.md", article("Strike ends", "https://x.com/c", published="2014-06-01T12:00:00Z"))
    update_index(index_path, [corpus], jobs=1)
    write("d.md", article("Strike anniversary", "https://x.com/d", published=None))
    write("e.md", article("Strike remembered", "https://x.com/e", published="2014-08-01T12:00:00Z"))
    update_index(index_path, [corpus], jobs=1)
    runner = CliRunner()
    args = ["--index", index_path, "facets", "week", "strike"]
    out = runner.invoke(cli, [*args, "--since", "2014-05-01", "--until", "2014-06-30"]).output
    assert out.splitlines() == [
        "week counts of items matching 'strike' [since: 2014-05-01T00:00:00Z; until: 2014-06-30T23:59:59.999999Z]",
        "week      count   share",
        "2014-W18      0    0.0%",
        "2014-W19      2   66.7%  ████████████████████████",  # 05-07 01:30 UTC and 05-08
        "2014-W20      0    0.0%",
        "2014-W21      0    0.0%",
        "2014-W22      1   33.3%  ████████████",  # Sunday 1 June ends ISO week 22
        "2014-W23      0    0.0%",
        "2014-W24      0    0.0%",
        "2014-W25      0    0.0%",
        "2014-W26      0    0.0%",
        "2014-W27      0    0.0%",
        "3 items, 10 weeks",
    ]
    # Without dates given, the span runs from the first item to the last; the undated
    # one comes last. --min-count above 1 hides the empty periods.
    assert counted(facet_counts(index_path, "month", "strike")) == {
        "2014-05": 2,
        "2014-06": 1,
        "2014-07": 0,
        "2014-08": 1,
        NONE: 1,
    }
    assert counted(facet_counts(index_path, "day", "strike", min_count=2)) == {}
    assert counted(facet_counts(index_path, "week", "strike", min_count=2)) == {"2014-W19": 2}


def test_iso_weeks_across_a_new_year(write: Any, tmp_path: Path, index_path: str) -> None:
    from tests.conftest import article

    write("a.md", article("Year end", "https://x.com/a", published="2020-12-31T12:00:00Z"))
    write("b.md", article("New year", "https://x.com/b", published="2021-01-11T12:00:00Z"))
    update_index(index_path, [str(tmp_path / "corpus")], jobs=1)
    assert counted(facet_counts(index_path, "week")) == {
        "2020-W53": 1,
        "2021-W01": 0,
        "2021-W02": 1,
    }
    # A week's label, copied into a filter, selects that week's items.
    for week, titles in (("2020-W53", ["Year end"]), ("2021-W01", []), ("2021-W02", ["New year"])):
        found = search(index_path, f"* published:{week}", limit=10)
        assert [h.title for h in found.hits] == titles
        assert counted(facet_counts(index_path, "week", f"published:{week}"))[week] == len(titles)


def test_too_long_a_timeline_is_refused(write: Any, tmp_path: Path, index_path: str) -> None:
    from tests.conftest import article

    write("a.md", article("Old", "https://x.com/a", published="1900-01-01T00:00:00Z"))
    write("b.md", article("New", "https://x.com/b", published="2024-01-01T00:00:00Z"))
    update_index(index_path, [str(tmp_path / "corpus")], jobs=1)
    result = CliRunner().invoke(cli, ["--index", index_path, "facets", "day"])
    assert result.exit_code == 2
    assert (
        "Error: the timeline from 1900-01-01 to 2024-01-01 has more than 20,000 days; "
        "use a longer period or --since/--until" in result.output
    )
    assert len(facet_counts(index_path, "week").buckets) == 6471


def test_stats_and_facets_count_providers_alike(
    write: Callable[..., Path], corpus: Path, index_path: str
) -> None:
    """Distinct provider keys of live items, "(none)" not counted: on an index with
    spelling variants of one provider, an item without one, and a provider whose only
    file an update removed."""
    from searchidx.stats import stats

    write("a.md", article("One", "https://r.com/1", provider="Reuters", domain="reuters.com"))
    write("b.md", article("Two", "https://r.com/2", provider="REUTERS", domain="reuters.com"))
    write("c.md", article("Three", "https://r.com/3", provider=" reuters ", domain="reuters.com"))
    write("cc.md", article("Again", "https://r.com/4", provider="Reuters", domain="reuters.com"))
    write("d.md", article("Four", "https://h.com/4"))
    write("e.md", article("Five", "https://n.com/5", provider=None))
    gone = write("f.md", article("Six", "https://g.com/6", provider="Gone Daily", domain="g.com"))
    update_index(index_path, [str(corpus)], jobs=1)
    gone.unlink()
    write("g.md", article("Seven", "https://h.com/7"))
    update_index(index_path, [str(corpus)], jobs=1)
    facets = facet_counts(index_path, "provider", limit=0)
    assert [(b.value, b.count) for b in facets.buckets] == [
        ("Reuters", 4),
        ("Harbor Wire", 2),
        ("(none)", 1),
    ]
    assert facets.distinct == stats(index_path).providers == 2
    text = CliRunner().invoke(cli, ["--index", index_path, "facets", "provider"]).output
    assert text.splitlines()[-1] == "7 items, 2 providers"
    assert "providers: 2\n" in CliRunner().invoke(cli, ["--index", index_path, "stats"]).output
