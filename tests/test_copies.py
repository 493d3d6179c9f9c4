"""Near-identical copies: candidates, clusters, one item's copies, the dupes command."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

import pytest
from click.testing import CliRunner
from rapidfuzz import fuzz

from searchidx.backend import column_texts
from searchidx.cli import cli
from searchidx.copies import (
    DEFAULT_THRESHOLD,
    LOOKUP_KEYS,
    Lookup,
    candidate_pairs,
    find_dupes,
    near_duplicates,
    similar_counts,
    star_clusters,
)
from searchidx.engine import index_at
from searchidx.errors import InvalidOption, ItemNotFound
from searchidx.fields import MISSING_LAST
from searchidx.indexing import update_index
from searchidx.query import Filters
from searchidx.searching import search
from searchidx.titles import normalize_title, numbers, similarity
from tests.conftest import article, related

Write = Callable[..., Path]


# --- candidates and clusters ---------------------------------------------------------------


def test_candidates_find_what_comparing_every_pair_finds() -> None:
    rng = random.Random(3)
    words = [
        "fed",
        "rate",
        "stocks",
        "rise",
        "fall",
        "court",
        "vote",
        "storm",
        "coast",
        "mayor",
        "budget",
        "port",
        "strike",
        "union",
        "deal",
    ]
    base = [" ".join(rng.choices(words, k=rng.randint(5, 9))) for _ in range(150)]
    titles = list(base)
    for t in base[:80]:  # near copies: a word dropped or doubled, a letter changed
        w = t.split()
        i = rng.randrange(len(w))
        titles.append(
            " ".join(w[:i] + w[i + 1 :]) if rng.random() < 0.5 else t.replace(w[i], w[i] + "s", 1)
        )
    times = [None] * len(titles)
    for threshold in (80.0, 90.0):
        found = candidate_pairs(titles, times, threshold, None)
        exhaustive = {
            (i, j)
            for i, j in combinations(range(len(titles)), 2)
            if fuzz.ratio(titles[i], titles[j]) >= threshold
        }
        assert set(found) == exhaustive
        assert len(exhaustive) > 60


def test_window_limits_pairs() -> None:
    day = 86_400_000_000
    titles = ["storm hits the coast tonight"] * 3
    times = [0, 2 * day, 10 * day]
    assert set(candidate_pairs(titles, times, 90, 7)) == {(0, 1)}
    assert set(candidate_pairs(titles, times, 90, None)) == {(0, 1), (0, 2), (1, 2)}
    assert set(candidate_pairs(titles, [0, None, 10 * day], 90, 7)) == {(0, 1), (1, 2)}


def test_items_exactly_a_window_apart_are_no_copies(
    write: Callable[..., object], corpus: Path, index_path: str
) -> None:
    # A weekly column's issues, 7 days apart to the minute, were "duplicates".
    title = "The 20 Funniest Tweets From Women This Week"
    dates = ["2024-03-01T08:00:00Z", "2024-03-08T08:00:00Z", "2024-03-15T07:59:00Z"]
    for n, when in enumerate(dates):
        write(f"{n}.md", article(title, f"https://h.com/{n}", "H", "h.com", published=when))
    update_index(index_path, [str(corpus)])
    (cluster,) = find_dupes(index_path).clusters  # the last two: 6 days 23:59 apart
    assert [m.published for m in cluster.members] == [
        "2024-03-08T08:00:00Z",
        "2024-03-15T07:59:00Z",
    ]


def test_star_clusters_do_not_chain() -> None:
    # 0~1 and 1~2, but 0 and 2 are not alike: 2 must not join 0's cluster through 1.
    pairs = {(0, 1): 95.0, (1, 2): 95.0, (3, 4): 91.0}
    clusters = star_clusters([0, 1, 2, 3, 4], pairs)
    assert clusters == [[(0, 100.0), (1, 95.0)], [(2, 100.0)], [(3, 100.0), (4, 91.0)]]


def test_star_clusters_join_the_best_leader() -> None:
    pairs = {(0, 2): 91.0, (1, 2): 97.0}
    assert star_clusters([0, 1, 2], pairs) == [[(0, 100.0)], [(1, 100.0), (2, 97.0)]]


# --- on indexes ----------------------------------------------------------------------------


def titles_of(result: object) -> list[list[tuple[str, str]]]:
    return [[(m.provider, m.title) for m in c.members] for c in result.clusters]  # type: ignore[attr-defined]


def test_planted_sample_duplicates_first_publisher_first(sample_index: str) -> None:
    r = find_dupes(sample_index)
    assert [[m.provider for m in c.members] for c in r.clusters] == [
        ["Harbor Wire", "Coastal Daily", "Metro Ledger", "Civic Signal"],
        ["Civic Signal", "Northgate Herald", ""],
        ["Civic Signal", "Coastal Daily"],
        ["Pinecrest Gazette", "Valley Tribune"],
        ["Harbor Wire", "Metro Ledger"],
        ["Lantern Business Review", "Harbor Wire"],
    ]
    for c in r.clusters:
        dates = [m.published for m in c.members]
        assert dates == sorted(dates)
        assert c.members[0].similarity == 100.0
        assert all(m.similarity >= DEFAULT_THRESHOLD for m in c.members)
    assert (r.total_clusters, r.items) == (6, 50)


def test_threshold_edge_on_both_sides(sample_index: str) -> None:
    # "City Council approves $40M flood barrier plan - Coastal Daily" scores 92.6 (rounded).
    exact = similarity(
        normalize_title("City council approves $40 million flood barrier plan"),
        normalize_title(
            "City Council approves $40M flood barrier plan - Coastal Daily", "Coastal Daily"
        ),
    )
    at = find_dupes(sample_index, "flood barrier", threshold=exact)
    above = find_dupes(sample_index, "flood barrier", threshold=exact + 0.01)
    assert "Coastal Daily" in [m.provider for m in at.clusters[0].members]
    assert "Coastal Daily" not in [m.provider for m in above.clusters[0].members]


def test_query_filters_and_of(sample_index: str) -> None:
    r = find_dupes(sample_index, filters=Filters(providers=("harbor wire", "metro ledger")))
    assert [[m.provider for m in c.members] for c in r.clusters] == [
        ["Harbor Wire", "Metro Ledger"],
        ["Harbor Wire", "Metro Ledger"],
    ]
    first = find_dupes(sample_index).clusters[0].members
    of = find_dupes(sample_index, of=first[2].id)
    assert [m.id for m in of.clusters[0].members] == [m.id for m in first]
    short = find_dupes(sample_index, of=first[2].id[:6])  # as show takes it
    assert [m.id for m in short.clusters[0].members] == [m.id for m in first]
    with pytest.raises(ItemNotFound):
        find_dupes(sample_index, of="ffffffffffffffff")


def test_of_finds_a_near_duplicate_that_shares_none_of_its_rarest_words(
    write: Callable[..., object], corpus: Path, index_path: str
) -> None:
    # The first title's rarest words (each in one title) are not in the second one,
    # which "+N similar" looks candidates up by; dupes pairs the two (93.8).
    write("a.md", article("Bitcoin enthusiasm weathers chaotic week", "https://a.com/1"))
    write("b.md", article("Bitcoin's enthusiasts weather chaotic week", "https://b.com/1"))
    for n, title in enumerate(["Bitcoin prices chaotic", "Bitcoin week ahead", "A chaotic week"]):
        write(f"c{n}.md", article(title, f"https://c.com/{n}"))
    update_index(index_path, [str(corpus)])
    (cluster,) = find_dupes(index_path).clusters
    ids = sorted(m.id for m in cluster.members)
    for item in ids:
        (found,) = find_dupes(index_path, of=item).clusters
        assert sorted(m.id for m in found.members) == ids


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 101}, "--threshold must be between 0 and 100"),
        ({"window_days": -1}, "--window must not be negative"),
        ({"min_size": 1}, "--min-size must be at least 2 and --limit not negative"),
    ],
)
def test_bad_options(sample_index: str, kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidOption) as info:
        find_dupes(sample_index, **kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_incremental_updates_change_clusters(write: Write, corpus: Path, index_path: str) -> None:
    write(
        "a.md",
        article(
            "Port strike halts cargo at Ellery terminals",
            "https://harborwire.com/a",
            published="2024-01-01T08:00:00Z",
        ),
    )
    write("b.md", article("Mayor opens new library", "https://harborwire.com/b"))
    update_index(index_path, [str(corpus)], jobs=1)
    assert find_dupes(index_path).clusters == []
    write(
        "c.md",
        article(
            "Port strike halts cargo at Ellery's terminals - Coastal Daily",
            "https://coastaldaily.com/c",
            provider="Coastal Daily",
            domain="coastaldaily.com",
            published="2024-01-01T11:00:00Z",
        ),
    )
    update_index(index_path, [str(corpus)], jobs=1)
    assert titles_of(find_dupes(index_path)) == [
        [
            ("Harbor Wire", "Port strike halts cargo at Ellery terminals"),
            ("Coastal Daily", "Port strike halts cargo at Ellery's terminals - Coastal Daily"),
        ]
    ]
    write(
        "d.md",
        article(
            "Port strike halts cargo at Ellery terminals",
            "https://metroledger.com/d",
            provider="Metro Ledger",
            published="2023-12-31T23:00:00Z",
        ),
    )
    update_index(index_path, [str(corpus)], jobs=1)
    assert [m.provider for m in find_dupes(index_path).clusters[0].members] == [
        "Metro Ledger",
        "Harbor Wire",
        "Coastal Daily",
    ]
    os.unlink(corpus / "a.md")
    os.unlink(corpus / "d.md")
    update_index(index_path, [str(corpus)], jobs=1)
    assert find_dupes(index_path).clusters == []


def test_similar_counts_across_updated_segments(
    write: Write, corpus: Path, index_path: str
) -> None:
    """Counts read segment by segment skip replaced documents and see new segments."""
    from whoosh import index as windex

    from searchidx.store import IndexDir

    def counts() -> dict[str, int]:
        return {h.provider or "": h.similar for h in search(index_path, "port strike").hits}

    def segments() -> int:
        ix = windex.open_dir(IndexDir(index_path).data_dir())
        with ix.reader() as reader:
            return len(reader.leaf_readers())

    title = "Port strike halts cargo at Ellery terminals"
    write("a.md", article(title, "https://harborwire.com/a", published="2024-01-01T08:00:00Z"))
    write("b.md", article("Mayor opens new library", "https://harborwire.com/b"))
    update_index(index_path, [str(corpus)], jobs=1)
    assert counts() == {"Harbor Wire": 0}
    copy = article(
        title + " - Coastal Daily",
        "https://coastaldaily.com/c",
        provider="Coastal Daily",
        domain="coastaldaily.com",
        published="2024-01-01T11:00:00Z",
    )
    write("c.md", copy)
    update_index(index_path, [str(corpus)], jobs=1)
    assert counts() == {"Harbor Wire": 1, "Coastal Daily": 1}
    write("c.md", {**copy, "title": "Port strike talks to resume next week at Ellery"})
    write(
        "d.md",
        article(
            title,
            "https://metroledger.com/d",
            provider="Metro Ledger",
            published="2024-01-02T08:00:00Z",
        ),
    )
    update_index(index_path, [str(corpus)], jobs=1)
    assert segments() >= 2
    assert counts() == {"Harbor Wire": 1, "Coastal Daily": 0, "Metro Ledger": 1}


def test_a_segment_of_undated_items_is_read_in_place(
    write: Write, corpus: Path, index_path: str
) -> None:
    """An update whose items have no date writes a segment without the time column;
    the items after it must not shift onto other items' times (this crashed)."""
    title = "Port strike halts cargo at Ellery terminals"
    write("a.md", article(title, "https://harborwire.com/a", published="2024-01-01T08:00:00Z"))
    update_index(index_path, [str(corpus)], jobs=1)
    write("b.md", article(title, "https://example.org/b", None, published=None))
    write("c.md", article(title + " again", "https://example.org/c", None, published=None))
    update_index(index_path, [str(corpus)], jobs=1)
    result = find_dupes(index_path, window_days=None)
    assert [[m.url for m in c.members] for c in result.clusters] == [
        ["https://harborwire.com/a", "https://example.org/b", "https://example.org/c"]
    ]
    assert [m.published for m in result.clusters[0].members] == ["2024-01-01T08:00:00Z", None, None]
    assert [h.similar for h in search(index_path, "ellery").hits] == [2, 2, 2]


