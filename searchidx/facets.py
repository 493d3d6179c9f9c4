"""Facet counts: who covered a subject, how much, and when.

Counts are exact. The matching items are the query's documents that pass the filters;
each is then counted under its value of the facet field, read from Whoosh's per-document
columns (provider, domain, kind, month, and the publication time for days and weeks)
or, for the multi-valued topics, from the topic postings, so an item with two topics
counts once under each. Items without a value are counted under ``(none)``, never
dropped.

Timelines (year, month, ISO week, day, in UTC) list every period of their span, from
the first matching item's to the last's (or from ``--since`` and to ``--until``), with
zero for the empty ones: a quiet month is a zero, not a gap.

Providers are grouped by name compared case-insensitively with whitespace trimmed and
collapsed; each bucket shows the spelling seen most often and the domains seen for it.
``by_domain`` groups by domain instead, showing the provider names seen for each.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from searchidx import options
from searchidx.backend import Snapshot, why_nothing
from searchidx.engine import Index, index_at, reads_index
from searchidx.errors import InvalidOption
from searchidx.fields import MISSING_LAST, as_text, provider_key, topic_key
from searchidx.query import NONE, Filters, split_dates

FIELDS = options.FACET_FIELDS
#: Timelines: counted by period, in time order, with the empty periods of their span.
TIME_FIELDS = options.TIME_FIELDS
#: A timeline longer than this is refused (an item dated in year 1 would make a
#: day timeline of 740,000 periods).
MAX_PERIODS = 20_000


@dataclass(slots=True)
class Bucket:
    """One value and how many matching items have it."""

    value: str
    count: int
    also: list[str] = dataclasses.field(default_factory=list)


@dataclass(slots=True)
class FacetResult:
    """Counts for one field over the items matching a query and filters."""

    field: str
    query: str | None
    total: int
    #: Values the matching items have; "(none)", for items without one, is not a value.
    distinct: int
    buckets: list[Bucket]
    other: int = 0
    #: Buckets not shown (past --limit or under --min-count), "(none)" included.
    hidden: int = 0
    by_domain: bool = False
    filters: dict[str, Any] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    #: No item has all the query's words, and this many have some (as search shows).
    partial: int = 0
    #: Known providers closest to a --provider that none is (when nothing matched).
    provider_suggestions: list[str] = dataclasses.field(default_factory=list)


@reads_index
def facet_counts(
    index: Index | str,
    fieldname: str,
    query: str | None = None,
    filters: Filters | None = None,
    *,
    by_domain: bool = False,
    limit: int | None = None,
    min_count: int = 1,
    literal: bool = False,
) -> FacetResult:
    """Count the matching items by ``fieldname``. ``limit`` 0 shows every value; None
    shows 20, or a timeline's every period."""
    if limit is None:
        limit = 0 if fieldname in TIME_FIELDS else options.FACET_LIMIT
    if fieldname not in FIELDS:
        raise InvalidOption(f"field must be one of {', '.join(FIELDS)}")
    if limit < 0 or min_count < 0:
        raise InvalidOption("--limit and --min-count must not be negative")
    started = time.perf_counter()
    grouped_by = "domain" if by_domain and fieldname == "provider" else fieldname
    snap = index_at(index).snapshot()
    text, filters = query or "*", filters or Filters()
    if not literal:
        text, filters = split_dates(text, filters)
    # Every live item: counted without listing them.
    everything = text.strip() in ("", "*") and filters == Filters()
    docs = None if everything else snap.match(text, filters, literal)
    if grouped_by == "topic":
        counts, also = _topic_counts(snap, docs), dict[str, list[str]]()
    elif fieldname in TIME_FIELDS:
        counts, also = _period_counts(snap, fieldname, docs), {}
        for period in periods(fieldname, counts, filters.since, filters.until):
            counts.setdefault(period, 0)
    else:
        counts, also = _column_counts(snap, grouped_by, docs)
    buckets = [Bucket(value, n, also.get(value, [])) for value, n in counts.items()]
    floor = max(min_count, 1)
    if fieldname in TIME_FIELDS:
        buckets.sort(key=lambda b: (b.value == NONE, b.value))
        floor = min_count if min_count > 1 else 0  # empty periods are shown
    else:
        buckets.sort(key=lambda b: (-b.count, b.value.casefold(), b.value))
    distinct = sum(1 for b in buckets if b.value != NONE)
    every = len(buckets)
    buckets = [b for b in buckets if b.count >= floor]
    shown = buckets if limit == 0 else buckets[:limit]
    other = sum(b.count for b in buckets[len(shown) :])
    partial, closest = why_nothing(snap, text, filters, literal) if docs == [] else (0, [])
    return FacetResult(
        field=fieldname,
        query=query,
        total=snap.count() if docs is None else len(docs),
        distinct=distinct,
        buckets=shown,
        other=other,
        hidden=every - len(shown),
        by_domain=grouped_by == "domain" and fieldname == "provider",
        filters=filters.describe(),
        seconds=time.perf_counter() - started,
        partial=partial,
        provider_suggestions=closest,
    )


