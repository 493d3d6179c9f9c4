"""The stored item and its JSON form."""

from __future__ import annotations

import json

import pytest

from searchidx.items import Listed, StoredItem, encode

LISTED: Listed = {
    "id": "b" * 16,
    "title": "Other outlet's take",
    "titles": ["Other outlet's take"],
    "urls": ["https://other.example/a"],
    "url": "https://other.example/a",
    "excerpt": "",
    "provider": "Other",
    "domain": "other.example",
    "published": "2024-01-02T03:04:05Z",
    "type": "",
    "quality": None,
}
ITEM = StoredItem(
    id="a" * 16,
    kind="article",
    title='Zoë\'s "flood" plan',
    titles=['Zoë\'s "flood" plan'],
    urls=["https://harbor.example/a"],
    url="https://harbor.example/a",
    excerpt="Line one\nline two",
    provider="Harbor Wire",
    domain="harbor.example",
    topics=["Flooding"],
    published="2024-01-01T00:00:00Z",
    quality=0.5,
    images=2,
    path="/news/a.md",
    line=3,
    related=[LISTED],
)


def test_json_round_trip_keeps_every_field() -> None:
    assert StoredItem.from_json(ITEM.to_json()) == ITEM
    assert StoredItem.from_json(ITEM.to_json().encode("utf-8")) == ITEM


def test_stored_form_is_compact_utf8_with_related_last() -> None:
    text = ITEM.to_json()
    assert "Zoë" in text and ", " not in text and ": " not in text
    assert list(json.loads(text))[-1] == "related"


@pytest.mark.parametrize("related", [[LISTED], [LISTED, {**LISTED, "id": "c" * 16}], []])
def test_spliced_related_entries_give_the_same_text(related: list[Listed]) -> None:
    item = StoredItem.from_json(ITEM.to_json())
    item.related = related
    assert item.to_json([encode(r) for r in related]) == item.to_json()


def test_a_related_item_has_no_file() -> None:
    item = StoredItem("x", "related", "T", ["T"], [], "", "", "", "")
    assert (item.path, item.line, item.related, item.topics) == ("", None, [], [])
    assert StoredItem.from_json(item.to_json()) == item
