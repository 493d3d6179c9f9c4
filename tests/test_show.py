"""``show``: one item in full, with the coverage it lists and the articles citing it, on
real indexes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from searchidx.errors import ItemNotFound
from searchidx.indexing import update_index
from searchidx.query import Filters
from searchidx.searching import search
from searchidx.show import show
from tests.conftest import article, related


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


def test_show_by_url(sample_index: str) -> None:
    hit = search(sample_index, "flood").hits[0]
    assert hit.url.startswith("https://www.")
    assert show(sample_index, hit.url).id == hit.id
    other_form = hit.url.replace("https://www.", "http://") + "/?utm_source=feed"
    assert show(sample_index, other_form).id == hit.id  # one URL, as indexing takes it
    with pytest.raises(ItemNotFound) as info:
        show(sample_index, "https://nowhere.example/x")
    assert str(info.value) == "no item with the URL 'https://nowhere.example/x'"


def test_show_unknown_id(sample_index: str) -> None:
    with pytest.raises(ItemNotFound, match="no item with id 'ffffffff'"):
        show(sample_index, "ffffffff")
    hit = search(sample_index, "flood").hits[0]
    with pytest.raises(ItemNotFound) as info:
        show(sample_index, hit.id[:3])
    assert str(info.value) == (
        f"no item with id {hit.id[:3]!r} (an id may be shortened to 4 or more characters)"
    )


def test_show_lists_related_coverage_and_citing_articles_by_date(
    write: Callable[..., Path], corpus: Path, index_path: str
) -> None:

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