def test_search_marks_and_collapses_duplicates(sample_index: str) -> None:
    r = search(sample_index, "flood barrier")
    similar = {h.provider: h.similar for h in r.hits}
    # Each hit's own near-duplicates: the truncated Civic Signal headline and the "$40M"
    # one are under 90 against each other, though both are in Harbor Wire's cluster.
    assert similar == {
        "Harbor Wire": 3,
        "Coastal Daily": 2,
        "Civic Signal": 2,
        "Metro Ledger": 3,
        "Lakemont Ledger": 0,
        "Bay Chronicle": 0,
    }
    folded = search(sample_index, "flood barrier", collapse=True)
    # Bay Chronicle's feed item on the lawsuit is Coastal Daily's legal-challenge story.
    assert folded.stories == 3
    assert [(h.provider, h.also) for h in folded.hits] == [
        ("Harbor Wire", ["Coastal Daily", "Metro Ledger", "Civic Signal"]),
        ("Coastal Daily", ["Bay Chronicle"]),
        ("Lakemont Ledger", []),
    ]


def test_seed_nola_pair_is_one_collapsed_item(seeds: Path, index_path: str) -> None:
    update_index(index_path, [str(seeds)], jobs=1)
    r = search(index_path, "assurances to the contrary")
    assert r.total == 1
    assert find_dupes(index_path, "assurances").clusters == []


