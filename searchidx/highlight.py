"""Highlighting for people: which words of a text a search matched, and a snippet
around the first of them. Words are compared as the index analyses them (stemmed,
accents folded), so "flooding" is marked for a search of "flood"."""

from __future__ import annotations

from searchidx.whooshdb.schema import text_tokens


def mark(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """Split ``text`` into (segment, matched) pieces; matched words analyse to ``terms``."""
    if not terms or not text:
        return [(text, False)]
    wanted = set(terms)
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for term, start, end in text_tokens(text):
        word = text[start:end]
        if (
            term in wanted
            # an index made before numbers kept their commas has "2" and "000" for "2,000"
            or ("," in word and all(part in wanted for part in word.split(",")))
        ) and start >= pos:  # an acronym has two terms
            if start > pos:
                pieces.append((text[pos:start], False))
            pieces.append((text[start:end], True))
            pos = end
    if pos < len(text):
        pieces.append((text[pos:], False))
    return pieces


def snippet(text: str, terms: list[str], width: int = 220) -> str:
    """A window of ``text`` around its first matched word, at most ``width`` characters."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    first = next((i for i, (piece, hit) in enumerate(mark(text, terms)) if hit), None)
    offset = 0
    if first is not None:
        offset = sum(len(p) for p, _ in mark(text, terms)[:first])
    start = max(0, min(offset - width // 3, len(text) - width))
    if start:
        start = text.find(" ", start) + 1 or start
    end = start + width
    if end < len(text):
        end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > start else end
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
