"""Facet counts on seed-shaped indexes updated several times (many segments, deleted
documents, several files with one URL), checked against a straightforward count of
the live items' stored records: over every item (from the tallies written with each
segment, or from columns when a segment has none), over a few items (values read one
by one) and over most of them (whole columns)."""

from __future__ import annotations

import json
import os
import random
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from searchidx import indexing
from searchidx.engine import Index
from searchidx.facets import NONE, TIME_FIELDS, FacetResult, facet_counts, period_label
from searchidx.fields import provider_key, topic_key
from searchidx.indexing import update_index
from searchidx.query import Filters
from searchidx.whooshdb.bulk import MappedColumn
from searchidx.whooshdb.snapshot import WHOLE_SHARE, WhooshSnapshot, tally, whole_values
from searchidx.whooshdb.tallies import EXT, TALLIED, read_tally
from tests.conftest import front_matter

WORDS = ["court", "vote", "storm", "bank", "deal", "market", "apple", "phone", "rates", "oil"]
# (spelling, domain): spellings of one provider differ in case and spacing, and some
# providers have several domains.
OUTLETS = [
    ("Harbor Wire", "harborwire.com"),
    ("HARBOR wire", "harborwire.com"),
    ("Harbor  Wire", "harborwire.net"),
    ("Coastal Daily", "coastaldaily.com"),
    ("coastal daily", "m.coastaldaily.com"),
    ("Metro Ledger", "metroledger.com"),
    ("Civic Signal", "civicsignal.org"),
    ("Straße Zeitung", "strasse.de"),
    ("STRASSE ZEITUNG", "strasse.de"),
    ("Valley Tribune", ""),
]
TOPICS = ["Climate", "climate", "Labor", "Health", "AI"]


def _article(rng: random.Random, n: int, url: str, tag: str = "") -> dict[str, Any]:
    """One seed-shaped article: its related list names 2-5 other outlets' coverage,
    none of it an article of the collection."""
    title = " ".join(rng.sample(WORDS, 3)) + f" {tag}{n}"
    fields: dict[str, Any] = {"title": title, "webUrl": url}
    if rng.random() < 0.9:
        month, day, hour = rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23)
        fields["publishedDateTime"] = f"2014-{month:02}-{day:02}T{hour:02}:30:00Z"
    if rng.random() < 0.92:
        name, domain = rng.choice(OUTLETS)
        fields["provider"] = {"name": name, "domain": domain}
    topics = rng.sample(TOPICS, rng.choice([0, 1, 1, 2]))
    if topics:
        fields["topics"] = topics
    related = []
    for j in range(rng.randint(2, 5)):
        name, domain = rng.choice(OUTLETS)
        entry: dict[str, Any] = {
            "title": f"{title} as told by {j}",
            "webUrl": f"https://other{j}.example/{tag}{n}/{j}",
            "provider": {"name": name, "domain": domain},
        }
        if rng.random() < 0.7:
            entry["publishedDateTime"] = f"2014-{rng.randint(1, 12):02}-{rng.randint(1, 28):02}"
        related.append(entry)
    fields["related"] = related
    return fields


def _write(corpus: Path, name: str, fields: dict[str, Any]) -> None:
    (corpus / name).write_text(front_matter(fields), encoding="utf-8")


