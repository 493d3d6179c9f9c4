"""The Whoosh schema of the fields in :mod:`searchidx.fields`: analyzers, field types,
columns, and reading a column over every segment."""

from __future__ import annotations

import functools
import re
import sys
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from whoosh import formats
from whoosh.analysis import (
    CharsetFilter,
    CompositeAnalyzer,
    Filter,
    IDAnalyzer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
)
from whoosh.columns import MultiColumnReader, NumericColumn, VarBytesColumn
from whoosh.fields import BOOLEAN, COLUMN, DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.support.charset import accent_map
from whoosh.system import pack_uint

from searchidx.fields import MISSING_LAST

# Whoosh keeps each index's schema pickled, its analyzer classes named by module. This
# module was ``searchidx.schema`` when the indexes of schema version 6 were first
# built; that name stays importable so that they open.
sys.modules.setdefault("searchidx.schema", sys.modules[__name__])


#: Words as Whoosh's RegexTokenizer finds them (``\w+(\.?\w+)*``), and before them a
#: number with thousands separators ("2,000", "1,250,000.5") as one word, which
#: :class:`AcronymFilter` writes without its commas: "2000" finds "2,000" and "2,000"
#: finds "2000". (An index made before keeps its schema's tokenizer, and so its terms:
#: "2" and "000".)
WORD_PATTERN = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?\b|\w+(\.?\w+)*"


def tokenizer() -> RegexTokenizer:
    """The tokenizer of the text fields (see :data:`WORD_PATTERN`)."""
    return RegexTokenizer(WORD_PATTERN)


class AcronymFilter(Filter):  # type: ignore[misc]
    """Acronyms get a term of their own, their letters joined by dots and never
    stemmed: "US" and "U.S." are "u.s", which no word stems to ("used", "use" and
    "using" all stem to "us"). Letters joined by dots, in any case, and words of two
    to five capitals ("WHO", "IT", "NATO") are acronyms. When indexing, an acronym is
    also kept as a plain word, so that "news" still finds an all-caps headline's
    "NEWS" and "us" finds "U.S."; in a query, capitals or dots ask for the acronym.
    A number's thousands separators are dropped ("2,000" is "2000")."""

    _DOTTED = re.compile(r"[^\W\d_](?:\.[^\W\d_])+\.?")

    def __call__(self, tokens: Iterator[Any]) -> Iterator[Any]:
        for t in tokens:
            text = t.text
            if "," in text:
                text = t.text = text.replace(",", "")
            dotted = "." in text and self._DOTTED.fullmatch(text) is not None
            if not dotted and not (2 <= len(text) <= 5 and text.isalpha() and text.isupper()):
                yield t
                continue
            letters = text.replace(".", "").lower()
            t.text = ".".join(letters)
            yield t
            if t.mode != "query":  # the same place again, as a plain word
                t.text = letters
                yield t


class StemUnlessAcronym(StemFilter):  # type: ignore[misc]
    """Whoosh's Porter stemming, leaving terms with a dot ("u.s", "3.5") as they are.
    Porter stems "use", "used", "uses", "using" and "useful" to "us", the plain word of
    "US" (see :class:`AcronymFilter`): with ``use_is_not_us`` (set by
    :func:`text_analyzer`), they stem to "use", so that "used" does not find every item
    about the US, nor "us" every use. The filter is kept in each index's schema: an
    index made before, whose filter has not the attribute, stems as Porter does, as its
    terms were made, until it is rebuilt."""

    use_is_not_us = False

    def __call__(self, tokens: Iterator[Any]) -> Iterator[Any]:
        stem = self._stem
        fix = self.use_is_not_us
        for t in tokens:
            if "." not in t.text:
                t.text = not_us(stem, t.text) if fix else stem(t.text)
            yield t


def not_us(stem: Callable[[str], str], word: str) -> str:
    """``word`` stemmed, "use" where Porter gives "us" to any word but "us" itself."""
    found = stem(word)
    return "use" if found == "us" and word != "us" else found


def word_analyzer() -> CompositeAnalyzer:
    """Words, lower-cased, acronyms marked, accents folded; nothing dropped or stemmed."""
    return tokenizer() | AcronymFilter() | LowercaseFilter() | CharsetFilter(accent_map)