def _column_counts(
    snap: Snapshot, name: str, docs: list[int] | None
) -> tuple[Counter[str], dict[str, list[str]]]:
    """Count ``docs`` (every live item when None) by a column; for providers and
    domains, also say who is behind each bucket (domains of a provider, provider names
    of a domain). Both come from one count of (provider name, domain) pairs, and a
    provider's bucket is the key of its name (:func:`searchidx.fields.provider_key`),
    as indexing writes it; only the buckets' labels are decoded."""
    counts: Counter[str] = Counter()
    if name == "kind":
        kinds = snap.value_counts(("kind",), docs)
        for (kind,), n in kinds.items():
            counts[as_text(kind) or NONE] += n
        return counts, {}
    pairs = snap.value_counts(("provider_name", "domain"), docs)
    if name == "provider":
        return _provider_counts(pairs)
    by_domain: dict[str, Counter[str]] = defaultdict(Counter)
    for (label, domain), n in pairs.items():
        by_domain[as_text(domain) or NONE][as_text(label)] += n
    counts.update({d: labels.total() for d, labels in by_domain.items()})
    return counts, {k: _ranked(v) for k, v in by_domain.items()}


def _provider_counts(
    pairs: Counter[tuple[Any, ...]],
) -> tuple[Counter[str], dict[str, list[str]]]:
    """Buckets of providers from the counts of (name, domain) pairs: a provider of one
    pair (most of them) is labelled without counting its spellings and domains."""
    names: dict[Any, tuple[str, str]] = {}  # a raw name: its text and its key
    domains: dict[Any, str] = {}
    grouped: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for (label, domain), n in pairs.items():
        name = names.get(label)
        if name is None:
            text = as_text(label)
            name = names[label] = (text, provider_key(text))
        seen = domains.get(domain)
        if seen is None:
            seen = domains[domain] = as_text(domain)
        grouped[name[1]].append((name[0], seen, n))
    counts: Counter[str] = Counter()
    also: dict[str, list[str]] = {}
    for key, found in grouped.items():
        if len(found) == 1:
            text, domain, n = found[0]
            text = text if key else NONE
            counts[text] = n
            also[text] = [domain] if domain else []
            continue
        spellings: Counter[str] = Counter()
        by_domain: Counter[str] = Counter()
        for text, domain, n in found:
            spellings[text] += n
            by_domain[domain] += n
        text = _most_common(spellings) if key else NONE
        counts[text] = spellings.total()
        also[text] = _ranked(by_domain)
    return counts, also


#: Microseconds a day, and the ordinal of 1970-01-01 (:meth:`date.toordinal`).
_DAY = 86_400_000_000
_EPOCH = date(1970, 1, 1).toordinal()


