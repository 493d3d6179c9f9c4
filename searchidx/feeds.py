"""Feeds and tables as article files: RSS and Atom feeds saved as files, and CSV or TSV
exports of monitoring tools.

Every feed item and every table row is an article, with the identity of one read from
a seed file (its URL, else its file and line). A bad item or row is reported as a
:class:`~searchidx.errors.ParseError` naming the file and line and skipped; the rest of
the file is kept, as for a JSON Lines file.

Feeds are read by feedparser (RSS 0.9x, 1.0/RDF and 2.0, Atom 0.3 and 1.0, and the
broken feeds it can make sense of). feedparser does not say where an item starts, so an
item's line is that of its ``<item>``/``<entry>`` tag, found by scanning the file; when
the scan finds a different number of items than feedparser (a feed too broken to match
them up), items are numbered instead and reported as ``item N``.
"""

from __future__ import annotations

import calendar
import csv
import html
import io
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

from searchidx.documents import (
    FEED_SUFFIXES,
    TABLE_SUFFIXES,
    Article,
    decode_text,
    is_url,
    normalize_domain,
    parse_file,
)
from searchidx.errors import ParseError


def parse_any_file(path: str, data: bytes) -> tuple[list[Article], list[ParseError]]:
    """Turn any article file's bytes into articles: feeds and tables here, the rest by
    :func:`searchidx.documents.parse_file`. Errors are collected, never raised."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix in FEED_SUFFIXES:
        return parse_feed(path, data)
    if suffix in TABLE_SUFFIXES:
        return parse_table(path, data)
    return parse_file(path, data)


# --- text -----------------------------------------------------------------------------------

#: A tag, comment or declaration: "<" then a letter, "/", "!" or "?" (a "<" before a
#: space or digit is text, as in "rates < 6%"), its name in group 1.
_TAG = re.compile(r"<(?:/?([A-Za-z][\w:-]*)|[!?])[^>]*>")
#: Elements that end a run of text: their tags read as a space. Others (``b``, ``a``,
#: ``span`` ...) are inline, and read as nothing, so "<b>Thursday</b>," stays "Thursday,".
_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "img",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)


def _tag_gap(m: re.Match[str]) -> str:
    name = m.group(1)
    return "" if name and name.lower() not in _BLOCK else " "


def plain_text(value: str, is_html: bool = True) -> str:
    """Text of a feed or table value: tags dropped, entities decoded, spaces collapsed."""
    if is_html:
        value = html.unescape(_TAG.sub(_tag_gap, value))
    return " ".join(value.split())


#: Time zones by name, as feeds and exports write them, in seconds east of UTC. IST is
#: India's, Ireland's and Israel's time: not here.
ZONES: dict[str, int] = {
    name: int(hours * 3600)
    for name, hours in {
        "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1,
        "CEST": 2, "MET": 1, "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3, "WAT": 1, "CAT": 2,
        "SAST": 2, "EAT": 3, "PKT": 5, "NPT": 5.75, "HKT": 8, "SGT": 8, "PHT": 8,
        "AWST": 8, "JST": 9, "KST": 9, "ACST": 9.5, "ACDT": 10.5, "AEST": 10, "AEDT": 11,
        "NZST": 12, "NZDT": 13, "HST": -10, "AKST": -9, "AKDT": -8, "NST": -3.5,
        "NDT": -2.5, "BRT": -3, "ART": -3, "AST": -4, "ADT": -3, "EST": -5, "EDT": -4,
        "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "ET": -5,
        "CT": -6, "MT": -7, "PT": -8,
    }.items()
}  # fmt: skip
#: The names feedparser reads itself (RFC 822's, US zones, MET, MEST; UTC as unknown,
#: which it reads as UTC), and those the email module reads (for tables).
FEEDPARSER_ZONES = frozenset(
    [
        "UT",
        "UTC",
        "GMT",
        "Z",
        "A",
        "N",
        "M",
        "Y",
        "AST",
        "ADT",
        "AT",
        "EST",
        "EDT",
        "ET",
        "CST",
        "CDT",
        "CT",
        "MST",
        "MDT",
        "MT",
        "PST",
        "PDT",
        "PT",
        "MET",
        "MEST",
    ]
)
EMAIL_ZONES = frozenset(
    ["UT", "UTC", "GMT", "Z", "AST", "ADT", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT"]
)
#: A time of day, then a zone by name alone (no "+0100" before it), at the end.
_NAMED_ZONE = re.compile(r"\d:\d\d(?::\d\d(?:\.\d+)?)?\s*\(?([A-Za-z]{1,5})\)?\s*$")


def zone_shift(text: str, read: frozenset[str]) -> int:
    """Seconds to take from a date whose reader read it as UTC although it names its
    time zone ("14:30:00 CEST"): 0 when it names none, or one of the names its reader
    (``read``) knows. ValueError for a name not known here either."""
    m = _NAMED_ZONE.search(text)
    if m is None or m.group(1).upper() in read:
        return 0
    name = m.group(1).upper()
    if name not in ZONES:
        raise ValueError(f"names a time zone that cannot be read: {m.group(1)!r}")
    return ZONES[name]


def host_of(url: str) -> str:
    """The domain of a URL (``www.`` dropped), or "" when it has none."""
    try:
        return normalize_domain(urlsplit(url).hostname or "")
    except ValueError:
        return ""


# --- feeds ----------------------------------------------------------------------------------

#: What separates an outlet's name from a section or tagline in a feed's title: "BBC
#: News - World", "World news | The Guardian", "NYT > Top Stories", "Reuters: World".
_TITLE_PARTS = re.compile(r"\s+[-|>\u00bb\u2013\u2014\u2022\u00b7]\s+|:\s+")


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def outlet_name(title: str, domain: str) -> str:
    """The outlet's name in a feed's title: of the parts a separator splits it into, the
    one that names the site's domain ("BBC News" of "BBC News - World" on bbc.co.uk, "The
    Guardian" of "World news | The Guardian" on theguardian.com), so that one outlet's
    feeds give one provider; the whole title when no part, or more than one, does."""
    parts = [p.strip() for p in _TITLE_PARTS.split(title) if p.strip()]
    # The domain's names but the last ("edition.cnn.com": edition, cnn), of 3+ letters.
    sites = [s for s in map(_letters, domain.split(".")[:-1]) if len(s) >= 3]
    if len(parts) < 2 or not sites:
        return title

    def names_site(part: str) -> bool:
        name = _letters(part)
        return len(name) >= 3 and any(name.startswith(s) or s.startswith(name) for s in sites)

    named = [p for p in parts if names_site(p)]
    return named[0] if len(named) == 1 else title


#: Comments and CDATA sections (skipped), and the opening tags of items and entries.
_ITEM_SCAN = re.compile(
    rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s/>]", re.S
)


def item_lines(data: bytes) -> list[int]:
    """The line of each ``<item>`` or ``<entry>`` opening tag, in file order."""
    lines: list[int] = []
    line, pos = 1, 0
    for m in _ITEM_SCAN.finditer(data):
        if m.group().startswith((b"<!--", b"<![CDATA[")):
            continue
        line += data.count(b"\n", pos, m.start())
        pos = m.start()
        lines.append(line)
    return lines


def parse_feed(path: str, data: bytes) -> tuple[list[Article], list[ParseError]]:
    """Read an RSS or Atom feed file: each item is an article."""
    import feedparser  # imported here: it takes a tenth of a second

    if not data.strip():
        return [], [ParseError(path, "empty file")]
    # A stream, so that feedparser never takes the text for a URL or file name to open.
    parsed = feedparser.parse(io.BytesIO(data), sanitize_html=False)
    if not parsed.entries and not parsed.get("version"):
        exc = parsed.get("bozo_exception")
        if exc is not None and hasattr(exc, "getLineNumber"):
            reason = f"not a readable RSS or Atom feed: {exc.getMessage()}"
            return [], [ParseError(path, reason, exc.getLineNumber())]
        return [], [ParseError(path, "not an RSS or Atom feed")]
    feed = parsed.feed
    lines: list[int] | None = item_lines(data)
    if len(lines or ()) != len(parsed.entries):
        lines = None
    articles: list[Article] = []
    errors: list[ParseError] = []
    for number, entry in enumerate(parsed.entries, start=1):
        line = lines[number - 1] if lines is not None else None
        try:
            articles.append(feed_article(path, feed, entry, line, number))
        except ParseError as exc:
            errors.append(exc)
    return articles, errors


def _detail_text(entry: Any, key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        return ""
    detail = entry.get(f"{key}_detail") or {}
    return plain_text(value, "html" in str(detail.get("type", "html")))


def feed_article(path: str, feed: Any, entry: Any, line: int | None, number: int) -> Article:
    """One feed item as an article; ``line`` None numbers it by its position instead."""

    def fail(reason: str) -> ParseError:
        if line is None:
            return ParseError(path, f"item {number}: {reason}")
        return ParseError(path, reason, line)

    title = _detail_text(entry, "title")
    if not title:
        raise fail("missing title" if "title" not in entry else "title is empty")
    link = str(entry.get("link") or "").strip()
    home = str(feed.get("link") or "")
    if entry.get("guidislink") and not is_url(link):
        # feedparser's link of an item with none is its RSS guid or Atom id, which need
        # not be a URL ("edge-000982", "urn:uuid:..."): such an item has no link.
        link = ""
    if link and not is_url(link) and is_url(home):
        link = urljoin(home, link)  # relative to the feed's site (no xml:base given)
    if link and not is_url(link):
        raise fail(f"link is not a URL: {link[:80]!r}")
    published = None
    for key in ("published", "updated", "created"):
        if entry.get(key):
            when = entry.get(f"{key}_parsed")
            if when is None:
                raise fail(f"{key} date cannot be read: {str(entry[key])[:60]!r}")
            try:
                shift = zone_shift(str(entry[key]), FEEDPARSER_ZONES)
            except ValueError as exc:
                raise fail(f"{key} date {exc}") from None
            published = datetime.fromtimestamp(calendar.timegm(when) - shift, UTC)
            break
    source = entry.get("source") or {}
    provider = plain_text(str(source.get("title") or ""), False)
    source_link = str(source.get("href") or source.get("link") or "")
    if provider:
        domain = host_of(source_link) or host_of(link)
    else:
        domain = host_of(link) or host_of(home)
        provider = outlet_name(_detail_text(feed, "title"), host_of(home) or domain)
    topics: list[str] = []
    for tag in entry.get("tags") or []:
        topic = plain_text(str(tag.get("label") or tag.get("term") or ""), False)
        if topic and topic not in topics:
            topics.append(topic)
    contents = entry.get("content") or []
    body = "\n\n".join(
        plain_text(str(c.get("value") or ""), "html" in str(c.get("type", "html")))
        for c in contents
    )
    excerpt = _detail_text(entry, "summary")
    if excerpt and excerpt == body:
        body = ""
    return Article(
        path=path,
        # An item with no URL is known by its file and line (or position).
        line=line if line is not None else number,
        title=title,
        excerpt=excerpt,
        body=body.strip(),
        topics=topics,
        provider=provider,
        domain=domain,
        published=published,
        web_url=link,
    )


# --- tables ---------------------------------------------------------------------------------

#: Accepted header names (compared case-insensitively, spaces and "-" read as "_"),
#: by the field they fill. The first named column with a value wins.
COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline"),
    "published": (
        "date",
        "published",
        "publish_date",
        "published_at",
        "publisheddatetime",
        "pubdate",
        "datetime",
    ),
    "url": ("url", "link", "weburl", "article_url"),
    "provider": ("provider", "outlet", "source", "media_name", "publisher"),
    "domain": ("domain", "media_url", "site"),
    "excerpt": ("excerpt", "description", "summary", "snippet"),
    "body": ("body", "text"),
    "topics": ("topic", "topics", "category", "categories", "tags"),
}
_TOPIC_SPLIT = re.compile(r"[;|]")


def _header_key(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def _columns(header: list[str]) -> dict[str, list[int]]:
    """Column positions of each field, in the order the header names them."""
    names = [_header_key(h) for h in header]
    return {
        field: [i for i, n in enumerate(names) if n in accepted]
        for field, accepted in COLUMNS.items()
    }


def parse_table(path: str, data: bytes) -> tuple[list[Article], list[ParseError]]:
    """Read a CSV (comma or semicolon) or TSV file with a header: each row is an
    article."""
    articles: list[Article] = []
    errors: list[ParseError] = []
    try:
        text = decode_text(path, data)
        tsv = path.lower().endswith(".tsv")
        rows, header = _header(path, text, "\t" if tsv else ",")
        columns = _columns(header)
        if not columns["title"] and not tsv and ";" in text.split("\n", 1)[0]:
            rows, header = _header(path, text, ";")
            columns = _columns(header)
        if not columns["title"]:
            found = ", ".join(repr(h) for h in header[:8])
            raise ParseError(
                path, f"the header names no title column (title or headline): {found}", 1
            )
        for line, row in rows:
            try:
                articles.append(table_article(path, line, columns, len(header), row))
            except ParseError as exc:
                errors.append(exc)
    except ParseError as exc:
        errors.append(exc)
    return articles, errors


def _header(
    path: str, text: str, delimiter: str
) -> tuple[Iterator[tuple[int, list[str]]], list[str]]:
    """The rows after the header, and the header."""
    rows = _rows(path, text, delimiter)
    first = next(rows, None)
    if first is None:
        raise ParseError(path, "no header row: the file has no values", 1)
    return rows, first[1]


def _rows(path: str, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on; a row the csv module cannot read
    ends the file there, as does a quoted field that is never closed (reported)."""
    if delimiter == "\t":
        yield from _tsv_rows(text)
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    last = text.count("\n") + (not text.endswith("\n"))
    end = 0
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ParseError(path, f"unreadable row: {exc}", start) from None
        end = reader.line_num
        if end > start and end >= last and _unclosed(text, start):
            raise ParseError(
                path,
                f"a quote opened in this row is never closed (lines {start}-{end} unread)",
                start,
            )
        if any(cell.strip() for cell in row):
            yield start, row


