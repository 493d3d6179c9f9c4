"""Searching an index: one page of ranked hits, with exact totals, near-duplicate
counts, folding by story, and spelling and provider suggestions.

The query language is described in :mod:`searchidx.query`; the backend parses and runs
it (:meth:`searchidx.backend.Snapshot.rank`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from searchidx import options
from searchidx.backend import Ranking, Snapshot, closest_providers
from searchidx.engine import Index, index_at, reads_index
from searchidx.errors import InvalidOption
from searchidx.items import StoredItem
from searchidx.query import Filters, split_dates


@dataclass(slots=True)
class Hit:
    """One search result."""

    id: str
    kind: str
    title: str
    excerpt: str
    provider: str
    domain: str
    topics: list[str]
    published: str | None
    url: str
    path: str
    line: int | None
    score: float | None
    match: str = "all"
    similar: int = 0
    also: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SearchResult:
    """A page of hits and what produced them."""

    query: str
    total: int
    page: int
    limit: int
    sort: str
    filters: dict[str, Any]
    partial: bool = False
    suggestion: str | None = None
    provider_suggestions: list[str] = field(default_factory=list)
    #: When the query is a provider's name (and no --provider is given): the name as
    #: the items give it, and how many items are of that provider.
    provider_named: str | None = None
    provider_items: int = 0
    collapsed: bool = False
    stories: int | None = None
    terms: list[str] = field(default_factory=list)
    seconds: float = 0.0
    hits: list[Hit] = field(default_factory=list)


def _hit(item: StoredItem, score: float | None) -> Hit:
    return Hit(
        id=item.id,
        kind=item.kind,
        title=item.title,
        excerpt=item.excerpt,
        provider=item.provider,
        domain=item.domain,
        topics=item.topics,
        published=item.published,
        url=item.url,
        path=item.path,
        line=item.line,
        score=round(score, 4) if score is not None else None,
    )


@reads_index
def search(
    index: Index | str,
    text: str,
    filters: Filters = Filters(),
    *,
    literal: bool = False,
    sort: str = "relevance",
    limit: int = options.SEARCH_LIMIT,
    page: int = 1,
    collapse: bool = False,
    similar: bool = True,
) -> SearchResult:
    """Run a search and return one page of hits (``limit`` 0: every hit, on one page).
    Each hit says how many near-duplicates it has in the index; with ``collapse``, the
    hits of one story fold into their first publisher, which lists the other
    providers. ``similar=False`` skips the counts. The total is exact and the same on
    every page."""
    if sort not in options.SORTS:
        raise InvalidOption(f"sort must be one of {', '.join(options.SORTS)}")
    if limit < 0 or page < 1:
        raise InvalidOption("--limit must not be negative and --page must be at least 1")
    if limit == 0 and page > 1:
        raise InvalidOption("--limit 0 shows every hit on one page; leave out --page")
    started = time.perf_counter()
    snap = index_at(index).snapshot()
    if not literal:
        text_query, filters_used = split_dates(text, filters)
    else:
        text_query, filters_used = text, filters
    result = SearchResult(
        query=text,
        total=0,
        page=page,
        limit=limit,
        sort=sort,
        filters=filters_used.describe(),
        collapsed=collapse,
    )
    # Collapsing folds every hit, so that each page shows whole stories and the number
    # of stories is the same on every page.
    fetch: int | None = None if collapse or limit == 0 else page * limit
    ranking = snap.rank(text_query, filters_used, literal=literal, sort=sort, fetch=fetch)
    result.total, result.partial, result.terms = ranking.total, ranking.partial, ranking.terms
    result.hits, result.stories = _page(snap, ranking, page, limit, collapse, similar)
    if result.partial:
        for hit in result.hits:
            hit.match = "partial"
    result.suggestion = snap.suggest(text_query)
    if result.total == 0 and filters.providers:
        result.provider_suggestions = closest_providers(snap, filters.providers)
    if not filters.providers:
        # The words name a provider: said also when items have the words ("reuters"
        # finds the items that mention Reuters, not the 72 Reuters ran).
        named = _provider_named(snap, text_query)
        if named is not None:  # the words are a name, not a misspelling
            result.provider_named, result.provider_items = named
            result.suggestion = None
    result.seconds = time.perf_counter() - started
    return result


def _page(
    snap: Snapshot,
    ranking: Ranking,
    page: int,
    limit: int,
    collapse: bool,
    similar: bool,
) -> tuple[list[Hit], int | None]:
    """One page of hits (``limit`` 0: all of them), with near-duplicate counts, folded
    by story if asked (then also the number of stories among the hits ranked)."""
    from searchidx.copies import similar_counts

    scores = dict(zip(ranking.rows, ranking.scores, strict=True))
    start = (page - 1) * limit
    end = start + limit if limit else None
    stories = None
    if collapse:
        from searchidx.stories import fold_hits  # the story grouping: only when asked

        groups = fold_hits(snap, ranking.rows)
        stories = len(groups)
        groups = groups[start:end]
    else:
        groups = [[row] for row in ranking.rows[start:end]]
    counts = similar_counts(snap, [g[0] for g in groups]) if similar else {}
    hits = []
    for group in groups:
        first = group[0]
        known = [x for x in (scores[row] for row in group) if x is not None]
        hit = _hit(snap.item(first), max(known) if known else None)
        hit.similar = counts.get(first, 0)
        others = [snap.item(row).provider or "(no provider)" for row in group[1:]]
        hit.also = list(dict.fromkeys(others))
        hits.append(hit)
    return hits, stories


def _provider_named(snap: Snapshot, text: str) -> tuple[str, int] | None:
    """The provider a query names, as a whole ("Harbor Wire", "harbor wire", in quotes
    or not), with its number of items; None when it names none."""
    name = text.strip()
    if len(name) > 2 and name[0] == name[-1] == '"':
        name = name[1:-1].strip()
    if name in ("", "*") or len(name) > 200 or '"' in name:
        return None
    found = snap.rank("*", Filters(providers=(name,)), literal=False, sort="relevance", fetch=1)
    if not found.total:
        return None
    return snap.item(found.rows[0]).provider, found.total