def test_cli_dupes_text_and_json(sample_index: str) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["--index", sample_index, "dupes", "wildfire OR sawtooth"]).output
    assert out == (
        "[1] Evacuation orders issued as Sawtooth Ridge fire grows to 12,000 acres  (2 items, 2 providers)\n"
        "    2023-08-14 22:15  Pinecrest Gazette  article  100.0  7863fc730211ff4d  https://pinecrestgazette.com/news/2023/08/14/sawtooth-ridge-fire-evacuation-orders/\n"
        "    +5h25m            Valley Tribune     article  100.0  c36f371948784259  https://www.valleytribune.net/story/news/local/2023/08/14/sawtooth-ridge-fire-evacuation-orders/70599123001/\n"
        "\n"
        "1 cluster among 6 items (threshold 90, window 7 days)\n"
    )
    data = json.loads(
        runner.invoke(cli, ["--index", sample_index, "dupes", "--format", "json"]).output
    )
    assert data["threshold"] == 90.0
    assert [c["size"] for c in data["clusters"]] == [4, 3, 2, 2, 2, 2]
    assert list(data["clusters"][0]["members"][0]) == [
        "id",
        "kind",
        "title",
        "provider",
        "published",
        "url",
        "path",
        "line",
        "similarity",
    ]
    lines = runner.invoke(
        cli, ["--index", sample_index, "dupes", "--format", "jsonl", "--limit", "1"]
    ).output.splitlines()
    assert [json.loads(x)["cluster"] for x in lines] == [1, 1, 1, 1]
    bad = runner.invoke(cli, ["--index", sample_index, "dupes", "--threshold", "120"])
    assert bad.exit_code == 2


