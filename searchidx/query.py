"""What a user asks for, before any engine reads it: filters, dates and query text.

Queries use a Lucene-like language over title, alternative titles, excerpt, body and
topics: words are ANDed; ``OR``, ``NOT`` (or ``-word``), ``"phrases"``, ``field:term``,
wildcards, ``term~`` fuzzy terms work. This module does what needs no index:
``published:[2024-01-01 to 2024-03-31]`` (either end may be left out),
``published:2024-03`` and ``published:>=A`` are taken out of the query text into the
filters, so they restrict a search exactly as ``--since``/``--until`` do (a date that
cannot be read is an error), and ``-word`` becomes ``NOT word``. The backend parses
the rest (:mod:`searchidx.whooshdb.query`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from searchidx import options
from searchidx.errors import InvalidOption

#: What facets call an item's missing provider, domain or topic; as the value of a
#: filter, it selects the items without one.
NONE = "(none)"


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions that apply on top of a query. Values within one option are ORed."""

    providers: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    kind: str = "all"
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.kind not in options.KINDS:
            raise InvalidOption(f"kind must be one of {', '.join(options.KINDS)}")
        if self.since and self.until and self.since > self.until:
            raise InvalidOption(
                f"the dates select nothing: since {iso(self.since)} is after until "
                f"{iso(self.until)}"
            )

    def describe(self) -> dict[str, Any]:
        """The filters in force, for output headers and JSON."""
        out: dict[str, Any] = {}
        for key in ("providers", "domains", "topics"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.kind != "all":
            out["kind"] = self.kind
        if self.since:
            out["since"] = iso(self.since)
        if self.until:
            out["until"] = iso(self.until)
        return out


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_date_option(text: str, end_of_day: bool = False) -> datetime:
    """Parse ``--since``/``--until``: a date (whole day, UTC) or an ISO date-time."""
    s = text.strip()
    try:
        if re.fullmatch(r"\d{4}", s):
            value = (
                datetime(int(s), 12, 31, tzinfo=UTC)
                if end_of_day
                else datetime(int(s), 1, 1, tzinfo=UTC)
            )
            return value + timedelta(days=1, microseconds=-1) if end_of_day else value
        if re.fullmatch(r"\d{4}-\d{2}", s):
            start = datetime.fromisoformat(s + "-01").replace(tzinfo=UTC)
            if not end_of_day:
                return start
            nxt = (start + timedelta(days=32)).replace(day=1)
            return nxt - timedelta(microseconds=1)
        if _DAY_OR_WEEK.fullmatch(s):  # a whole day, or a whole ISO week ("2021-W01")
            start = datetime.combine(date.fromisoformat(s), datetime.min.time(), UTC)
            days = 7 if _WEEK.fullmatch(s) else 1
            return start + timedelta(days=days, microseconds=-1) if end_of_day else start
        value = datetime.fromisoformat(s)
    except ValueError:
        raise InvalidOption(
            f"{text!r} is not a date; use YYYY, YYYY-MM, YYYY-MM-DD, YYYY-Www (an ISO week) "
            "or an ISO 8601 date-time"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


#: Dates alone in ISO 8601 forms: a day (2021-01-04, 20210104, 2021-W01-1, 2021W011)
#: or a week (2021-W01, 2021W01).
_WEEK = re.compile(r"\d{4}-?W\d{2}")
_DAY_OR_WEEK = re.compile(r"\d{4}-?\d{2}-?\d{2}|\d{4}-?W\d{2}(?:-?\d)?")


#: A word of a query as typed: letters and digits, joined by dots, apostrophes or hyphens.
WORD = re.compile(r"\w+(?:[.'’-]\w+)*")


def literal_words(text: str) -> list[str]:
    """The plain words of a query string."""
    return WORD.findall(text)


#: ``published:[A to B]``, ``published:[A to]``, ``published:[to B]``, ``published:A``
#: (``date:`` is the same field), outside quotes.
_DATE_CLAUSE = re.compile(r'"[^"]*"|(?<![\w:])(?:published|date):(?:\[([^\]]*)\]?|(\S+))', re.I)
_RANGE_TO = re.compile(r"\s*\bto\b\s*", re.I)
#: A minus that starts a word (after a space or bracket), outside quotes: ``-word``,
#: ``-"a phrase"``, ``-(a OR b)``; not the hyphen of "covid-19".
_MINUS = re.compile(r'"[^"]*"|(?:(?<=^)|(?<=[\s(]))-(?=[\w"(])')


def _date_bounds(clause: str, inner: str | None, single: str | None) -> tuple[Any, Any]:
    """The (since, until) of one date clause; InvalidOption when a date is unreadable."""
    try:
        return _bounds(inner, single)
    except InvalidOption as exc:
        raise InvalidOption(f"cannot read the date range {clause!r}: {exc}") from None


def _bounds(inner: str | None, single: str | None) -> tuple[Any, Any]:
    if single is not None:
        if len(single) > 2 and single[0] == single[-1] == '"':  # published:"2020-11"
            single = single[1:-1]
        op = re.match(r"[<>]=?", single)
        if op:  # published:>=A, published:<B ...
            single = single[op.end() :]
            if not single:
                raise InvalidOption("it names no date")
            if op.group(0) == ">":
                return parse_date_option(single, end_of_day=True) + timedelta(microseconds=1), None
            if op.group(0) == ">=":
                return parse_date_option(single), None
            if op.group(0) == "<":
                return None, parse_date_option(single) - timedelta(microseconds=1)
            return None, parse_date_option(single, end_of_day=True)
        ends = [single, single]
    else:
        ends = _RANGE_TO.split((inner or "").strip(), maxsplit=1)
        if len(ends) == 1:
            ends = [ends[0], ends[0]]
    since = parse_date_option(ends[0]) if ends[0].strip() else None
    until = parse_date_option(ends[1], end_of_day=True) if ends[1].strip() else None
    if since is None and until is None:
        raise InvalidOption("it names no date")
    return since, until


#: What before or after a date clause would make it a part of the query's logic: a
#: minus or NOT before it, OR on either side, an open parenthesis before it.
_NEGATED = re.compile(r"(?:(?:^|[\s(])-|\b(?:NOT|OR)\s+)$")
_ORED = re.compile(r"\s+OR\b")
_GROUPED = re.compile(r"\([^)]*$")


def split_dates(text: str, filters: Filters) -> tuple[str, Filters]:
    """Take ``published:`` clauses out of a query and into the filters (narrowing any
    ``--since``/``--until`` already given), so that a range in the query selects exactly
    what the options select."""
    since, until = filters.since, filters.until
    taken = False

    def take(m: re.Match[str]) -> str:
        nonlocal since, until, taken
        if m.group(0).startswith('"'):
            return m.group(0)
        before, after = text[: m.start()], text[m.end() :]
        if _NEGATED.search(before) or _ORED.match(after) or _GROUPED.search(before):
            raise InvalidOption(
                f"{m.group(0)!r} selects a range of dates, as --since and --until do, for "
                "the whole query: it cannot be negated, ORed or put in parentheses"
            )
        taken = True
        lo, hi = _date_bounds(m.group(0), m.group(1), m.group(2))
        if lo is not None:
            since = lo if since is None else max(since, lo)
        if hi is not None:
            until = hi if until is None else min(until, hi)
        return " "

    rest = _DATE_CLAUSE.sub(take, text)
    if not taken:
        return text, filters
    # Also a clause that does not narrow the filters leaves the query: the index has
    # no terms of publication times (see searchidx.fields).
    return rest, replace(filters, since=since, until=until)


def minus_to_not(text: str) -> str:
    """``-word`` (the web-search habit) as Whoosh's ``NOT word``."""
    return _MINUS.sub(lambda m: m.group(0) if m.group(0) != "-" else "NOT ", text)
