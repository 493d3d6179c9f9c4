"""The grouping state: updated step by step, it gives what grouping everything gives."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from searchidx import storycore, storystate
from searchidx.storystate import GroupingState, Item

DAY = 86_400
T0 = 1_700_006_400  # a Thursday; blocks of 7 days fall every BLOCK_DAYS from 1970-01-01
SETTINGS = (storycore.DEFAULT_THRESHOLD, storycore.DEFAULT_WINDOW_DAYS)
View = tuple[list[tuple[str, int, int]], list[int], Callable[[list[int]], list[tuple[str, Item]]]]


class Rows:
    """An index's rows as the state reads them: runs that are never written again once
    added, rows deleted in place, and merges that write the live rows as a new run."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, list[tuple[str, Item]]]] = []
        self.deleted: set[tuple[int, int]] = set()  # (run, place)
        self.made = 0

    def add(self, items: list[tuple[str, Item]]) -> None:
        for key, _ in items:
            self.remove(key)
        self.made += 1
        self.runs.append((f"run{self.made}", items))

    def remove(self, key: str) -> None:
        for r, (_, items) in enumerate(self.runs):
            for k, (other, _) in enumerate(items):
                if other == key:
                    self.deleted.add((r, k))

    def live_items(self) -> list[tuple[str, Item]]:
        return [
            pair
            for r, (_, items) in enumerate(self.runs)
            for k, pair in enumerate(items)
            if (r, k) not in self.deleted
        ]

    def merge(self, first: int) -> None:
        """Write the live rows of runs from ``first`` on as one new run."""
        kept = [
            pair
            for r, (_, items) in enumerate(self.runs)
            if r >= first
            for k, pair in enumerate(items)
            if (r, k) not in self.deleted
        ]
        self.runs = self.runs[:first]
        self.deleted = {(r, k) for r, k in self.deleted if r < first}
        self.made += 1
        self.runs.append((f"run{self.made}", kept))

    def view(self) -> View:
        runs, live, rows = [], [], {}
        first = 0
        for r, (token, items) in enumerate(self.runs):
            runs.append((token, first, len(items)))
            for k, pair in enumerate(items):
                rows[first + k] = pair
                if (r, k) not in self.deleted:
                    live.append(first + k)
            first += len(items)
        return runs, live, lambda wanted: [rows[row] for row in wanted]


def rebuilt(rows: Rows) -> set[frozenset[str]]:
    """The stories of grouping every live item at once, as the index's items would be
    grouped without a state."""
    pairs = rows.live_items()
    entries = [storycore.Entry(k, item[1], item[2], item[0]) for k, item in pairs]
    pos = {e.key: i for i, e in enumerate(entries)}
    links = []
    for i, (_, item) in enumerate(pairs):
        listed = [pos[x] for x in item[3].split() if x in pos]
        links += [(i, j) for j in listed]
        links += [(a, b) for n, a in enumerate(listed) for b in listed[n + 1 :]]
    return {frozenset(entries[i].key for i in g) for g in storycore.group(entries, links)}


STORIES = [
    "quillon systems cut 1200 jobs restructuring",
    "port ellery flood barrier approved council",
    "sawtooth ridge wildfire forces evacuations",
    "harbor wire strike ends after talks",
    "lantern bank merger with vantor approved",
    "orbital launch of weather satellite delayed",
]


def make_item(rng: random.Random, n: int, keys: list[str]) -> Item:
    """An item: a rewording of one of a few stories, or filler, or a boilerplate
    title; mostly dated over five weeks, a few undated; sometimes naming others."""
    kind = rng.random()
    if kind < 0.55:
        words = STORIES[rng.randrange(len(STORIES))].split()
        title = " ".join(rng.sample(words, rng.randint(3, len(words))))
    elif kind < 0.75:
        title = f"things to know on {rng.choice(['friday', 'monday'])} {rng.randint(1, 9)}"
    else:
        title = f"filler{n} note{n % 7} item{n}"
    time = None if rng.random() < 0.08 else T0 + int(rng.random() * 35 * DAY)
    named = " ".join(rng.sample(keys, min(len(keys), rng.randint(0, 3)))) if keys else ""
    excerpt = f"{rng.choice(STORIES).split()[0]} update" if rng.random() < 0.3 else ""
    return (time, title, excerpt, named if rng.random() < 0.3 else "")