# --- "+N similar" against the definition ---------------------------------------------------


def _within(a: int | None, b: int | None, window: int | None) -> bool:
    """Less than the window apart: items exactly a window apart are outside it."""
    return window is None or a is None or b is None or abs(a - b) < window


def reference_counts(
    index: str, threshold: float = DEFAULT_THRESHOLD, window_days: float | None = 7
) -> dict[str, int]:
    """Each live item's near-duplicate count, by id, computed as the definition reads:
    the live items other than it, published less than the window from it (or undated, or it
    undated), whose normalised title has one of its ``LOOKUP_KEYS`` rarest words (by the
    index's document frequency), score at least ``threshold`` and have its numbers."""
    snap = index_at(index).snapshot()
    live = list(snap.live())
    ids, norms = column_texts(snap, "id"), column_texts(snap, "norm")
    oldest = snap.column_values("oldest")
    times = {d: None if oldest[d] == MISSING_LAST else -oldest[d] for d in live}
    window = None if window_days is None else int(window_days * 86_400_000_000)
    out = {}
    for d in live:
        words = set(norms[d].split())
        keys = set(sorted(words, key=lambda w: (snap.title_word_count(w), w))[:LOOKUP_KEYS])
        out[ids[d]] = sum(
            1
            for e in live
            if e != d
            and keys & set(norms[e].split())
            and _within(times[d], times[e], window)
            and fuzz.ratio(norms[d], norms[e]) >= threshold
            and numbers(norms[d]) == numbers(norms[e])
        )
    return out


