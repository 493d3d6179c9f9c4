"""How keys are compared: provider names, topics, and column values as text."""

from __future__ import annotations

import pytest

from searchidx.fields import as_text, provider_key, topic_key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Coastal Daily", "coastal daily"),
        ("  COASTAL   daily ", "coastal daily"),
        ("Coastal\tDaily\n", "coastal daily"),
        ("Straße Zeitung", "strasse zeitung"),  # case folding, not just lower case
        ("Zoë's Desk", "zoë's desk"),  # accents are kept
        ("NOLA.com", "nola.com"),
        ("", ""),
    ],
)
def test_provider_key(name: str, key: str) -> None:
    assert provider_key(name) == key


@pytest.mark.parametrize(
    ("topic", "key"),
    [
        ("Climate", "climate"),
        ("  Computer   Vision ", "computer vision"),
        ("Labor, Unions", "labor unions"),  # a comma would split the keyword field
        ("a,b,,c", "a b c"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),
        (",", ""),
    ],
)
def test_topic_key(topic: str, key: str) -> None:
    assert topic_key(topic) == key


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (b"harborwire.com", "harborwire.com"),
        ("Zoë".encode(), "Zoë"),
        ("already text", "already text"),
        (42, "42"),
        (b"", ""),
    ],
)
def test_as_text(value: object, text: str) -> None:
    assert as_text(value) == text