@pytest.mark.parametrize("seed", range(5))
def test_updates_give_what_grouping_everything_gives(seed: int) -> None:
    rng = random.Random(seed)
    rows = Rows()
    made = 0

    def new_items(count: int) -> list[tuple[str, Item]]:
        nonlocal made
        keys = [k for k, _ in rows.live_items()]
        out = []
        for _ in range(count):
            made += 1
            out.append((f"k{made:04d}", make_item(rng, made, keys)))
        return out

    rows.add(new_items(60))
    state = GroupingState(SETTINGS)
    state.update(*rows.view())
    assert {frozenset(g) for g in state.stories()} == rebuilt(rows)
    for step in range(14):
        live = rows.live_items()
        action = step % 7
        if action == 0:  # a few new files
            rows.add(new_items(rng.randint(1, 4)))
        elif action == 1:  # files removed
            for key, _ in rng.sample(live, 3):
                rows.remove(key)
        elif action == 2:  # an article moved to another day, or within its day
            key, item = rng.choice([p for p in live if p[1][0] is not None])
            shift = rng.choice([3600, 9 * DAY, -12 * DAY])
            rows.add([(key, (item[0] + shift, *item[1:]))])  # type: ignore[operator]
        elif action == 3:  # a related list changed
            key, item = rng.choice(live)
            named = " ".join(k for k, _ in rng.sample(live, 3))
            rows.add([(key, (*item[:3], named))])
        elif action == 4:  # a boilerplate title seen on days enough to count
            for d in range(5):
                made += 1
                item = (T0 + (d * 6 + step) * DAY, "daily digest of the markets", "", "")
                rows.add([(f"k{made:04d}", item)])
        elif action == 5:  # ... and gone again
            for key, item in live:
                if item[1] == "daily digest of the markets" and rng.random() < 0.7:
                    rows.remove(key)
        else:  # segments merged: rows renumbered, contents the same
            rows.merge(rng.randrange(len(rows.runs)))
        state.update(*rows.view())
        again = GroupingState.loads(state.dumps(), SETTINGS)
        assert again is not None
        state = again
        assert {frozenset(g) for g in state.stories()} == rebuilt(rows), step
        fresh = GroupingState(SETTINGS)
        fresh.update(*rows.view())
        assert fresh.parts == state.parts


def test_a_merge_reads_its_rows_again_and_changes_nothing() -> None:
    rng = random.Random(5)
    rows = Rows()
    rows.add([(f"k{i}", make_item(rng, i, [])) for i in range(40)])
    rows.add([(f"j{i}", make_item(rng, 100 + i, [])) for i in range(10)])
    state = GroupingState(SETTINGS)
    state.update(*rows.view())
    before = state.parts
    rows.merge(0)
    changes = state.update(*rows.view())
    assert (changes.added, changes.removed, changes.changed, changes.dirty) == (0, 0, 0, set())
    assert state.parts == before


def test_one_change_clusters_again_its_block_alone() -> None:
    rows = Rows()
    rng = random.Random(2)
    rows.add([(f"k{i:03d}", make_item(rng, i, [])) for i in range(200)])
    state = GroupingState(SETTINGS)
    state.update(*rows.view())
    # an item of a story's words in the newest week: no word crosses a step
    day = T0 + 33 * DAY
    rows.add([("new", (day, "quillon systems cut jobs", "", ""))])
    changes = state.update(*rows.view())
    assert changes.added == 1
    assert changes.dirty == {day // DAY // storycore.BLOCK_DAYS}
    assert {frozenset(g) for g in state.stories()} == rebuilt(rows)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00garbage", GroupingState((0.4, 3.0)).dumps()],
)
def test_unreadable_or_other_states_are_not_used(data: bytes) -> None:
    assert GroupingState.loads(data, SETTINGS) is None


def _stories_after(rows: Rows, state: GroupingState) -> set[frozenset[str]]:
    state.update(*rows.view())
    got = {frozenset(g) for g in state.stories()}
    assert got == rebuilt(rows)
    return got


def _fillers(count: int, day: int, word: str = "") -> list[tuple[str, Item]]:
    return [
        (f"f{day}-{i:03d}", (T0 + day * DAY, f"{word} filler{i} note{i}".strip(), "", ""))
        for i in range(count)
    ]


