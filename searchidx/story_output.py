"""Rendering stories: text, and rows for JSON Lines and CSV."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from searchidx.output import (
    Style,
    _filters_text,
    bar,
    close_listing,
    lag,
    located,
    notes,
    plural,
    short_date,
    to_json,
)
from searchidx.show import Item
from searchidx.stories import FirstsResult, StoriesResult, Story, StoryMember

#: A story's number and id, then a member's fields, in the order JSON gives them.
STORY_COLUMNS = ("story", "story_id", *(f.name for f in fields(StoryMember)))


def _span(hours: float | None) -> str:
    if hours is None:
        return "undated"
    if hours < 48:
        return f"over {hours:g} h"
    return f"over {hours / 24:.1f} days"


def story_lines(s: Story, style: Style, heading: str) -> list[str]:
    """A story: its first publisher's title, then its members in publication order,
    each copy folded under the member it copies."""
    first = s.members[0]
    lines = [
        style.bold(f"{heading}{first.title}")
        + style.dim(
            f"  ({plural(s.outlets, 'outlet')}, {plural(s.size, 'item')}, {_span(s.span_hours)})"
        )
    ]
    pwidth = max(len(m.provider or "(no provider)") for m in s.members)
    copies: dict[str, list[int]] = {}
    for i, m in enumerate(s.members):
        if m.copy_of:
            copies.setdefault(m.copy_of, []).append(i)

    def line(i: int, indent: str) -> list[str]:
        m = s.members[i]
        when = short_date(m.published) if i == 0 else lag(first.published, m.published)
        where = m.url or located(m.path, m.line)
        out = [
            f"{indent}{when:<16}  {m.provider or '(no provider)':<{pwidth}}  {m.kind:<7}  "
            f"{m.id}  {style.link(where)}".rstrip()
        ]
        if i and not m.copy_of:
            out.append(" " * (len(indent) + 18) + style.dim(m.title))
        return out

    for i, m in enumerate(s.members):
        if m.copy_of:
            continue
        lines += line(i, "    ")
        for c in copies.get(m.id, ()):
            lines += line(c, "      = ")
    return lines


def render_stories(r: StoriesResult, style: Style) -> str:
    lines: list[str] = []
    for n, s in enumerate(r.stories, start=1):
        if n > 1:
            lines.append("")
        lines += story_lines(s, style, f"[{n}] ")
    summary = f"{plural(r.total, 'story', 'stories')} among {plural(r.items, 'item')}"
    if r.query:
        summary += f" matching {r.query!r}"
    text = close_listing(lines, summary, r.filters, len(r.stories), r.total)
    return "\n".join([text, *notes(r.partial, r.provider_suggestions)])


def story_rows(r: StoriesResult) -> list[dict[str, Any]]:
    """One row per member, numbered by story, for JSON Lines and CSV."""
    return [
        {"story": n, "story_id": s.id, **asdict(m)}
        for n, s in enumerate(r.stories, start=1)
        for m in s.members
    ]


def render_story_of(item_id: str, s: Story | None, style: Style) -> str:
    """An item's story for ``show``: its timeline, the item marked."""
    if s is None:
        return style.bold("Story:") + " no other outlet's coverage found"
    lines = story_lines(s, style, "Story: ")
    mark = f"  {item_id}  "
    return "\n".join(line.replace("    ", "  * ", 1) if mark in line else line for line in lines)


def item_json(item: Item, story: Story | None) -> str:
    """``show --format json``: the item's fields, then ``story`` (null when none)."""
    import json

    data = json.loads(to_json(item))
    data["story"] = asdict(story) if story else None
    return json.dumps(data, ensure_ascii=False, indent=2)


def render_firsts(r: FirstsResult) -> str:
    """Providers by the stories they published first, beside the stories they covered."""
    if not r.buckets:
        return "\n".join(
            ["no stories of 2 or more outlets", *notes(r.partial, r.provider_suggestions)]
        )
    width = max(len(b.value) for b in r.buckets)
    largest = max(b.first for b in r.buckets) or 1
    lines = [f"{'provider':<{width}}  {'first':>5}  {'stories':>7}"]
    for b in r.buckets:
        lines.append(f"{b.value:<{width}}  {b.first:>5}  {b.stories:>7}  {bar(b.first, largest)}")
    summary = (
        f"{plural(r.total, 'story', 'stories')} of 2+ outlets, {plural(r.distinct, 'provider')}"
    )
    if r.query:
        summary += f" matching {r.query!r}"
    if r.filters:
        summary += f" [{_filters_text(r.filters)}]"
    if len(r.buckets) < r.distinct:
        summary += f"; showing {len(r.buckets)}, --limit 0 for all"
    return "\n".join([*lines, "", summary])