def _period_counts(snap: Snapshot, name: str, docs: list[int] | None) -> Counter[str]:
    """Count ``docs`` (every live item when None) by period of publication: years and
    months from the month column, days and ISO weeks from the publication time (the
    ``oldest`` column), counted by day first."""
    counts: Counter[str] = Counter()
    if name in ("year", "month"):
        cut = 4 if name == "year" else 7
        for (month,), n in snap.value_counts(("month",), docs).items():
            counts[as_text(month)[:cut] or NONE] += n
        return counts
    days: Counter[int] = Counter()
    for (value,), n in snap.value_counts(("oldest",), docs).items():
        if value == MISSING_LAST:
            counts[NONE] += n
        else:
            days[-value // _DAY] += n
    for day, n in days.items():
        counts[period_label(name, date.fromordinal(_EPOCH + day))] += n
    return counts


def period_label(name: str, day: date) -> str:
    """The period of ``day``: ``2014``, ``2014-05``, ISO week ``2014-W19``, ``2014-05-12``."""
    if name == "year":
        return f"{day.year:04d}"
    if name == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if name == "week":
        year, week, _ = day.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return day.isoformat()


def _period_start(name: str, label: str) -> date:
    if name == "year":
        return date(int(label), 1, 1)
    if name == "month":
        return date(int(label[:4]), int(label[5:7]), 1)
    if name == "week":
        return date.fromisocalendar(int(label[:4]), int(label[6:]), 1)
    return date.fromisoformat(label)


def _next_period(name: str, start: date) -> date:
    if name == "year":
        return date(start.year + 1, 1, 1)
    if name == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=7 if name == "week" else 1)


def periods(
    name: str,
    counts: Iterable[str],
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[str]:
    """Every period from the first to the last of ``counts`` (from ``since`` and to
    ``until`` when given): the timeline's span, empty periods included."""
    seen = sorted(p for p in counts if p != NONE)
    first = period_label(name, since.astimezone(UTC).date()) if since else None
    last = period_label(name, until.astimezone(UTC).date()) if until else None
    first = first or (seen[0] if seen else None)
    last = last or (seen[-1] if seen else None)
    if first is None or last is None or first > last:
        return []
    out: list[str] = []
    day, end = _period_start(name, first), _period_start(name, last)
    while day <= end:
        out.append(period_label(name, day))
        if len(out) > MAX_PERIODS:
            raise InvalidOption(
                f"the timeline from {first} to {last} has more than {MAX_PERIODS:,} "
                f"{name}s; use a longer period or --since/--until"
            )
        try:
            day = _next_period(name, day)
        except (OverflowError, ValueError):  # past the year 9999
            break
    return out


def _most_common(counter: Counter[str]) -> str:
    return min(counter, key=lambda v: (-counter[v], v))


def _ranked(counter: Counter[str]) -> list[str]:
    return [v for v in sorted(counter, key=lambda v: (-counter[v], v)) if v]


def _topic_counts(snap: Snapshot, docs: Iterable[int] | None) -> Counter[str]:
    """Count by topic (``docs``, or every live item when None); an item counts once
    under each of its topics. Topics are keyed case-folded and labelled with the
    spelling most common among their first items."""
    matched = None if docs is None else set(docs)
    counts: Counter[str] = Counter()
    with_topic: set[int] = set()
    for key, rows in snap.topics():
        ids = rows if matched is None else [d for d in rows if d in matched]
        if ids:
            counts[_topic_label(snap, key, ids)] += len(ids)
            with_topic.update(ids)
    missing = (snap.count() if matched is None else len(matched)) - len(with_topic)
    if missing:
        counts[NONE] = missing
    return counts


def _topic_label(snap: Snapshot, key: str, docs: list[int], sample: int = 25) -> str:
    spellings: Counter[str] = Counter()
    for docnum in sorted(docs)[:sample]:
        topics = snap.item(docnum).topics
        spellings.update(t for t in topics if topic_key(t) == key)
    return _most_common(spellings) if spellings else key