def text_analyzer() -> CompositeAnalyzer:
    """As :func:`word_analyzer`, and stemmed (before accents are folded)."""
    stemmer = StemUnlessAcronym()
    stemmer.use_is_not_us = True
    return tokenizer() | AcronymFilter() | LowercaseFilter() | stemmer | CharsetFilter(accent_map)


def text_tokens(text: str) -> Iterator[tuple[str, int, int]]:
    """The terms of a text as the text fields index them, each with where it is."""
    for token in text_analyzer()(text, chars=True, removestops=False):
        yield token.text, token.startchar, token.endchar


#: What a text field gives Whoosh's writer for a value: (term, frequency, weight, value).
Postings = list[tuple[bytes, int, float, bytes]]


@functools.cache
def _cached_stemmer(stemfn: Callable[[str], str], fix: bool) -> Callable[[str], str]:
    """A stemming function with the stems of the words it was last given kept: one for
    every field stemmed by it (the text fields share one analyzer and stemmer), as
    :class:`StemUnlessAcronym` stems."""
    return functools.lru_cache(maxsize=1 << 17)(
        functools.partial(not_us, stemfn) if fix else stemfn
    )


def _indexer(field: Any) -> Callable[[str], Postings] | None:
    """What Whoosh's ``index`` gives for a text of ``field``, computed at once, when the
    field is analyzed by :func:`text_analyzer` or :func:`word_analyzer` (else None).
    Whoosh passes each word through its tokenizer and the four filters, one generator
    each, then counts them (in a profile of a build's sub-writer, 10 of its 35 s). The
    terms are the analyzers' own, step for step, with their own regular expressions,
    stemmer and accent map (a test compares both on arbitrary text)."""
    analyzer, fmt = field.analyzer, field.format
    if type(analyzer) is not CompositeAnalyzer or type(fmt) not in (
        formats.Positions,
        formats.Frequency,
    ):
        return None
    items = list(analyzer.items)
    kinds = [type(x) for x in items]
    if (
        kinds == [RegexTokenizer, AcronymFilter, LowercaseFilter, StemUnlessAcronym, CharsetFilter]
        and not items[3].lang
    ):
        stem: Callable[[str], str] | None = _cached_stemmer(items[3].stemfn, items[3].use_is_not_us)
    elif kinds == [RegexTokenizer, AcronymFilter, LowercaseFilter, CharsetFilter]:
        stem = None
    else:
        return None
    if items[0].gaps:
        return None
    finditer, dotted = items[0].expression.finditer, items[1]._DOTTED.fullmatch
    charmap, boost = items[-1].charmap, fmt.field_boost
    # A posting's value: its positions (Positions), or how many there are (Frequency).
    value_of: Callable[[list[int]], bytes] = (
        fmt.encode if type(fmt) is formats.Positions else lambda places: pack_uint(len(places))
    )

    def index(value: str) -> Postings:
        places: dict[str, list[int]] = defaultdict(list)
        for pos, match in enumerate(finditer(value)):
            text = match.group(0)
            if "," in text:  # as AcronymFilter
                text = text.replace(",", "")
            if ("." in text and dotted(text) is not None) or (
                2 <= len(text) <= 5 and text.isalpha() and text.isupper()
            ):  # as AcronymFilter, indexing
                letters = text.replace(".", "").lower()
                terms: tuple[str, ...] = (".".join(letters), letters)
            else:
                terms = (text,)
            for term in terms:
                term = term.lower()
                if stem is not None and "." not in term:
                    term = stem(term)
                # The accent map changes no lower-case ASCII letter.
                places[term if term.isascii() else term.translate(charmap)].append(pos)
        return [
            (w.encode("utf-8"), len(p), float(len(p)) * boost, value_of(p))
            for w, p in places.items()
        ]

    return index


_whooshs_index = TEXT.index
#: Each text field's indexer, by the field's id: with a weak reference to the field,
#: and the analyzer, format and boost it was made for.
_indexers: dict[int, tuple[Any, Any, Any, Any, Callable[[str], Postings] | None]] = {}