def _unclosed(text: str, line: int) -> bool:
    """Whether the last row of a table, from ``line`` on, opens a quoted field it never
    closes (the csv module reads such a field to the end of the file)."""
    rest = text.split("\n", line - 1)[-1]
    return rest.count('"') % 2 == 1


def _tsv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """The rows of a TSV file: a line each, split at tabs. TSV has no quoting (a field
    cannot hold a tab or a line break), so a quote is a character like any other (UCI's
    headline '"Peaches has died. We are beyond pain.'), except around a whole field with
    any quote in it doubled, as spreadsheets write one: that is taken off."""
    for number, line in enumerate(text.splitlines(), start=1):
        row = [_unquoted(cell) for cell in line.split("\t")]
        if any(cell.strip() for cell in row):
            yield number, row


def _unquoted(cell: str) -> str:
    inner = cell[1:-1]
    if len(cell) >= 2 and cell[0] == cell[-1] == '"' and '"' not in inner.replace('""', ""):
        return inner.replace('""', '"')
    return cell


def table_article(
    path: str, line: int, columns: dict[str, list[int]], width: int, row: list[str]
) -> Article:
    """One table row as an article."""
    if len(row) > width:
        raise ParseError(path, f"row has {len(row)} fields, the header {width}", line)

    def value(field: str) -> str:
        for i in columns[field]:
            if i < len(row) and row[i].strip():
                return row[i].strip()
        return ""

    title = plain_text(value("title"), False)
    if not title:
        raise ParseError(path, "title is empty", line)
    url = value("url")
    if url and not is_url(url):
        raise ParseError(path, f"url is not a URL: {url[:80]!r}", line)
    published = None
    if value("published"):
        try:
            published = table_datetime(value("published"))
        except ValueError as exc:
            raise ParseError(path, f"date {exc}", line) from None
    domain = value("domain")
    domain = host_of(domain) if "/" in domain else normalize_domain(domain)
    topics: list[str] = []
    for i in columns["topics"]:
        for part in _TOPIC_SPLIT.split(row[i] if i < len(row) else ""):
            topic = " ".join(part.split())
            if topic and topic not in topics:
                topics.append(topic)
    return Article(
        path=path,
        line=line,
        title=title,
        excerpt=plain_text(value("excerpt"), False),
        body=value("body"),
        topics=topics,
        provider=plain_text(value("provider"), False),
        domain=domain or host_of(url),
        published=published,
        web_url=url,
    )


_DIGITS = re.compile(r"\d{9,13}")


def table_datetime(text: str) -> datetime:
    """A table's date: ISO 8601 (a date-time without a timezone is UTC), RFC 2822 as in
    feeds, or a Unix time in seconds or milliseconds. ValueError says why not."""
    s = text.strip()
    if _DIGITS.fullmatch(s):
        seconds = int(s) / (1000 if len(s) > 11 else 1)
        return datetime.fromtimestamp(seconds, UTC)
    try:
        value = datetime.fromisoformat(s)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            value = parsedate_to_datetime(s)
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"is not a date: {text[:60]!r}") from None
        if value.tzinfo is None:  # a zone by a name the email module does not know
            value = value.replace(tzinfo=UTC) - timedelta(seconds=zone_shift(s, EMAIL_ZONES))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"is out of range: {text!r}") from None
