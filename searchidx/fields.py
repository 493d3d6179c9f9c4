"""The index's fields, field by field, and why; and how keys are compared.

These are what every backend indexes; :mod:`searchidx.whooshdb.schema` builds them
for Whoosh.

Every indexed item is one document: an article file (``kind`` = ``article``) or another
outlet's coverage listed in an article's ``related`` list (``kind`` = ``related``).

- ``title``, ``excerpt``, ``body``: stemmed and accent-folded so "recognise" finds
  "recognised" and "Zoe" finds "Zoë"; positions are kept for phrase queries; weighted
  title 3 > excerpt 1.5 > body 1. ``alt_titles`` holds the other headline variants of
  a collapsed related item, searchable like the title. No word is dropped: there is no
  stop-word list and no minimum length (as in Elasticsearch's standard analyzer; BM25
  weighs common words down), because in news "US", "UK", "WHO", "IT" and "May" are
  words people search for. Acronyms ("US", "U.S.", "WHO", "IT") also get a term of
  their own, their letters joined by dots and unstemmed, so that "US" finds "U.S." and
  not "used" (which stems to "us"); see :class:`searchidx.whooshdb.schema.AcronymFilter`.
- ``title_w``, ``alt_titles_w``, ``excerpt_w``, ``body_w``: the same text unstemmed (lower
  case, accents folded, no positions), for wildcards and prefixes: ``immigrati*`` must
  match "immigration", whose stem is "immigr".
- ``provider`` (case-folded name), ``domain``, ``kind`` and ``month``: exact keys with
  sortable columns, used by filters and facets; ``category`` is a plain key. ``provider_name`` keeps
  the spelling shown to people, also as a column so facets can read it cheaply.
- ``topic``: a comma-separated keyword field of case-folded topics (multi-valued).
- ``published``, ``quality``, ``heat``: sortable DATETIME and NUMERIC columns
  (``published`` as a column only, with no terms: date filters read the column). Their
  column defaults are set so that items without a value sort last under ``--sort
  newest``, ``quality`` and ``heat``; ``oldest`` (a column only) does the same for
  ``--sort oldest``. Quality and heat are sorted as whole numbers: Whoosh cannot give
  a float column a default.
- ``cites``: the ids of the related items an article lists, so "who cites X" is a
  term query.
- ``norm``: the normalised title (:func:`searchidx.titles.normalize_title`): its words
  as terms, to find an item's duplicate candidates and to suggest spellings (they are
  the titles' words, unstemmed), and the whole string as a column, with ``id`` also a
  column, so duplicate detection reads no stored documents.
- ``gist`` and ``links``: columns for grouping items into stories
  (:mod:`searchidx.stories`) without reading stored documents: the normalised excerpt
  (its first ``GIST_CHARS`` characters), and for an article the ids of the related items
  it lists, space-separated.
- ``data``: the item's full record as JSON, for display. Only ``id``, ``kind`` and
  ``data`` are stored.
"""

from __future__ import annotations

#: Bump when the fields or the meaning of one change; older indexes must be rebuilt.
SCHEMA_VERSION = 6

#: How much of a normalised excerpt the ``gist`` column keeps.
GIST_CHARS = 400

#: Fields searched by a query without a field name. Topics are not among them: they
#: are whole-phrase keys (``topic:"computer vision"``, ``--topic``), and a stop word
#: such as "the" would become a required topic term.
DEFAULT_FIELDS = ("title", "alt_titles", "excerpt", "body")

#: Each text field's unstemmed twin, which wildcard and prefix queries search.
WORD_FIELDS = {name: f"{name}_w" for name in DEFAULT_FIELDS}

#: Default of the ``oldest`` sort column (the negated publication time, sorted in
#: reverse): smaller than any real value, so undated items come last.
MISSING_LAST = -(2**63)


def as_text(value: object) -> str:
    """A column value or term as text: engines may give keys as UTF-8 bytes."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def provider_key(name: str) -> str:
    """How provider names are compared: case-folded, whitespace trimmed and collapsed."""
    return " ".join(name.split()).casefold()


def topic_key(topic: str) -> str:
    """How topics are compared; commas would split the keyword field, so they go."""
    return " ".join(topic.replace(",", " ").split()).casefold()
