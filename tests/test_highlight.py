"""Highlighting: the words of a text a search matched (compared as the index analyses
them), and a snippet around the first of them."""

from __future__ import annotations

import pytest

from searchidx.highlight import mark, snippet


@pytest.mark.parametrize(
    ("text", "terms", "pieces"),
    [
        (
            "Floods barred; flood barriers",
            ["flood", "barrier"],
            [
                ("Floods", True),
                (" barred; ", False),
                ("flood", True),
                (" ", False),
                ("barriers", True),
            ],
        ),
        # Stems and folded accents: "flooding" is "flood", "São" is "sao".
        (
            "Flooding in São Paulo",
            ["flood", "sao"],
            [("Flooding", True), (" in ", False), ("São", True), (" Paulo", False)],
        ),
        # An acronym is its dotted term ("u.s") and its plain word ("us"), marked once.
        (
            "U.S. aid, US troops used",
            ["u.s"],
            [("U.S", True), (". aid, ", False), ("US", True), (" troops used", False)],
        ),
        (
            "U.S. aid, US troops used",
            ["us"],
            [("U.S", True), (". aid, ", False), ("US", True), (" troops used", False)],
        ),
        ("US troops used", ["use"], [("US troops ", False), ("used", True)]),
        # A search of "us" matches both terms of "US": the word is marked once.
        ("US troops", ["u.s", "us"], [("US", True), (" troops", False)]),
        ("no match here", ["flood"], [("no match here", False)]),
        ("no terms", [], [("no terms", False)]),
        ("", ["flood"], [("", False)]),
    ],
)
def test_mark(text: str, terms: list[str], pieces: list[tuple[str, bool]]) -> None:
    assert mark(text, terms) == pieces
    assert "".join(piece for piece, _ in pieces) == text


WORDS_BEFORE = " ".join(f"w{i}" for i in range(60))
WORDS_AFTER = " ".join(f"v{i}" for i in range(60))


@pytest.mark.parametrize(
    ("text", "terms", "width", "expected"),
    [
        # Short text is shown whole, its whitespace collapsed.
        ("  short   text\nhere ", ["flood"], 220, "short text here"),
        # Around the first match, cut at spaces, "…" where text was left out.
        (
            f"{WORDS_BEFORE} flood barrier {WORDS_AFTER}",
            ["flood"],
            40,
            "…w57 w58 w59 flood barrier v0 v1 v2 v3…",
        ),
        (f"flood {WORDS_AFTER}", ["flood"], 30, "flood v0 v1 v2 v3 v4 v5 v6 v7…"),
        (f"{WORDS_AFTER} flood", ["flood"], 30, "…v54 v55 v56 v57 v58 v59 flood"),
        # No match: the start of the text.
        (f"{WORDS_BEFORE} flood", ["zeppelin"], 40, "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11…"),
    ],
)
def test_snippet(text: str, terms: list[str], width: int, expected: str) -> None:
    assert snippet(text, terms, width=width) == expected
    assert len(expected) <= width + 2  # the text, and a "…" at each end


def test_a_number_with_separators_is_marked_whole() -> None:
    text = "Storm leaves 2,000 homes without power"
    marked = [("Storm leaves ", False), ("2,000", True), (" homes without power", False)]
    assert mark(text, ["2000"]) == marked
    # an index made before numbers kept their separators matches "2" and "000"
    assert mark(text, ["2", "000"]) == marked
    assert mark(text, ["2"]) == [(text, False)]