def _block(day: int) -> int:
    return (T0 // DAY + day) // storycore.BLOCK_DAYS


@pytest.fixture
def one_word_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests of what an update regroups below are built on a pair of items sharing
    one rare word ("zeta"), whose weight decides whether they are a story: candidate
    pairs then need one shared word, not ``storycore.EDGE_WORDS`` (which
    tests/test_stories.py tests)."""
    monkeypatch.setattr(storycore, "EDGE_WORDS", 1)


def _zeta_pair(day: int) -> list[tuple[str, Item]]:
    """Two items of one day sharing only "zeta": a story while "zeta" is rare."""
    return [
        ("a", (T0 + day * DAY, "zeta alpha beta", "", "")),
        ("b", (T0 + day * DAY + 3600, "zeta gamma delta", "", "")),
    ]


def _zeta_items(count: int, day: int) -> list[tuple[str, Item]]:
    """Items of one day having "zeta" and words of their own."""
    return [
        (f"z{i:03d}", (T0 + day * DAY + i, f"zeta more{i} about{i}", "", "")) for i in range(count)
    ]


@pytest.mark.parametrize(
    ("pair_day", "others", "update", "story_after", "dirty_days"),
    [
        # 30 items of an older week changed to have "zeta": the older items' count of
        # it crosses steps, its weight falls, and the pair of week 0 is no story
        (0, [(190, 10), (20, 28)], _fillers(30, 10, "zeta"), False, {0, 10}),
        # 30 items with "zeta" added to the newest week: the older items' counts are
        # as they were, and so are the pair and its block
        (0, [(190, 10), (20, 28)], _zeta_items(30, 28), True, {28}),
        # 30 items of the newest week changed to have "zeta": the pair of the week
        # before the newest, weighed over every item, is clustered again (none of its
        # items changed) and is no story
        (21, [(190, 0), (40, 28)], _fillers(30, 28, "zeta"), False, {21, 28}),
    ],
    ids=["older-week", "newest-week-leaves-older", "newest-week-reweighs-newest"],
)
def test_a_word_whose_weight_changes_regroups_the_blocks_having_it(
    one_word_pairs: None,
    pair_day: int,
    others: list[tuple[int, int]],
    update: list[tuple[str, Item]],
    story_after: bool,
    dirty_days: set[int],
) -> None:
    # "zeta" is rare: the two items of the pair are one story until 30 more have it
    # (the numbers of items stay within one step).
    rows = Rows()
    rows.add(_zeta_pair(pair_day) + [f for count, day in others for f in _fillers(count, day)])
    state = GroupingState(SETTINGS)
    assert _stories_after(rows, state) == {frozenset("ab")}
    rows.add(update)
    assert _stories_after(rows, state) == ({frozenset("ab")} if story_after else set())
    assert state.changes is not None and not state.changes.everything
    assert state.changes.dirty == {_block(d) for d in dirty_days}


def test_a_step_in_the_number_of_items_regroups_the_newest_blocks(one_word_pairs: None) -> None:
    # As below, for the newest two weeks, weighed over every item: items added to the
    # newest week make the number cross a step, and the pair of the week before it,
    # none of whose words' counts changed, becomes a story.
    low, high = 100, 130
    df = _df_between(low, high)
    rows = Rows()
    pair = _zeta_pair(21)
    rows.add(pair + _fillers(df - 2, 28, "zeta") + _fillers(low - df, 0))
    state = GroupingState(SETTINGS)
    assert _stories_after(rows, state) == set()
    rows.add([(f"n{i}", (T0 + 27 * DAY + i, f"extra{i} more{i}", "", "")) for i in range(30)])
    assert _stories_after(rows, state) == {frozenset("ab")}
    assert state.changes is not None and not state.changes.everything
    assert state.changes.dirty == {_block(21), _block(27)}


def test_a_word_another_item_comes_to_have_regroups_its_blocks(one_word_pairs: None) -> None:
    # Among 2,048 items or more, a word of one item weighs as a word of two: when an
    # item weeks away gets "aaa" too, no weight changes, but "a" looks its candidates up
    # by "aaa" now (the first of its words of two items), no longer by "gamma", and so
    # no longer finds "c", whose only word of two items is "gamma".
    rows = Rows()
    rows.add(
        [
            ("a", (T0, "aaa alpha beta gamma", "", "")),
            ("c", (T0 + 3600, "gamma delta epsilon", "", "")),
            ("x1", (T0 + 10 * DAY, "alpha omega", "", "")),
            ("x2", (T0 + 10 * DAY + 1, "beta psi", "", "")),
            *_fillers(2100, 20),
            *_fillers(10, 35),
        ]
    )
    state = GroupingState(SETTINGS)
    assert _stories_after(rows, state) == {frozenset("ac")}
    rows.add([("z", (T0 + 10 * DAY + 2, "aaa chi", "", ""))])
    assert _stories_after(rows, state) == set()
    assert state.changes is not None and _block(0) in state.changes.dirty


def test_an_item_dated_years_ahead_leaves_the_newest_weeks_as_they_are(
    one_word_pairs: None,
) -> None:
    # The newest week is the newest holding one item in 2,000 of all (2 of 4,123 here):
    # an item dated years ahead by mistake does not make every week of the collection
    # older, so the 30 items with "zeta" added to the last real week still leave the
    # pair of week 0 (older) a story, and its block as it was.
    rows = Rows()
    pair = _zeta_pair(0)
    ahead = [("ahead", (T0 + 1000 * DAY, "far ahead of its time", "", ""))]
    rows.add(pair + _fillers(4100, 10) + _fillers(20, 28) + ahead)
    state = GroupingState(SETTINGS)
    assert _stories_after(rows, state) == {frozenset("ab")}
    rows.add(_zeta_items(30, 28))
    assert _stories_after(rows, state) == {frozenset("ab")}
    assert state.changes is not None and state.changes.dirty == {_block(28)}


def test_a_new_newest_week_regroups_every_block() -> None:
    rows = Rows()
    rows.add(_fillers(40, 0) + _fillers(40, 10) + _fillers(40, 20))
    state = GroupingState(SETTINGS)
    _stories_after(rows, state)
    rows.add(_fillers(1, 30))
    _stories_after(rows, state)
    assert state.changes is not None and state.changes.everything
    assert state.changes.dirty == {_block(0), _block(10), _block(20), _block(30)}


def test_a_template_that_becomes_boilerplate_regroups_the_blocks_having_it() -> None:
    # Two items of week 0 with one title are a story while the title is seen on two
    # days, and so are two undated ones; three items of week 3 moved to days of their
    # own make it boilerplate.
    title = "market wrap for traders"
    rows = Rows()
    rows.add(
        [("a", (T0, title, "", "")), ("b", (T0 + 3600, title, "", ""))]
        + [("c", (None, title, "", "")), ("d", (None, title, "", ""))]  # undated
        + [(f"w{i}", (T0 + 21 * DAY + i, title, "", "")) for i in range(3)]
        + _fillers(40, 10)
    )
    state = GroupingState(SETTINGS)
    assert {frozenset("ab"), frozenset("cd")} <= _stories_after(rows, state)
    rows.add([(f"w{i}", (T0 + (21 + i) * DAY, title, "", "")) for i in range(3)])
    assert _stories_after(rows, state) == set()
    assert state.changes is not None and state.changes.changed == 2  # w1, w2: not a, b
    assert (T0 // DAY) // storycore.BLOCK_DAYS in state.changes.dirty


def _df_between(low: int, high: int) -> int:
    """A count of "zeta" for which "zeta alpha beta" and "zeta gamma delta" score under
    the least cosine among ``low`` items and over it among ``high`` (coarse(100) = 90.5,
    coarse(130) = 128)."""

    def cosine(df: int, n: int) -> float:
        z = storycore.word_weight("zeta", df, n)
        one = storycore.word_weight("alpha", 1, n)
        return z * z / (z * z + 2 * one * one)

    return next(d for d in range(2, 60) if cosine(d, low) < 0.2 <= cosine(d, high))


def test_a_step_in_the_number_of_items_regroups_every_older_block(one_word_pairs: None) -> None:
    # Every weight depends on the number of items, rounded to a step: when it crosses
    # one, a pair whose similarity was just under the threshold can reach it. Here the
    # older blocks' number (every item but those of the newest two weeks) crosses one.
    low, high = 100, 130
    df = _df_between(low, high)
    rows = Rows()
    pair = _zeta_pair(0)
    newest = _fillers(5, 35)
    rows.add(pair + _fillers(df - 2, 7, "zeta") + _fillers(low - df, 14) + newest)
    state = GroupingState(SETTINGS)
    assert _stories_after(rows, state) == set()
    rows.add(_fillers(high - low, 21))
    assert _stories_after(rows, state) == {frozenset("ab")}
    assert state.changes is not None and not state.changes.everything
    assert state.changes.dirty == {_block(d) for d in (0, 7, 14, 21, 35)}  # all: n too


@pytest.mark.parametrize("day", [0, 1, 16_000, -1, -30_000, 2**31 - 1, -(2**31)])
def test_a_template_and_a_day_make_one_number_and_back(day: int) -> None:
    template = 2**64 - 3
    key = storystate._day_key(template, day)
    assert (key >> storystate._DAY_BITS, storystate._day_of(key)) == (template, day)


@pytest.mark.parametrize(
    "title",
    [
        "the a of it",  # stop words and single letters: no word that counts
        "1200 2014",  # numbers alone: no template, never grouped
    ],
)
def test_an_item_changed_to_a_title_never_grouped_leaves_its_story(title: str) -> None:
    rows = Rows()
    story = "quillon systems 1200 2014"
    rows.add([(key, (T0 + n * 3600, story, "", "")) for n, key in enumerate("abc")])
    rows.add(_fillers(30, 10))
    state = GroupingState(SETTINGS)
    assert _stories_after(rows, state) == {frozenset("abc")}
    rows.add([("c", (T0 + 7200, title, "", ""))])
    assert _stories_after(rows, state) == {frozenset("ab")}
