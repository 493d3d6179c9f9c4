"""Rendering stories: text, and rows for JSON Lines and CSV."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from searchidx.output import Style, _filters_text, display_path, lag, plural, short_date
from searchidx.stories import StoriesResult, Story

STORY_COLUMNS = (
    "story",
    "story_id",
    "id",
    "kind",
    "title",
    "provider",
    "published",
    "url",
    "path",
    "copy_of",
)


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
        where = m.url or display_path(m.path)
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
    if r.filters:
        summary += f" [{_filters_text(r.filters)}]"
    if len(r.stories) < r.total:
        summary += f"; showing {len(r.stories)}, --limit 0 for all"
    lines += ["", summary] if r.stories else [summary]
    return "\n".join(lines)


def story_rows(r: StoriesResult) -> list[dict[str, Any]]:
    """One row per member, numbered by story, for JSON Lines and CSV."""
    return [
        {"story": n, "story_id": s.id, **asdict(m)}
        for n, s in enumerate(r.stories, start=1)
        for m in s.members
    ]
