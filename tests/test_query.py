"""What a user asks for, before any index is read: date options, date clauses taken out
of the query text, filters, ``-word`` and the plain words of a query."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from searchidx.errors import InvalidOption
from searchidx.query import Filters, literal_words, minus_to_not, parse_date_option, split_dates

NOT_A_DATE = (
    "is not a date; use YYYY, YYYY-MM, YYYY-MM-DD, YYYY-Www (an ISO week) or an ISO 8601 date-time"
)


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2024", False, datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024", True, datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2024-02", False, datetime(2024, 2, 1, tzinfo=UTC)),
        ("2024-02", True, datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2023-12", True, datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2024-03-05", False, datetime(2024, 3, 5, tzinfo=UTC)),
        ("2024-03-05", True, datetime(2024, 3, 5, 23, 59, 59, 999999, tzinfo=UTC)),
        (" 2024-03-05 ", False, datetime(2024, 3, 5, tzinfo=UTC)),
        ("2024-03-05T10:00:00+02:00", False, datetime(2024, 3, 5, 8, tzinfo=UTC)),
        # A date-time is a moment: the end of the day is not added to it.
        ("2024-03-05T10:00:00", True, datetime(2024, 3, 5, 10, tzinfo=UTC)),
        # A date in ISO 8601's other forms is a whole day; a week, the whole week.
        ("20240305", False, datetime(2024, 3, 5, tzinfo=UTC)),
        ("20240305", True, datetime(2024, 3, 5, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2024-W10", False, datetime(2024, 3, 4, tzinfo=UTC)),
        ("2024-W10", True, datetime(2024, 3, 10, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2024W10", True, datetime(2024, 3, 10, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2021-W01", False, datetime(2021, 1, 4, tzinfo=UTC)),
        ("2024-W10-2", False, datetime(2024, 3, 5, tzinfo=UTC)),
        ("2024-W10-2", True, datetime(2024, 3, 5, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_date_options(text: str, end: bool, expected: datetime) -> None:
    assert parse_date_option(text, end) == expected


@pytest.mark.parametrize(
    "text", ["next week", "2024-13", "2024-02-30", "", "24", "2024-W54", "2024-064", "2024030"]
)
def test_bad_date_option(text: str) -> None:
    with pytest.raises(InvalidOption) as info:
        parse_date_option(text)
    assert str(info.value) == f"{text!r} {NOT_A_DATE}"


def since_until(filters: Filters) -> tuple[str | None, str | None]:
    described = filters.describe()
    return described.get("since"), described.get("until")


@pytest.mark.parametrize(
    ("text", "words", "since", "until"),
    [
        (
            "flood published:[2024-01-01 to 2024-03-31]",
            ["flood"],
            "2024-01-01T00:00:00Z",
            "2024-03-31T23:59:59.999999Z",
        ),
        ("PUBLISHED:[2024 TO]", [], "2024-01-01T00:00:00Z", None),
        ("published:[to 2023-06-30]", [], None, "2023-06-30T23:59:59.999999Z"),
        # A bracket left open still closes the range at the end of the text.
        (
            "published:[2024-01-01 to 2024-03-31",
            [],
            "2024-01-01T00:00:00Z",
            "2024-03-31T23:59:59.999999Z",
        ),
        (
            "date:2024-03 storm",
            ["storm"],
            "2024-03-01T00:00:00Z",
            "2024-03-31T23:59:59.999999Z",
        ),
        ("published:>2024-03-05", [], "2024-03-06T00:00:00Z", None),
        ("published:>=2024-03", [], "2024-03-01T00:00:00Z", None),
        ("published:<2024-03-05", [], None, "2024-03-04T23:59:59.999999Z"),
        ("published:<=2024-03", [], None, "2024-03-31T23:59:59.999999Z"),
        # Two clauses narrow each other.
        (
            "published:[to 2023-06-30] vote published:[2023-06-01 to]",
            ["vote"],
            "2023-06-01T00:00:00Z",
            "2023-06-30T23:59:59.999999Z",
        ),
    ],
)
def test_date_clauses_become_filters(
    text: str, words: list[str], since: str | None, until: str | None
) -> None:
    rest, filters = split_dates(text, Filters())
    assert rest.split() == words
    assert since_until(filters) == (since, until)


def test_a_quoted_date_is_a_date() -> None:
    assert split_dates('biden published:"2020-11"', Filters()) == split_dates(
        "biden published:2020-11", Filters()
    )


@pytest.mark.parametrize(
    "text", ['"published:2024" flood', "title:published:2024", "xpublished:2024", "flood"]
)
def test_text_that_is_no_date_clause_is_left_alone(text: str) -> None:
    filters = Filters(providers=("Harbor Wire",))
    assert split_dates(text, filters) == (text, filters)


def test_a_clause_narrows_since_and_until_and_keeps_the_other_filters() -> None:
    given = Filters(
        providers=("Harbor Wire",),
        kind="article",
        since=parse_date_option("2024-02-01"),
        until=parse_date_option("2024-12", True),
    )
    rest, filters = split_dates("published:[2024-01-01 to 2024-03-31] vote", given)
    assert rest.split() == ["vote"]
    assert filters.describe() == {
        "providers": ["Harbor Wire"],
        "kind": "article",
        "since": "2024-02-01T00:00:00Z",
        "until": "2024-03-31T23:59:59.999999Z",
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "published:[junk to 2020]",
            f"cannot read the date range 'published:[junk to 2020]': 'junk' {NOT_A_DATE}",
        ),
        (
            "obama published:[2014-05-01 to 2014-13-01]",
            "cannot read the date range 'published:[2014-05-01 to 2014-13-01]': "
            f"'2014-13-01' {NOT_A_DATE}",
        ),
        ("published:[ to ]", "cannot read the date range 'published:[ to ]': it names no date"),
        ("published:>", "cannot read the date range 'published:>': it names no date"),
        (
            "date:yesterday",
            f"cannot read the date range 'date:yesterday': 'yesterday' {NOT_A_DATE}",
        ),
    ],
)
def test_unreadable_ranges_are_errors(query: str, message: str) -> None:
    with pytest.raises(InvalidOption) as info:
        split_dates(query, Filters())
    assert str(info.value) == message


LOGIC = "selects a range of dates, as --since and --until do, for the whole query: it cannot be negated, ORed or put in parentheses"


@pytest.mark.parametrize(
    ("query", "clause"),
    [
        ("biden -published:2020", "published:2020"),
        ("biden NOT published:2020", "published:2020"),
        ("biden -date:2020", "date:2020"),
        ("biden OR published:2018-03-01", "published:2018-03-01"),
        ("published:2018 OR biden", "published:2018"),
        ("biden (published:2020 OR published:2021)", "published:2020"),
    ],
)
def test_date_clauses_in_the_query_s_logic_are_errors(query: str, clause: str) -> None:
    # Taken out as filters, they selected the dates they meant to leave out.
    with pytest.raises(InvalidOption) as info:
        split_dates(query, Filters())
    assert str(info.value) == f"{clause!r} {LOGIC}"


REVERSED = (
    "the dates select nothing: since {} is after until {}".format(
        "2024-03-05T00:00:00Z", "2024-03-04T23:59:59.999999Z"
    ),
    "the dates select nothing: since {} is after until {}".format(
        "2024-03-10T00:00:00Z", "2024-03-01T23:59:59.999999Z"
    ),
)


@pytest.mark.parametrize(
    ("query", "filters", "message"),
    [
        ("*", {"since": "2024-03-05", "until": "2024-03-04"}, REVERSED[0]),
        ("published:[2024-03-05 to 2024-03-04]", {}, REVERSED[0]),
        ("published:[2024-03-10 to]", {"until": "2024-03-01"}, REVERSED[1]),
    ],
)
def test_a_reversed_date_range_is_an_error(
    query: str, filters: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidOption) as info:
        split_dates(
            query,
            Filters(
                since=parse_date_option(filters["since"]) if "since" in filters else None,
                until=parse_date_option(filters["until"], True) if "until" in filters else None,
            ),
        )
    assert str(info.value) == message


def test_a_one_day_range_is_not_reversed() -> None:
    day = Filters(
        since=parse_date_option("2024-03-05"), until=parse_date_option("2024-03-05", True)
    )
    assert since_until(day) == ("2024-03-05T00:00:00Z", "2024-03-05T23:59:59.999999Z")


def test_an_unknown_kind_is_an_error() -> None:
    with pytest.raises(InvalidOption) as info:
        Filters(kind="video")
    assert str(info.value) == "kind must be one of article, related, all"


def test_filters_describe_what_is_in_force() -> None:
    assert Filters().describe() == {}
    assert Filters(
        providers=("A", "b"),
        topics=("AI",),
        kind="related",
        since=parse_date_option("2024"),
        until=parse_date_option("2024", True),
    ).describe() == {
        "providers": ["A", "b"],
        "topics": ["AI"],
        "kind": "related",
        "since": "2024-01-01T00:00:00Z",
        "until": "2024-12-31T23:59:59.999999Z",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("covid -booster", "covid NOT booster"),
        ('-"a b" c', 'NOT "a b" c'),
        ("a -(b OR c)", "a NOT (b OR c)"),
        ("(-a)", "(NOT a)"),
        # The hyphen inside a word, a lone minus and one inside quotes are not NOT.
        ("covid-19", "covid-19"),
        ("a - b", "a - b"),
        ('"x -y"', '"x -y"'),
    ],
)
def test_minus_is_not(text: str, expected: str) -> None:
    assert minus_to_not(text) == expected


def test_literal_words_keep_dots_apostrophes_and_hyphens_inside_words() -> None:
    assert literal_words("U.S. grant's covid-19 (x) São-Paulo 3.5% a--b") == [
        "U.S",
        "grant's",
        "covid-19",
        "x",
        "São-Paulo",
        "3.5",
        "a",
        "b",
    ]
