"""Choices and defaults that the command line and the core share, each written once.

This module imports nothing, so ``cli.py`` can build its options from it while
``--help`` and ``--version`` stay fast, and the core takes its defaults from the same
names.
"""

from __future__ import annotations

#: Output formats of the listing commands (search, facets, dupes, stories).
FORMATS = ("text", "json", "jsonl", "csv")
#: Output formats of the one-record commands (show, stats).
RECORD_FORMATS = ("text", "json")
#: When text is coloured.
COLOR_MODES = ("auto", "always", "never")

#: Search orders; ``relevance`` is the default.
SORTS = ("relevance", "newest", "oldest", "quality", "heat")
#: Which items a search selects.
KINDS = ("article", "related", "all")
#: What ``facets`` counts by; the last four are timelines.
FACET_FIELDS = ("provider", "domain", "topic", "kind", "year", "month", "week", "day")
TIME_FIELDS = ("year", "month", "week", "day")

#: Hits on a page of ``search``.
SEARCH_LIMIT = 10
#: Values ``facets`` shows (timelines show every period).
FACET_LIMIT = 20
#: Clusters ``dupes`` shows, stories ``stories`` shows.
DUPES_LIMIT = 20
STORIES_LIMIT = 20
#: Outlets a story needs to be listed.
MIN_OUTLETS = 2

#: Title similarity (0-100) at which two items are near-identical copies; see the README.
COPY_THRESHOLD = 90.0
#: Days apart two copies may be published.
COPY_WINDOW_DAYS = 7.0
#: Similarity (0-100) at which one outlet's related headlines are one item.
VARIANT_THRESHOLD = 90.0

#: Seconds ``index`` waits for another process writing the index.
LOCK_WAIT_SECONDS = 30.0