@pytest.fixture(scope="module")
def updated(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A seed-shaped index built in parallel, then updated five times: edited files
    (new titles, providers and related lists), new files, removed files, and files
    repeating another's URL."""
    rng = random.Random(11)
    base = tmp_path_factory.mktemp("facets-exact")
    corpus, index = base / "corpus", str(base / "index")
    corpus.mkdir()
    for n in range(120):
        _write(corpus, f"{n:04}.md", _article(rng, n, f"https://seed.example/{n}"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(indexing, "BIG_BUILD", 50)
        assert update_index(index, [str(corpus)], jobs=2).failed == 0
    for step in range(5):
        for n in rng.sample(range(120), 15):  # edited
            if (corpus / f"{n:04}.md").exists():
                url = f"https://seed.example/{n}"
                _write(corpus, f"{n:04}.md", _article(rng, n, url, f"e{step}-"))
        for n in range(4):  # new
            number = 1000 + 10 * step + n
            _write(corpus, f"{number}.md", _article(rng, number, f"https://new.example/{number}"))
        for n in rng.sample(range(120), 3):  # removed
            (corpus / f"{n:04}.md").unlink(missing_ok=True)
        for n in rng.sample(range(120), 2):  # another file with the same URL
            url = f"https://seed.example/{n}"
            _write(corpus, f"copy-{step}-{n}.md", _article(rng, n, url, f"c{step}-"))
        assert update_index(index, [str(corpus)], jobs=1).failed == 0
    return index


def _snapshot(index: str) -> Iterator[WhooshSnapshot]:
    with Index(index) as opened:
        snap = opened.snapshot()
        assert isinstance(snap, WhooshSnapshot)
        yield snap


def _straight(index: str, field: str, rows: list[int] | None, by_domain: bool = False) -> Any:
    """Buckets as (value, count, also) counted from the stored records of the live
    ``rows`` (every live item when None), in the order facets list them, empty periods
    left out."""
    with Index(index) as opened:
        snap = opened.snapshot()
        items = [snap.item(r) for r in (snap.live() if rows is None else rows)]
    if field == "topic":
        topics: Counter[str] = Counter()
        for item in items:
            topics.update({topic_key(t) for t in item.topics} or {NONE})
        return sorted(topics.items())
    if field in TIME_FIELDS:
        periods: Counter[str] = Counter()
        for item in items:
            when = item.published and datetime.fromisoformat(item.published).astimezone(UTC)
            periods[period_label(field, when.date()) if when else NONE] += 1
        return sorted(periods.items(), key=lambda p: (p[0] == NONE, p[0]))
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    others: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        if field == "kind":
            key, label, other = item.kind, item.kind, ""
        elif field == "domain" or by_domain:
            key, label, other = item.domain or NONE, item.domain or NONE, item.provider
        else:
            key, label, other = provider_key(item.provider), item.provider, item.domain
        groups[key][label] += 1
        others[key][other] += 1
    buckets = []
    for key, labels in groups.items():
        best = min(labels, key=lambda v: (-labels[v], v)) if key else NONE
        ranked = sorted((v for v in others[key] if v), key=lambda v: (-others[key][v], v))
        buckets.append((best, labels.total(), [] if field == "kind" else ranked))
    return sorted(buckets, key=lambda b: (-b[1], b[0].casefold(), b[0]))


def _shown(result: FacetResult) -> Any:
    if result.field == "topic":
        return sorted((topic_key(b.value), b.count) for b in result.buckets)
    if result.field in TIME_FIELDS:
        return [(b.value, b.count) for b in result.buckets if b.count]
    return [(b.value, b.count, b.also) for b in result.buckets]


FIELDS = ["provider", "domain", "kind", "topic", "year", "month", "week", "day"]


def test_the_index_is_of_many_segments_with_deletions_and_tallies(updated: str) -> None:
    for snap in _snapshot(updated):
        leaves = [leaf for leaf, _ in snap.reader.leaf_readers()]
        assert len(leaves) >= 3
        assert sum(len(leaf.deleted_docs_set) for leaf in leaves if leaf.has_deletions()) > 50
        for leaf in leaves:  # every segment, of the parallel build, updates and merges
            for names in TALLIED:
                found = read_tally(leaf, names)
                assert found == tally([whole_values(leaf, name) for name in names])


@pytest.mark.parametrize("field", FIELDS)
def test_every_item(updated: str, field: str) -> None:
    result = facet_counts(updated, field, limit=0)
    expected = _straight(updated, field, None)
    assert _shown(result) == expected
    for snap in _snapshot(updated):
        assert result.total == snap.count() == len(snap.live()) > 500


def test_every_item_by_domain(updated: str) -> None:
    result = facet_counts(updated, "provider", by_domain=True, limit=0)
    assert _shown(result) == _straight(updated, "domain", None)
    assert result.by_domain


# A few items (values read one by one) and most of them (whole columns).
SUBSETS = [
    ("court", Filters()),
    ("court OR vote OR storm OR bank OR deal OR market OR oil", Filters()),
    ("*", Filters(kind="related")),
    ("*", Filters(providers=("harbor wire",))),
]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(("text", "filters"), SUBSETS)
def test_some_items(updated: str, field: str, text: str, filters: Filters) -> None:
    result = facet_counts(updated, field, text, filters, limit=0)
    for snap in _snapshot(updated):
        rows = snap.match(text, filters)
        share = len(rows) / snap.rows()
    assert 0 < share < 1
    assert _shown(result) == _straight(updated, field, rows)
    assert result.total == len(rows)


def test_the_subsets_are_small_and_large_shares(updated: str) -> None:
    for snap in _snapshot(updated):
        shares = [len(snap.match(text, filters)) / snap.rows() for text, filters in SUBSETS]
        assert min(shares) < WHOLE_SHARE <= max(shares)


def _copy(index: str, to: Path) -> str:
    shutil.copytree(index, to)
    return str(to)


def _tally_files(index: str) -> list[Path]:
    for snap in _snapshot(index):
        return sorted(Path(snap.folder).glob(f"*{EXT}"))
    return []


@pytest.mark.parametrize(
    "damage", ["removed", "garbage", "short", "one more", "other version", "one removed"]
)
def test_segments_without_good_tallies_are_counted_from_columns(
    updated: str, tmp_path: Path, damage: str
) -> None:
    index = _copy(updated, tmp_path / "copy")
    files = _tally_files(index)
    assert len(files) >= 3
    for path in files[:1] if damage == "one removed" else files:
        text = path.read_text(encoding="ascii")
        if damage in ("removed", "one removed"):
            path.unlink()
        elif damage == "garbage":
            path.write_bytes(b"\x00{not json")
        elif damage == "short":
            path.write_text(text[: len(text) // 2], encoding="ascii")
        elif damage == "one more":  # a count that does not add up to the documents
            payload = json.loads(text)
            payload["tallies"][0]["counts"][0] += 1
            path.write_text(json.dumps(payload), encoding="ascii")
        else:
            path.write_text(text.replace('"version":1', '"version":0'), encoding="ascii")
    for field in ("provider", "domain", "kind", "month"):
        result = facet_counts(index, field, limit=0)
        assert _shown(result) == _straight(updated, field, None)


def test_an_index_whose_items_are_all_removed(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", str(tmp_path / "index")
    corpus.mkdir()
    rng = random.Random(3)
    for n in range(6):
        _write(corpus, f"{n}.md", _article(rng, n, f"https://seed.example/{n}"))
    assert update_index(index, [str(corpus)], jobs=1).failed == 0
    assert facet_counts(index, "provider", limit=0).total > 6
    for path in corpus.iterdir():
        os.unlink(path)
    update_index(index, [str(corpus)], jobs=1)
    for field in FIELDS:
        result = facet_counts(index, field, limit=0)
        assert (result.total, result.buckets, result.distinct) == (0, [], 0)


@pytest.mark.parametrize("name", ["provider_name", "domain", "kind", "month"])
def test_mapped_values_taken_in_bulk_equal_those_read_one_by_one(updated: str, name: str) -> None:
    for snap in _snapshot(updated):
        column = snap.column(name, translate=False)
        assert isinstance(column, MappedColumn)
        rows = snap.rows()
        every = list(range(rows))
        rng = random.Random(1)
        picked = sorted(rng.sample(every, rows // 3))
        for taken in (every, picked, picked[::-1], [5, 5, 2, rows - 1], [], [rows - 1]):
            assert column.take(taken) == [column[row] for row in taken]
        assert column.take(every) == list(whole_values_of(snap, name))
        for bad in ([0, rows], [-1], [rows, 0]):
            with pytest.raises(IndexError):
                column.take(bad)


def whole_values_of(snap: WhooshSnapshot, name: str) -> list[Any]:
    return [v for leaf, _ in snap.reader.leaf_readers() for v in whole_values(leaf, name)]


def test_an_update_tallies_the_segments_written_without(tmp_path: Path) -> None:
    """An index written before tallies existed (its tallies removed here) gets them at
    its next update, for every segment, counted from the columns."""
    corpus, index = tmp_path / "corpus", str(tmp_path / "index")
    corpus.mkdir()
    rng = random.Random(9)
    for step in range(3):  # several segments, with deleted documents
        for n in range(12 * step, 12 * step + 30):
            _write(corpus, f"{n:03}.md", _article(rng, n, f"https://seed.example/{n}", f"{step}-"))
        assert update_index(index, [str(corpus)], jobs=1).failed == 0
    for path in _tally_files(index):
        path.unlink()
    for field in FIELDS:  # counted from the columns
        assert _shown(facet_counts(index, field, limit=0)) == _straight(index, field, None)
    _write(corpus, "000.md", _article(rng, 0, "https://seed.example/0", "again-"))
    assert update_index(index, [str(corpus)], jobs=1).failed == 0
    for snap in _snapshot(index):
        leaves = [leaf for leaf, _ in snap.reader.leaf_readers()]
        assert len(leaves) >= 2 and any(leaf.has_deletions() for leaf in leaves)
        for leaf in leaves:
            for names in TALLIED:
                found = read_tally(leaf, names)
                assert found == tally([whole_values(leaf, name) for name in names])
        assert not [n for n in os.listdir(snap.folder) if ".tmp-" in n]
    for field in FIELDS:
        result = facet_counts(index, field, limit=0)
        assert _shown(result) == _straight(index, field, None)
