"""Near-identical headlines: title normalisation and similarity.

Titles are compared after :func:`normalize_title`: Unicode NFKC, case folding, no
punctuation, number words up to twenty (and ordinals) as digits, no "UPDATE:"-style prefix or
"(Update)"/"- VIDEO"-style tag, no trailing " - Outlet" suffix that names the item's
own provider, and no truncation mark (with the word it may have cut). Scores come from
rapidfuzz's ``fuzz.ratio`` on the normalised text (an edit-distance ratio, 0-100).
Unlike ``token_set_ratio`` it does not score 100 when one headline's words are a subset
of another's, and since rapidfuzz 3 does no case folding or punctuation stripping of
its own, normalisation is done here.

Headlines whose numbers differ are never near-identical, however close their text:
"Top 6" and "Top 9", two dates, two prices are the commonest look-alikes that are
different stories (measured on the UCI headlines by ``tests/bench/variant_threshold``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

from searchidx import options

if TYPE_CHECKING:
    # Not at run time: searching reaches this module through dupes, and documents
    # brings in YAML, which a search has no use for.
    from searchidx.documents import RelatedEntry

#: Default threshold for collapsing one outlet's headline variants within a related list.
RELATED_VARIANT_THRESHOLD = options.VARIANT_THRESHOLD

_PREFIX = re.compile(
    r"^(?:(?:update[sd]?|updated|watch|video|breaking|live|exclusive|photos?|report|"
    r"analysis|opinion|editorial|corrected|correction|factbox|"
    r"breaking news|just in|recap)\s*(?:\d+\s*)?[:|-]\s*)+",
    re.IGNORECASE,
)
_TRUNCATION = re.compile(r"\s*(?:\.{3,}|…)\s*$")
_TRAILING_TAG = re.compile(
    r"\s*(?:\((?:update[sd]?|updated|video|photos?|watch|live|analysis|corrected)\)"
    r"|(?:--?|–|—|\||:)\s*(?:video|photos?|watch(?: now)?!?|live|update[sd]?)!?)\s*$",
    re.IGNORECASE,
)
#: How a title ends when it may end in a trailing tag (its last characters, case folded,
#: "!" dropped): the tag's expression, searched at every position, is tried only then.
_TAG_ENDS = (
    ")",
    "video",
    "photo",
    "photos",
    "watch",
    "now",
    "live",
    "update",
    "updates",
    "updated",
)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_DIGITS = re.compile(r"\d+")
_NUMBER_WORDS = {
    word: str(n)
    for n, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "  # noqa: SIM905
        "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {
    # Ordinals from "second" on ("first" is as often "first look" as a rank).
    word: str(n)
    for n, word in enumerate(
        "_ _ second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "  # noqa: SIM905
        "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth "
        "twentieth".split()
    )
    if n >= 2
}
_SUFFIX_SEPARATORS = (" - ", " | ", " — ", " – ", " :: ")
_NON_WORD = re.compile(r"[\W_]+")
_APOSTROPHES = re.compile(r"(?<=\w)['’](?=\w)")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _words(text: str) -> str:
    if "'" in text or "’" in text:
        text = _APOSTROPHES.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


@functools.lru_cache(maxsize=4096)
def _outlet_names(provider: str, domain: str) -> frozenset[str]:
    """How a title's suffix may name an outlet (outlets recur: kept for the last few
    thousand)."""
    names = {_words(_fold(n)) for n in (provider, domain, domain.rsplit(".", 1)[0]) if n}
    names.discard("")
    return frozenset(names)


def strip_outlet_suffix(title: str, provider: str = "", domain: str = "") -> str:
    """Drop a trailing " - Outlet" or " | Outlet" when it names the given provider."""
    names = _outlet_names(provider, domain)
    if not names:
        return title
    for sep in _SUFFIX_SEPARATORS:
        head, found, tail = title.rpartition(sep)
        if found and head.strip():
            tail_words = _words(_fold(tail))
            squashed = tail_words.replace(" ", "")
            if any(tail_words == n or squashed == n.replace(" ", "") for n in names):
                return head
    return title


def normalize_title(title: str, provider: str = "", domain: str = "") -> str:
    """Normalise a headline for comparison (see the module docstring)."""
    text = unicodedata.normalize("NFKC", title).strip()
    text = strip_outlet_suffix(text, provider, domain)
    # The expressions searched at the end are tried only where the end allows a match
    # (each is searched at every position, a third of the time taken here).
    end = text.rstrip()[-16:]
    if end.endswith(("...", "…")):
        truncated = _TRUNCATION.search(text)
        if truncated:
            # "...board nomin ..." may end in a cut word: drop it with the mark.
            text = text[: truncated.start()]
            head, _, _ = text.rpartition(" ")
            text = head or text
            end = text.rstrip()[-16:]
    if end.casefold().rstrip("!").endswith(_TAG_ENDS):
        text = _TRAILING_TAG.sub("", text)
    text = _PREFIX.sub("", text)
    if "," in text:
        text = _THOUSANDS.sub("", text)
    return " ".join([_NUMBER_WORDS.get(w, w) for w in _words(_fold(text)).split()])


def numbers(norm: str) -> list[str]:
    """The digit runs of a normalised title, in order."""
    return _DIGITS.findall(norm)


def similarity(a: str, b: str) -> float:
    """Similarity of two already normalised titles, 0-100; 0 when their numbers differ."""
    if numbers(a) != numbers(b):
        return 0.0
    return float(fuzz.ratio(a, b))


def _same_outlet(a: RelatedEntry, b: RelatedEntry) -> bool:
    if a.domain and b.domain:
        return a.domain == b.domain
    return bool(a.provider) and _fold(a.provider) == _fold(b.provider)


def collapse_variants(
    entries: Sequence[RelatedEntry], threshold: float = RELATED_VARIANT_THRESHOLD
) -> list[list[RelatedEntry]]:
    """Group one related list into items: entries with the same URL, or from the same
    outlet with titles at least ``threshold`` similar, are one item. Order is kept."""
    from searchidx.documents import url_key

    groups: list[list[RelatedEntry]] = []
    keys: list[set[str]] = []
    norms: dict[int, str] = {}  # normalised only when an outlet appears twice

    def norm(i: int, e: RelatedEntry) -> str:
        if i not in norms:
            norms[i] = normalize_title(e.title, e.provider, e.domain)
        return norms[i]

    for entry in entries:
        key = url_key(entry.url) if entry.url else ""
        for i, group in enumerate(groups):
            if (key and key in keys[i]) or (
                _same_outlet(entry, group[0])
                and similarity(
                    normalize_title(entry.title, entry.provider, entry.domain), norm(i, group[0])
                )
                >= threshold
            ):
                group.append(entry)
                if key:
                    keys[i].add(key)
                break
        else:
            groups.append([entry])
            keys.append({key} if key else set())
    return groups