def _text_index(self: Any, value: Any, **kwargs: Any) -> Any:
    """Whoosh's ``TEXT.index``, through :func:`_indexer` for the fields it knows."""
    if kwargs or type(value) is not str:
        return _whooshs_index(self, value, **kwargs)
    key = id(self)
    found = _indexers.get(key)
    analyzer, fmt = self.analyzer, self.format
    boost = getattr(fmt, "field_boost", None)  # a format's boost may change in place
    if (
        found is None
        or found[0]() is not self
        or found[1] is not analyzer
        or found[2] is not fmt
        or found[3] != boost
    ):

        def forget(_: Any, key: int = key) -> None:
            _indexers.pop(key, None)

        found = _indexers[key] = (weakref.ref(self, forget), analyzer, fmt, boost, _indexer(self))
    indexer = found[4]
    return _whooshs_index(self, value) if indexer is None else indexer(value)


TEXT.index = _text_index


def build_schema() -> Schema:
    """The schema of SCHEMA_VERSION."""
    analyzer, words = text_analyzer(), word_analyzer()
    schema = Schema(
        id=ID(stored=True, unique=True, sortable=True),
        kind=ID(stored=True, sortable=True),
        title=TEXT(analyzer=analyzer, field_boost=3.0, multitoken_query="phrase"),
        alt_titles=TEXT(analyzer=analyzer, field_boost=2.5, multitoken_query="phrase"),
        excerpt=TEXT(analyzer=analyzer, field_boost=1.5, multitoken_query="phrase"),
        body=TEXT(analyzer=analyzer, field_boost=1.0, multitoken_query="phrase"),
        title_w=TEXT(analyzer=words, field_boost=3.0, phrase=False),
        alt_titles_w=TEXT(analyzer=words, field_boost=2.5, phrase=False),
        excerpt_w=TEXT(analyzer=words, field_boost=1.5, phrase=False),
        body_w=TEXT(analyzer=words, field_boost=1.0, phrase=False),
        topic=KEYWORD(commas=True, lowercase=True, scorable=True, field_boost=1.0),
        provider=ID(sortable=True, analyzer=IDAnalyzer(lowercase=True)),
        provider_name=ID(sortable=True),
        domain=ID(sortable=True, analyzer=IDAnalyzer(lowercase=True)),
        category=ID(),
        month=ID(sortable=True),
        published=DATETIME(sortable=True),
        oldest=COLUMN(NumericColumn("q", default=MISSING_LAST)),
        quality=NUMERIC(numtype=int, bits=32, sortable=True),
        heat=NUMERIC(numtype=int, bits=32, sortable=True),
        is_published=BOOLEAN(),
        cites=KEYWORD(commas=True),
        norm=KEYWORD(sortable=True),
        gist=COLUMN(VarBytesColumn()),
        links=COLUMN(VarBytesColumn()),
        data=STORED(),
    )
    # Whoosh gives a missing number the largest value, which would sort items without
    # one first under a descending sort. Columns hold numbers in Whoosh's unsigned
    # "sortable" form, where 0 is the smallest value: missing values sort last.
    for name in ("published", "quality", "heat"):
        fieldobj = schema[name]
        fieldobj.column_type = NumericColumn(fieldobj.sortable_typecode, default=0)
    # Publication times are read from columns only (date filters, sorting, stats):
    # Whoosh would also index 8 terms a value, for date range queries that the query
    # language sends to the filters instead, a fifth of a headline's postings.
    schema["published"].indexed = False
    return schema


def column_reader(reader: Any, fieldname: str, translate: bool = True) -> Any:
    """A field's column over every segment of ``reader``, indexed by document number.
    Whoosh's own multi-segment reader leaves out the segments that have no column for
    the field (none of their items has it), which shifts the documents after them; a
    segment's own reader gives such items the column's default. An index of no items
    has no segments, and an empty column."""
    if reader.doc_count_all() == 0:  # Whoosh's reader of no segments has no columns
        return []
    leaves = reader.leaf_readers()
    if len(leaves) == 1:
        return leaves[0][0].column_reader(fieldname, translate=translate)
    return MultiColumnReader(
        [leaf.column_reader(fieldname, translate=translate) for leaf, _ in leaves],
        [base for _, base in leaves],
    )
