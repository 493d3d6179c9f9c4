"""Rendering results for people (aligned text, colour on terminals) and for machines
(JSON, JSON Lines, CSV). Machine output is ``dataclasses.asdict`` of the result types."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from searchidx.copies import DupesResult
    from searchidx.facets import FacetResult
    from searchidx.indexing import IndexSummary
    from searchidx.searching import SearchResult
    from searchidx.show import Item
    from searchidx.stats import Stats

FORMATS = ("text", "json", "jsonl", "csv")
HIT_COLUMNS = (
    "id",
    "kind",
    "title",
    "excerpt",
    "provider",
    "domain",
    "topics",
    "published",
    "url",
    "path",
    "line",
    "score",
    "match",
    "similar",
    "also",
)


COLOR_MODES = ("auto", "always", "never")


def use_color(stream: TextIO, mode: str = "auto") -> bool:
    """Whether to colour ``stream`` under ``--color MODE``: ``always`` and ``never``
    decide; ``auto`` colours only a terminal, and never when NO_COLOR is set
    (https://no-color.org) or TERM is dumb."""
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class Style:
    """ANSI styling that becomes plain text when colour is off."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def _sgr(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text

    def bold(self, text: str) -> str:
        return self._sgr("1", text)

    def dim(self, text: str) -> str:
        return self._sgr("2", text)

    def match(self, text: str) -> str:
        return self._sgr("1;33", text)

    def link(self, text: str) -> str:
        return self._sgr("36", text)


def to_json(obj: Any) -> str:
    return json.dumps(asdict(obj), ensure_ascii=False, indent=2)


def to_jsonl(rows: Iterable[Any]) -> str:
    """One JSON object a line, from dataclasses or dicts."""
    return "".join(
        json.dumps(r if isinstance(r, dict) else asdict(r), ensure_ascii=False) + "\n" for r in rows
    )


def to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "; ".join(v) if isinstance(v, list) else v for k, v in row.items()})
    return buf.getvalue()


def short_date(iso: str | None) -> str:
    """``2024-03-05T09:00:00Z`` as ``2024-03-05 09:00``."""
    if not iso:
        return "(no date)"
    return iso[:16].replace("T", " ")


def display_path(path: str) -> str:
    """A path relative to the working folder when it lies below it, printable."""
    from searchidx.errors import printable

    if not path:
        return ""
    rel = os.path.relpath(path)
    return printable(path if rel.startswith("..") else rel)


def located(path: str, line: int | None) -> str:
    """Where an item is read from: its path (see :func:`display_path`), then
    ``:line`` when it has a line (a JSON Lines article, a feed item, a table row)."""
    shown = display_path(path)
    return f"{shown}:{line}" if shown and line else shown


def plural(n: int, noun: str, nouns: str = "") -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {nouns or noun + 's'}"


# --- index -------------------------------------------------------------------------------------


def render_summary(s: IndexSummary) -> str:
    return (
        f"added {s.added}, updated {s.updated}, removed {s.removed}, "
        f"unchanged {s.unchanged}, failed {s.failed}, skipped {plural(s.skipped, 'record')} "
        f"in {s.seconds:.2f}s "
        f"({plural(s.items, 'item')} from {plural(s.files, 'file')} in {s.index})"
    )


# --- search ------------------------------------------------------------------------------------


def _marked(text: str, terms: list[str], style: Style) -> str:
    from searchidx.highlight import mark

    if not style.color:
        return text
    return "".join(style.match(piece) if hit else piece for piece, hit in mark(text, terms))


def _filters_text(filters: dict[str, Any]) -> str:
    """``provider: NOLA.com; kind: article`` (plural names for several values)."""
    parts = []
    for key, value in filters.items():
        if isinstance(value, list):
            key = key if len(value) > 1 else key.removesuffix("s")
            value = ", ".join(value)
        parts.append(f"{key}: {value}")
    return "; ".join(parts)


#: Characters of the query echoed in text output; a longer one is cut with "…".
ECHO_WIDTH = 80


def shortened(text: str, width: int = ECHO_WIDTH) -> str:
    """``text`` cut to ``width`` characters, "…" included, when it is longer."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def render_search(r: SearchResult, style: Style) -> str:
    from searchidx.highlight import snippet

    lines = []
    head = f"{plural(r.total, 'result')} for {shortened(r.query)!r}"
    if r.stories is not None:
        head += f" in {plural(r.stories, 'story', 'stories')}"
    head += f" ({r.seconds * 1000:.0f} ms)"
    if r.filters:
        head += f" [{_filters_text(r.filters)}]"
    lines.append(style.bold(head))
    if r.partial:
        lines.append("No item has all the words; showing the best partial matches.")
    if r.suggestion:
        lines.append(f"Did you mean: {shortened(r.suggestion)}?")
    if r.provider_suggestions:
        lines.append(provider_note(r.provider_suggestions))
    if r.provider_named:
        lines.append(
            f"{r.provider_named} is a provider: --provider {_quoted(r.provider_named)} "
            f"shows its {plural(r.provider_items, 'item')}."
        )
    first = (r.page - 1) * r.limit
    if r.total and not r.hits:
        lines.append(f"(page {r.page} is past the last result)")
    for n, hit in enumerate(r.hits, start=first + 1):
        lines.append("")
        lines.append(f"{n:>3}. {_marked(hit.title, r.terms, style)}")
        meta = [
            hit.provider or "(no provider)",
            short_date(hit.published),
            hit.kind,
            f"id {hit.id}",
        ]
        if hit.similar:
            meta.append(f"+{hit.similar} similar")
        lines.append("     " + style.dim(" · ".join(meta)))
        if hit.also:
            lines.append("     also: " + ", ".join(hit.also))
        if hit.excerpt:
            lines.append("     " + _marked(snippet(hit.excerpt, r.terms), r.terms, style))
        where = hit.url or located(hit.path, hit.line)
        if where:
            lines.append("     " + style.link(where))
    shown_to = first + len(r.hits)
    count = r.total if r.stories is None else r.stories
    if r.hits and shown_to < count:
        lines.append("")
        lines.append(
            style.dim(f"showing {first + 1}-{shown_to} of {count}; --page {r.page + 1} for more")
        )
    return "\n".join(lines)


def render_hits_csv(r: SearchResult) -> str:
    return to_csv((asdict(h) for h in r.hits), HIT_COLUMNS)


# --- show and stats ---------------------------------------------------------------------------


def render_item(item: Item, style: Style) -> str:
    lines = [style.bold(item.title)]
    for other in item.titles:
        if other != item.title:
            lines.append(f"  also titled: {other}")
    fields = [
        ("id", item.id),
        ("kind", item.kind),
        ("provider", _provider_line(item.provider, item.domain)),
        ("published", short_date(item.published) if item.published else ""),
        ("topics", ", ".join(item.topics)),
        ("category", item.category),
        ("type", item.type),
        ("quality", "" if item.quality is None else f"{item.quality:g}"),
        ("heat", "" if item.heat is None else f"{item.heat:g}"),
        ("status", {True: "published", False: "not published", None: ""}[item.is_published]),
        ("images", str(item.images) if item.images else ""),
        ("url", item.url),
        ("path", located(item.path, item.line)),
    ]
    for label, value in fields:
        if value:
            lines.append(f"  {label + ':':<11}{value}")
    for url in item.urls:
        if url != item.url:
            lines.append(f"  {'also at:':<11}{url}")
    if item.excerpt:
        lines += ["", "  " + item.excerpt]
    for label, refs in (("Related coverage", item.related), ("Cited by", item.cited_by)):
        if refs:
            lines += ["", f"{label} ({len(refs)}):"]
            for ref in refs:
                lines.append(
                    f"  {ref.id}  {short_date(ref.published)}  {ref.provider or '(no provider)'}: "
                    f"{ref.title}"
                )
    return "\n".join(lines)


def _provider_line(name: str, domain: str) -> str:
    if name and domain:
        return f"{name} ({domain})"
    return name or (f"{domain} (no name given)" if domain else "")


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def render_stats(s: Stats) -> str:
    rows = [
        ("index", s.index),
        ("items", f"{s.items} ({s.articles} articles, {s.related} related)"),
        ("files", str(s.files)),
        ("providers", str(s.providers)),
        ("topics", str(s.topics)),
        (
            "published",
            f"{short_date(s.first_published)} to {short_date(s.last_published)}"
            if s.first_published
            else "(no dates)",
        ),
        ("size", human_size(s.size_bytes)),
        ("updated", s.last_update or "(never)"),
        ("schema", f"version {s.schema_version}"),
    ]
    return "\n".join(f"{label + ':':<11}{value}" for label, value in rows)


# --- facets ----------------------------------------------------------------------------------

_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(count: int, largest: int, width: int = 24) -> str:
    """A bar of Unicode blocks, ``width`` cells for ``largest``, in eighths of a cell."""
    if largest <= 0 or count <= 0:
        return ""
    eighths = max(1, round(count / largest * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def _share(count: int, total: int) -> str:
    return f"{count / total * 100:.1f}%" if total else "-"


def render_facets(r: FacetResult, style: Style) -> str:
    names = {
        "provider": "providers",
        "domain": "domains",
        "topic": "topics",
        "kind": "kinds",
        "year": "years",
        "month": "months",
        "week": "weeks",
        "day": "days",
    }
    label = "domain" if r.by_domain else r.field
    lines = []
    scope = []
    if r.query:
        scope.append(f"matching {shortened(r.query)!r}")
    if r.filters:
        scope.append(f"[{_filters_text(r.filters)}]")
    if scope:
        lines.append(style.bold(f"{label} counts of items " + " ".join(scope)))
    width = max([len(label), *(len(b.value) for b in r.buckets)])
    cwidth = max(5, *(len(str(b.count)) for b in r.buckets)) if r.buckets else 5
    largest = max((b.count for b in r.buckets), default=0)
    lines.append(style.dim(f"{label:<{width}}  {'count':>{cwidth}}   share"))
    for b in r.buckets:
        row = f"{b.value:<{width}}  {b.count:>{cwidth}}  {_share(b.count, r.total):>6}  "
        row += f"{bar(b.count, largest):<24}"
        if b.also:
            row += "  " + style.dim(", ".join(b.also))
        lines.append(row.rstrip())
    hidden = r.hidden
    if hidden > 0:
        lines.append(style.dim(f"… {plural(hidden, 'more value')} ({plural(r.other, 'item')})"))
    noun = "domains" if r.by_domain else names[r.field]
    lines.append(
        f"{plural(r.total, 'item')}, {r.distinct} {noun if r.distinct != 1 else noun[:-1]}"
    )
    lines += notes(r.partial, r.provider_suggestions)
    return "\n".join(lines)


def render_facets_csv(r: FacetResult) -> str:
    rows = (
        {
            "value": b.value,
            "count": b.count,
            "share": round(b.count / r.total, 6) if r.total else 0,
            "also": b.also,
        }
        for b in r.buckets
    )
    return to_csv(rows, ("value", "count", "share", "also"))


# --- duplicate stories ---------------------------------------------------------------------


def lag(first: str | None, later: str | None) -> str:
    """How long after the first member another was published: ``+3h30m``, ``+2d4h``."""
    from datetime import datetime

    if not first or not later:
        return "(no date)"
    minutes = int(
        (datetime.fromisoformat(later) - datetime.fromisoformat(first)).total_seconds() // 60
    )
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"+{days}d{hours}h"
    return f"+{hours}h{mins:02d}m" if hours else f"+{mins}m"


def render_dupes(r: DupesResult, style: Style) -> str:
    lines = []
    for n, c in enumerate(r.clusters, start=1):
        first = c.members[0]
        providers = len({m.provider.casefold() for m in c.members})
        if n > 1:
            lines.append("")
        lines.append(
            style.bold(f"[{n}] {first.title}")
            + style.dim(f"  ({plural(c.size, 'item')}, {plural(providers, 'provider')})")
        )
        pwidth = max(len(m.provider or "(no provider)") for m in c.members)
        for i, m in enumerate(c.members):
            when = short_date(m.published) if i == 0 else lag(first.published, m.published)
            where = m.url or located(m.path, m.line)
            lines.append(
                f"    {when:<16}  {m.provider or '(no provider)':<{pwidth}}  {m.kind:<7}  "
                f"{m.similarity:5.1f}  {m.id}  {style.link(where)}".rstrip()
            )
            if m.title != first.title:
                lines.append(" " * 24 + style.dim(m.title))
    window = "no window" if r.window_days is None else f"window {r.window_days:g} days"
    summary = (
        f"{plural(r.total_clusters, 'cluster')} among {plural(r.items, 'item')} "
        f"(threshold {r.threshold:g}, {window})"
    )
    if r.of:
        found = plural(max(0, r.items - 1), "near-duplicate")
        summary = f"{found} of {r.of} (threshold {r.threshold:g}, {window})"
    text = close_listing(lines, summary, r.filters, len(r.clusters), r.total_clusters)
    return "\n".join([text, *notes(r.partial, r.provider_suggestions)])


def provider_note(closest: list[str]) -> str:
    """What a command says when its --provider names no known provider."""
    return "No such provider is known. Closest: " + ", ".join(closest)


def notes(partial: int, closest: list[str]) -> list[str]:
    """The lines that end a listing of nothing: why (see :func:`partial_note` and
    :func:`provider_note`)."""
    return ([partial_note(partial)] if partial else []) + (
        [provider_note(closest)] if closest else []
    )


def partial_note(items: int) -> str:
    """What a command that counts only items having every word of its query says when
    none has them all and some have some (as ``search`` shows them)."""
    have = "has" if items == 1 else "have"
    return (
        f"No item has all the words; {plural(items, 'item')} {have} some of them "
        "(search shows them as partial matches)."
    )


def close_listing(
    lines: list[str], summary: str, filters: dict[str, Any], shown: int, total: int
) -> str:
    """A listing's text: its lines, then (after a blank line, if there are any) the
    summary with the filters in force and how many of the total were shown."""
    if filters:
        summary += f" [{_filters_text(filters)}]"
    if shown < total:
        summary += f"; showing {shown}, --limit 0 for all"
    return "\n".join([*lines, "", summary] if shown else [*lines, summary])


def dupes_rows(r: DupesResult) -> list[dict[str, Any]]:
    """One row per member, numbered by cluster, for JSON Lines and CSV."""
    return [
        {"cluster": n, **asdict(m)} for n, c in enumerate(r.clusters, start=1) for m in c.members
    ]


DUPES_COLUMNS = (
    "cluster",
    "id",
    "kind",
    "title",
    "provider",
    "published",
    "url",
    "path",
    "line",
    "similarity",
)


def _quoted(text: str) -> str:
    """A value as it is typed on a command line: quoted when it has more than one word."""
    return f'"{text}"' if " " in text else text