def counts_by_id(index: str, window_days: float | None = 7) -> dict[str, int]:
    """Each live item's count as searching gives it (``window_days`` 7), or as one
    item's lookup gives it for another window."""
    snap = index_at(index).snapshot()
    ids = column_texts(snap, "id")
    rows = list(snap.live())
    if window_days == 7:
        found = similar_counts(snap, rows)
        return {ids[d]: n for d, n in found.items()}
    lookup = Lookup(snap)
    return {
        ids[d]: len(near_duplicates(snap, d, DEFAULT_THRESHOLD, window_days, lookup=lookup))
        for d in rows
    }


_STORY_WORDS = [
    "apple", "court", "storm", "fed", "rate", "vote", "mayor", "port", "strike", "union",
    "budget", "recall", "google", "climate", "change", "iphone", "deal", "bank",
]  # fmt: skip


def _variants(base: str, rng: random.Random) -> list[str]:
    """Headlines of one story as outlets write them: copies, tags, a word changed, a
    number changed, accents, a truncation."""
    words = base.split()
    i = rng.randrange(len(words))
    return [
        base,
        f"UPDATE: {base}",
        f"{base} - Coastal Daily",
        " ".join(words[:i] + words[i + 1 :]),
        base.replace(words[i], words[i] + "s", 1),
        base.replace("3", "4"),
        base.replace("e", "é", 2),
        base.upper(),
        base[: len(base) * 2 // 3] + "...",
        f"{words[0]} {rng.randint(1, 3)}",  # short titles: few candidates' lengths fit
    ]


def _when(day: float) -> str | None:
    """A publication time ``day`` days into April 2014 (None: undated)."""
    from datetime import UTC, datetime, timedelta

    if day < 0:
        return None
    at = datetime(2014, 4, 1, tzinfo=UTC) + timedelta(days=day)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _story_file(n: int, rng: random.Random, shift: float = 0.0) -> dict[str, object]:
    """A seed-shaped article: its headline and three other outlets' related coverage
    (not in the collection), dated around it, some at the window's edge, some undated."""
    base = " ".join(rng.sample(_STORY_WORDS, rng.randint(2, 6)))
    if rng.random() < 0.5:
        base += f" {rng.randint(1, 3)}"
    titles = rng.sample(_variants(base, rng), 4)
    day = (n * 3 + shift) % 40
    offsets = [0.0, 7.0, 7.0 + 1 / 86400, -day - 1, rng.uniform(-9, 9), 6.5]
    entries = []
    for k, title in enumerate(titles[1:]):
        off = rng.choice(offsets)
        entries.append(
            related(
                title,
                f"https://outlet{k}.example/{n}/{shift}",
                f"Outlet {k}",
                f"outlet{k}.example",
                publishedDateTime=_when(day + off),
            )
        )
    return article(
        titles[0],
        f"https://harborwire.com/{n}/{shift}",
        published=_when(day),
        related=entries,
    )


def test_similar_counts_equal_the_definition_on_updated_seed_shaped_indexes(
    write: Write, corpus: Path, index_path: str
) -> None:
    """The counts a search page shows, and one item's lookup without a window, equal the
    definition's for every item, on seed-shaped files updated several times: new
    segments, replaced and removed files' deleted documents."""
    rng = random.Random(11)
    for n in range(40):
        write(f"{n:03d}.md", _story_file(n, rng))
    update_index(index_path, [str(corpus)], jobs=1)
    for step in range(1, 4):
        for n in rng.sample(range(40), 8):  # edited: their old documents are deleted
            write(f"{n:03d}.md", _story_file(n, rng, shift=step))
        for n in range(40 + 10 * step, 50 + 10 * step):
            write(f"{n:03d}.md", _story_file(n, rng))
        for name in rng.sample(sorted(os.listdir(corpus)), 3):
            os.unlink(corpus / name)
        update_index(index_path, [str(corpus)], jobs=1)
        expected = reference_counts(index_path)
        assert counts_by_id(index_path) == expected
        assert sum(expected.values()) > len(expected) // 2  # copies are there to count
        assert counts_by_id(index_path, None) == reference_counts(index_path, window_days=None)
    snap = index_at(index_path).snapshot()
    assert snap.count() < snap.rows()  # deleted documents are still there
    for name in os.listdir(corpus):
        os.unlink(corpus / name)
    update_index(index_path, [str(corpus)], jobs=1)
    assert counts_by_id(index_path) == reference_counts(index_path) == {}


def test_similar_counts_on_an_empty_index(corpus: Path, index_path: str) -> None:
    update_index(index_path, [str(corpus)], jobs=1)
    snap = index_at(index_path).snapshot()
    assert similar_counts(snap, []) == {}
    assert search(index_path, "apple").hits == []


def test_similar_counts_with_few_title_words_kept(
    write: Write, corpus: Path, index_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot keeps the title words last looked up, within a bound: words let go
    and read again, or kept and put in order of time, give the same counts."""
    from searchidx.whooshdb import snapshot

    rng = random.Random(5)
    for n in range(30):
        write(f"{n:03d}.md", _story_file(n, rng))
    update_index(index_path, [str(corpus)], jobs=1)
    for n in range(30, 40):
        write(f"{n:03d}.md", _story_file(n, rng))
    update_index(index_path, [str(corpus)], jobs=1)
    expected = reference_counts(index_path)
    monkeypatch.setattr(snapshot, "WORD_ROWS_KEPT", 20)
    assert counts_by_id(index_path) == expected  # most words let go at once
    kept = index_at(index_path).snapshot()
    assert isinstance(kept, snapshot.WhooshSnapshot)
    assert 0 < kept._word_rows_size <= 20 or len(kept._word_rows) == 1
    monkeypatch.setattr(snapshot, "WORD_ROWS_KEPT", 10**6)
    assert counts_by_id(index_path) == expected  # read again, then kept
    assert counts_by_id(index_path) == expected  # each word's rows in order of time
    assert len(kept._word_rows) > 20
    assert sum(1 for rows in kept._word_rows.values() if rows._by_time) > 5
