"""Title normalisation and similarity: labelled pairs, look-alikes, variants."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from searchidx import titles
from searchidx.copies import DEFAULT_THRESHOLD
from searchidx.documents import RelatedEntry
from searchidx.titles import collapse_variants, normalize_title, similarity

# (title, provider, title, provider, same story?) - labelled by reading them.
LABELLED = [
    (
        "EBay asks shareholders to vote against Carl Icahn board nominees",
        "Economic Times",
        "EBay asks shareholders to vote against Icahn board nominees",
        "bnn.ca",
        True,
    ),
    (
        "City council approves $40 million flood barrier plan",
        "Harbor Wire",
        "City Council approves $40M flood barrier plan - Coastal Daily",
        "Coastal Daily",
        True,
    ),
    (
        "City council approves $40 million flood barrier plan",
        "Harbor Wire",
        "UPDATE: City council approves $40 million flood barrier plan",
        "Metro Ledger",
        True,
    ),
    (
        "City council approves $40 million flood barrier plan",
        "Harbor Wire",
        "City council approves $40 million flood barrier plan ...",
        "Civic Signal",
        True,
    ),
    (
        "Facebook CEO reaps $3.3B gain from stock options",
        "AP",
        "Facebook CEO reaps $3.3B gain from stock options (Update)",
        "Phys.org",
        True,
    ),
    (
        "Justin Bieber, Selena Gomez perform sexy dance routine",
        "Us",
        "Justin Bieber, Selena Gomez Perform Sexy Dance Routine -- VIDEO",
        "Hollywood Life",
        True,
    ),
    (
        "The Godfather of House Music Frankie Knuckles dies",
        "Mixmag",
        "Godfather of house music Frankie Knuckles dies",
        "Reuters",
        True,
    ),
    (
        "Wal-Mart Recalls 174,000 Baby Dolls Over Burn Risk",
        "ABC",
        "Wal-Mart recalls 174000 baby dolls over burn risk",
        "CBS",
        True,
    ),
    (
        "Microsoft CEO Satya Nadella Unveils Office for iPad",
        "India West",
        "Microsoft CEO Satya Nadella unveils Office for iPad",
        "Computing",
        True,
    ),
    (
        "Gwyneth Paltrow, Chris Martin announce separation",
        "CBC.ca",
        "Gwyneth Paltrow and Chris Martin announce separation",
        "WHNS",
        True,
    ),
    (
        "School district to pilot facial recognition cameras at two high schools",
        "Civic Signal",
        "School district to pilot facial recognition cameras at 2 high schools",
        "Coastal Daily",
        True,
    ),
    (
        "St. Aurelia Medical Center discloses data breach affecting 120,000 patients",
        "Civic Signal",
        "St. Aurelia Medical Center Discloses Data Breach Affecting 120,000 Patients",
        "Northgate Herald",
        True,
    ),
    (
        "Air pollution killed seven million people in 2012: WHO",
        "The News",
        "Air pollution killed 7 million people in 2012 - WHO",
        "Bangkok Post",
        True,
    ),
    (
        "Beware of bats: Guinea issues bushmeat warning after Ebola outbreak",
        "Reuters",
        "Beware of Bats: Guinea Issues Bushmeat Warning After Ebola Outbreak | Reuters",
        "Reuters",
        True,
    ),
    (
        "Apple, Samsung head back to court in patent fight",
        "AP",
        "Apple and Samsung head back to court in patent fight",
        "Yahoo",
        True,
    ),
    (
        "Fed's Plosser sees high bar for change in pace of tapering",
        "Livemint",
        "Fed's Charles Plosser sees high bar for change in pace of tapering",
        "Reuters",
        True,
    ),
    (
        "New Orleans police use facial recognition software, despite official assurances to the contrary",
        "NOLA.com",
        "New Orleans police use facial recognition software, despite previous assurances to the contrary",
        "NOLA.com",
        True,
    ),
    (
        "Herbalife shares jump after earnings beat",
        "Reuters",
        "Herbalife Shares Jump After Earnings Beat",
        "MarketWatch",
        True,
    ),
    ("Stocks rise on Fed news", "Reuters", "Stocks fall on Fed news", "Reuters", False),
    (
        "Transit fares to rise in April",
        "Metro Ledger",
        "Transit fares to rise in June",
        "Valley Tribune",
        False,
    ),
    (
        "American Idol 2014 Recap: Season 13 Top 6 Perform",
        "Wetpaint",
        "American Idol 2014 Recap: Season 13 Top 9 Perform",
        "Wetpaint",
        False,
    ),
    ("GM recalls 1.55 million vehicles", "CNN", "GM recalls 1.5 million vehicles", "CNN", False),
    ("Gas prices up 2 cents", "KSL", "Gas prices down 2 cents", "KSL", False),
    (
        "Benzinga's M&A Chatter for Monday July 28, 2014",
        "Benzinga",
        "Benzinga's M&A Chatter for Monday June 16, 2014",
        "Benzinga",
        False,
    ),
    (
        "European car sales grow for sixth consecutive month",
        "LSE",
        "European car sales rise for ninth consecutive month",
        "LSE",
        False,
    ),
    (
        "Stock market higher this morning",
        "Dow Jones",
        "Stock market lower this morning",
        "Dow Jones",
        False,
    ),
    ("Apple unveils new iPhone", "CNET", "Samsung unveils new Galaxy phone", "CNET", False),
    (
        "Quillon Systems to cut 1,200 jobs in AI restructuring",
        "Lantern",
        "Quillon to lay off 1,200 workers as it pivots to AI",
        "Metro Ledger",
        False,
    ),
    ("Euro rises against dollar", "Reuters", "Euro falls against dollar", "Reuters", False),
    (
        "Watch Jessica Meuse Sing on The Voice",
        "NBC",
        "Watch Jake Worthington Sing on The Voice",
        "NBC",
        False,
    ),
    ("EUR/JPY daily forecast", "FX", "EUR/NZD daily forecast", "FX", False),
]

# Different stories that score above the default anyway: one word swapped in a long
# headline. On UCI data a dissimilar swapped word is as common among same-story
# rewrites ("legend"/"icon", "mother"/"mom") as here, so no rule separates them; the
# publication window does when they are days apart.
KNOWN_LOOKALIKES = [
    (
        "Evacuation orders issued for Sawtooth Ridge fire",
        "Evacuation orders lifted for Sawtooth Ridge fire",
    ),
    ("Ukraine crisis: Russia warns of response", "Ukraine crisis: US warns of response"),
    (
        "Coach (COH) Set to Announce Quarterly Earnings on Tuesday",
        "Yahoo! (YHOO) Set to Announce Quarterly Earnings on Tuesday",
    ),
]


@pytest.mark.parametrize(
    ("a", "pa", "b", "pb", "same"), LABELLED, ids=[f"{p[0][:30]}|{p[4]}" for p in LABELLED]
)
def test_labelled_pairs_at_the_default_threshold(
    a: str, pa: str, b: str, pb: str, same: bool
) -> None:
    score = similarity(normalize_title(a, pa), normalize_title(b, pb))
    assert (score >= DEFAULT_THRESHOLD) is same, score


@pytest.mark.parametrize(("a", "b"), KNOWN_LOOKALIKES)
def test_known_lookalikes_score_above_the_threshold(a: str, b: str) -> None:
    assert similarity(normalize_title(a), normalize_title(b)) >= DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    ("title", "provider", "domain", "expected"),
    [
        (
            "City Council approves $40M flood barrier plan - Coastal Daily",
            "Coastal Daily",
            "",
            "city council approves 40m flood barrier plan",
        ),
        ("Storm hits coast | Harbor Wire", "", "harborwire.com", "storm hits coast"),
        ("Storm hits coast - HarborWire", "Harbor Wire", "", "storm hits coast"),
        (
            "Storm hits coast - Reuters",
            "Harbor Wire",
            "",
            "storm hits coast reuters",
        ),  # not its own outlet
        ("UPDATE: Storm hits coast", "", "", "storm hits coast"),
        ("UPDATE 2-Storm hits coast", "", "", "storm hits coast"),
        ("WATCH: Storm hits coast", "", "", "storm hits coast"),
        ("BREAKING NEWS: Storm hits coast", "", "", "storm hits coast"),
        ("Storm hits coast (Update)", "", "", "storm hits coast"),
        ("Storm hits coast -- VIDEO", "", "", "storm hits coast"),
        (
            "EBay asks shareholders to vote against Carl Icahn board nomin  ...",
            "",
            "",
            "ebay asks shareholders to vote against carl icahn board",
        ),
        ("Storm hits coast…", "", "", "storm hits"),
        ("Ｆｕｌｌｗｉｄｔｈ Straße", "", "", "fullwidth strasse"),
        ("Macy's posts 3.5% gain", "", "", "macys posts 3 5 gain"),
        ("Breach affects 120,000 patients", "", "", "breach affects 120000 patients"),
        ("Seven killed, twelve hurt in second crash", "", "", "7 killed 12 hurt in 2 crash"),
        ("Stocks  RISE\ton  Fed", "", "", "stocks rise on fed"),
    ],
)
def test_normalisation(title: str, provider: str, domain: str, expected: str) -> None:
    assert normalize_title(title, provider, domain) == expected


def _every_expression(title: str, provider: str = "", domain: str = "") -> str:
    """normalize_title with every expression tried on every title, as it is described."""
    text = unicodedata.normalize("NFKC", title).strip()
    text = titles.strip_outlet_suffix(text, provider, domain)
    truncated = titles._TRUNCATION.search(text)
    if truncated:
        text = text[: truncated.start()]
        head, _, _ = text.rpartition(" ")
        text = head or text
    text = titles._TRAILING_TAG.sub("", text)
    text = titles._PREFIX.sub("", text)
    text = titles._fold(titles._THOUSANDS.sub("", text))
    words = " ".join(titles._NON_WORD.sub(" ", titles._APOSTROPHES.sub("", text)).split())
    return " ".join(titles._NUMBER_WORDS.get(w, w) for w in words.split())


#: Pieces of titles around what the expressions look for, in any case.
_PIECES = [
    "Video",
    "VIDEO!",
    "(Update)",
    "(updated)",
    "(corrected)",
    "watch",
    "now!!",
    "Watch",
    "Live",
    "Photos",
    "photo!",
    " - watch now!",
    "- Updated!",
    ": photo",
    ": VIDEO",
    "— live",
    "| Photos!",
    " - update",
    "Updates!",
    "updated!!",
    "(video)!",
    "UPDATE:",
    "Breaking",
    "-",
    "Update",
    "2:",
    "...",
    "…",
    "1,000",
    "9,99",
    "it's",
    "it’s",
    "|",
    "--",
    "—",
    "–",
    ":",
    "!",
    "!!!",
    "(",
    ")",
    "ſ",
    "ß",
    "İ",
    "ı",
    "Ü",
    "Ｖｉｄｅｏ",
    "x",
    "twelve",
    "12",
    "  ",
    "\n",
    "\t",
    "\u00a0",
    "\u2009",
]


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES) | st.text(max_size=3), max_size=8).map("".join),
    st.sampled_from(["", "Reuters", "Harbor Wire"]),
)
def test_normalisation_is_that_of_every_expression_on_every_title(
    title: str, provider: str
) -> None:
    assert normalize_title(title, provider, "") == _every_expression(title, provider, "")


def test_subset_titles_are_not_identical() -> None:
    # token_set_ratio would score this 100: one title's words are a subset of the other's.
    a, b = (
        normalize_title("Fed holds rates"),
        normalize_title("Fed holds rates as inflation cools and jobs grow"),
    )
    assert fuzz.token_set_ratio(a, b) == 100
    assert similarity(a, b) < 60


def test_variants_collapse_only_within_one_outlet() -> None:
    def entry(title: str, provider: str, url: str) -> RelatedEntry:
        return RelatedEntry(
            title=title, provider=provider, domain=provider.lower() + ".com", url=url
        )

    entries = [
        entry("Port strike halts cargo at Ellery terminals", "Bay", "https://bay.com/a"),
        entry("Port strike halts cargo at Ellery's terminals", "Bay", "https://bay.com/b"),
        entry("Port strike halts cargo at Ellery terminals", "Harbor", "https://harbor.com/a"),
        entry("Something else entirely", "Bay", "https://bay.com/a/"),  # same URL: same item
    ]
    groups = collapse_variants(entries)
    assert [[e.url for e in g] for g in groups] == [
        ["https://bay.com/a", "https://bay.com/b", "https://bay.com/a/"],
        ["https://harbor.com/a"],
    ]
