"""The grouping state: updated step by step, it gives what grouping everything gives."""

from __future__ import annotations

import marshal
import random
from collections.abc import Callable

import pytest

from searchidx import storycore, storystate
from searchidx.storyfile import StateFile
from searchidx.storystate import Changes, GroupingState, Item, Run

DAY = 86_400
T0 = 1_700_006_400  # a Thursday; blocks of 7 days fall every BLOCK_DAYS from 1970-01-01
SETTINGS = (storycore.DEFAULT_THRESHOLD, storycore.DEFAULT_WINDOW_DAYS)
View = tuple[list[Run], Callable[[list[int]], list[tuple[str, Item]]]]


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
        runs, rows = [], {}
        first = 0
        for r, (token, items) in enumerate(self.runs):
            gone = frozenset(k for k in range(len(items)) if (r, k) in self.deleted)
            runs.append((token, first, len(items), gone))
            for k, pair in enumerate(items):
                rows[first + k] = pair
            first += len(items)
        return runs, lambda wanted: [rows[row] for row in wanted]


class Keeper:
    """A grouping state as an index keeps it: written to its file after each update and
    read back from it piece by piece, the stories it keeps patched with those each
    update made again."""

    def __init__(self) -> None:
        self.file = StateFile.open(":memory:", writable=True)
        self.state = GroupingState(SETTINGS)
        self.kept: set[frozenset[str]] = set()
        self.changes: Changes | None = None

    def update(self, rows: Rows) -> Changes:
        changes = self.changes = self.state.update(*rows.view())
        if changes.every:
            self.kept = {frozenset(g) for g in self.state.stories()}
        else:
            assert changes.unmade <= {min(s) for s in self.kept}
            self.kept = {s for s in self.kept if min(s) not in changes.unmade}
            made = {frozenset(g) for g in changes.stories}
            assert all(g == sorted(g) for g in changes.stories)
            assert not any(s & m for s in self.kept for m in made)
            self.kept |= made
        with self.file.writing():
            self.state.save(self.file)
        again = GroupingState.open(self.file, SETTINGS)
        assert again is not None
        self.state = again
        return changes

    @property
    def parts(self) -> storycore.Kept:
        self.state.stories()  # reads every part
        return self.state.parts


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


@pytest.mark.parametrize("view_min", [0, 25, storycore.VIEW_MIN])
@pytest.mark.parametrize("seed", range(5))
def test_updates_give_what_grouping_everything_gives(
    seed: int, view_min: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Views of one block each, of blocks until 25 items, of every item (a collection
    # smaller than VIEW_MIN).
    monkeypatch.setattr(storycore, "VIEW_MIN", view_min)
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
    state = Keeper()
    state.update(rows)
    assert state.kept == rebuilt(rows)
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
        state.update(rows)
        assert state.kept == rebuilt(rows), step
        assert {frozenset(g) for g in state.state.stories()} == state.kept
        fresh = GroupingState(SETTINGS)
        fresh.update(*rows.view())
        assert fresh.parts == state.parts
        # the file holds what a state grouped afresh holds
        assert _contents(_saved(fresh)) == _contents(state.file)


def _saved(state: GroupingState) -> StateFile:
    """A file (in memory) that ``state``, grouped afresh, is written to."""
    file = StateFile.open(":memory:", writable=True)
    with file.writing():
        state.save(file)
    return file


def _contents(file: StateFile) -> dict[str, list[tuple[object, ...]]]:
    """Every table of a grouping file but its runs (whose ids may differ), sorted."""
    tables = ("items", "blocks", "seams", "templates", "cited", "words")
    out = {
        t: sorted(  # each value as read back: a dict's order is the order it was made in
            tuple(marshal.loads(v) if isinstance(v, bytes) else v for v in row)
            for row in file.conn.execute(f"SELECT * FROM {t}")
        )
        for t in tables
    }
    # items name their runs by id: compare their rows through the runs' tokens
    rids = dict(file.conn.execute("SELECT rid, token FROM runs"))
    out["items"] = sorted((*row[:7], rids[row[7]], row[8]) for row in out["items"])
    return out


@pytest.mark.parametrize("seed", range(5))
def test_reach_is_what_an_update_adding_the_items_clusters_again(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storycore, "VIEW_MIN", 40)  # about a week of these items
    rng = random.Random(seed)
    rows = Rows()
    rows.add([(f"k{i:03d}", make_item(rng, i, [])) for i in range(200)])
    state = Keeper()
    state.update(rows)
    keys = [k for k, _ in rows.live_items()]
    added = [(f"n{i}", make_item(rng, 300 + i, keys)) for i in range(3)]
    reach = state.state.reach(added)
    rows.add(added)
    # the state is left as it was: the update after it is what grouping afresh gives
    assert state.update(rows).dirty == reach
    assert state.kept == rebuilt(rows)
    fresh = GroupingState(SETTINGS)
    fresh.update(*rows.view())
    assert _contents(_saved(fresh)) == _contents(state.file)


def test_a_merge_reads_its_rows_again_and_changes_nothing() -> None:
    rng = random.Random(5)
    rows = Rows()
    rows.add([(f"k{i}", make_item(rng, i, [])) for i in range(40)])
    rows.add([(f"j{i}", make_item(rng, 100 + i, [])) for i in range(10)])
    state = Keeper()
    state.update(rows)
    before = state.parts
    kept = state.kept
    rows.merge(0)
    changes = state.update(rows)
    assert (changes.added, changes.removed, changes.changed, changes.dirty) == (0, 0, 0, set())
    assert state.parts == before
    # the stories of the rows read again are made again (their rows are others), the same
    assert {frozenset(g) for g in changes.stories} == kept
    assert state.kept == kept


def test_one_change_clusters_again_its_block_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storycore, "VIEW_MIN", 40)  # about a week of these items
    rows = Rows()
    rng = random.Random(2)
    rows.add([(f"k{i:03d}", make_item(rng, i, [])) for i in range(200)])
    state = Keeper()
    state.update(rows)
    # an item of a story's words in the newest week: no word crosses a step
    day = T0 + 33 * DAY
    rows.add([("new", (day, "quillon systems cut jobs", "", ""))])
    changes = state.update(rows)
    assert changes.added == 1
    assert changes.dirty == {day // DAY // storycore.BLOCK_DAYS}
    assert state.kept == rebuilt(rows)
    # the stories made again: those having an item of its block (and of the boundary
    # before it), not the others
    items = dict(rows.live_items())
    made = {frozenset(g) for g in changes.stories}
    week = day // DAY // storycore.BLOCK_DAYS
    assert {s for s in state.kept if any(storystate.block_of(items[k]) == week for k in s)} <= made
    assert all(any(storystate.block_of(items[k]) >= week - 1 for k in s) for s in made)
    assert len(made) < len(state.kept)


@pytest.mark.parametrize(
    "meta",
    [
        {},
        {"state": storystate.STATE_VERSION, "settings": (0.4, 3.0)},
        {"state": storystate.STATE_VERSION - 1, "settings": SETTINGS},
    ],
    ids=["empty", "other-settings", "older-version"],
)
def test_files_of_no_state_or_another_are_not_used(meta: dict[str, object]) -> None:
    file = StateFile.open(":memory:", writable=True)
    with file.writing():
        file.set_meta(meta)
    assert GroupingState.open(file, SETTINGS) is None


def _stories_after(rows: Rows, state: Keeper) -> set[frozenset[str]]:
    state.update(rows)
    assert state.kept == rebuilt(rows)
    assert {frozenset(g) for g in state.state.stories()} == state.kept
    return state.kept


def _fillers(count: int, day: int, word: str = "") -> list[tuple[str, Item]]:
    return [
        (f"f{day}-{i:03d}", (T0 + day * DAY, f"{word} filler{i} note{i}".strip(), "", ""))
        for i in range(count)
    ]


def _block(day: int) -> int:
    return (T0 // DAY + day) // storycore.BLOCK_DAYS


@pytest.fixture
def small_views(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each block's view reaches back until it holds 150 items (the tests below are
    built on a few hundred items, where ``storycore.VIEW_MIN`` would take in every
    item)."""
    monkeypatch.setattr(storycore, "VIEW_MIN", 150)


@pytest.fixture
def one_word_pairs(monkeypatch: pytest.MonkeyPatch, small_views: None) -> None:
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
        # 30 items of a week before the pair's changed to have "zeta": its count over
        # the pair's view crosses steps, its weight falls, and the pair is no story
        (21, [(190, 7), (20, 28)], _fillers(30, 7, "zeta"), False, {7, 21}),
        # 30 items of a later week changed to have it: the pair's view (its week holds
        # 150 items) is as it was, and so are the pair and its block
        (0, [(190, 0), (40, 10), (20, 28)], _fillers(30, 10, "zeta"), True, {10}),
        # 30 items with "zeta" added to the newest week: the older weeks' views are as
        # they were
        (0, [(190, 10), (20, 28)], _zeta_items(30, 28), True, {28}),
        # ... and the pair of the newest week, none of whose items changed, is clustered
        # again and is no story
        (28, [(190, 0), (40, 21)], _fillers(30, 21, "zeta"), False, {21, 28}),
    ],
    ids=["earlier-week", "later-week", "newest-week-leaves-older", "newest-week-reweighed"],
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
    state = Keeper()
    assert _stories_after(rows, state) == {frozenset("ab")}
    rows.add(update)
    assert _stories_after(rows, state) == ({frozenset("ab")} if story_after else set())
    assert state.changes is not None
    assert state.changes.dirty == {_block(d) for d in dirty_days}


def test_a_word_another_item_comes_to_have_regroups_its_blocks(one_word_pairs: None) -> None:
    # Among 2,048 items or more, a word of one item weighs as a word of two: when an
    # item days before gets "aaa" too, no weight changes, but "a" looks its candidates
    # up by "aaa" now (the first of its words of two items), no longer by "gamma", and
    # so no longer finds "c", whose only word of two items is "gamma".
    rows = Rows()
    rows.add(
        [
            *_fillers(2100, 0),
            ("a", (T0 + 7 * DAY, "aaa alpha beta gamma", "", "")),
            ("c", (T0 + 7 * DAY + 3600, "gamma delta epsilon", "", "")),
            ("x1", (T0 + 1, "alpha omega", "", "")),
            ("x2", (T0 + 2, "beta psi", "", "")),
            *_fillers(10, 35),
        ]
    )
    state = Keeper()
    assert _stories_after(rows, state) == {frozenset("ac")}
    rows.add([("z", (T0 + 2 * DAY, "aaa chi", "", ""))])
    assert _stories_after(rows, state) == set()
    assert state.changes is not None and _block(7) in state.changes.dirty


def test_an_item_dated_years_ahead_changes_no_other_weeks_view(one_word_pairs: None) -> None:
    # A block's view ends with it: an item dated years ahead by mistake, with "zeta",
    # leaves the pair's week as it was, and so do 30 items with "zeta" in a later week
    # (which the view of the item ahead counts).
    rows = Rows()
    rows.add(_zeta_pair(0) + _fillers(190, 10) + _fillers(20, 28))
    state = Keeper()
    assert _stories_after(rows, state) == {frozenset("ab")}
    ahead = T0 + 1000 * DAY
    rows.add([("ahead", (ahead, "zeta far ahead of its time", "", ""))])
    assert _stories_after(rows, state) == {frozenset("ab")}
    assert state.changes is not None
    assert state.changes.dirty == {ahead // DAY // storycore.BLOCK_DAYS}
    rows.add(_zeta_items(30, 28))
    assert _stories_after(rows, state) == {frozenset("ab")}
    assert state.changes is not None
    assert state.changes.dirty == {_block(28), ahead // DAY // storycore.BLOCK_DAYS}


@pytest.mark.parametrize(("view_min", "dirty_days"), [(0, {30}), (1_000, {0, 10, 20, 30})])
def test_a_new_newest_week_regroups_that_week_alone(
    view_min: int, dirty_days: set[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # ... unless the collection is smaller than VIEW_MIN: then every view holds every
    # item, and the new item's words are counted in every week's.
    monkeypatch.setattr(storycore, "VIEW_MIN", view_min)
    rows = Rows()
    rows.add(_fillers(40, 0) + _fillers(40, 10) + _fillers(40, 20))
    state = Keeper()
    _stories_after(rows, state)
    rows.add([("new", (T0 + 30 * DAY, "filler1 note2 fresh", "", ""))])
    _stories_after(rows, state)
    assert state.changes is not None
    assert state.changes.dirty == {_block(d) for d in dirty_days}


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
    state = Keeper()
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


@pytest.mark.parametrize(
    ("added_day", "story", "dirty_days"),
    [(7, True, {7, 14, 21, 35}), (28, False, {28, 35})],
)
def test_a_step_in_the_number_of_items_of_a_view_regroups_its_block(
    one_word_pairs: None,
    added_day: int,
    story: bool,
    dirty_days: set[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every weight depends on the number of items of the view, rounded to a step: when
    # it crosses one, a pair whose similarity was just under the threshold can reach it.
    # Items added before the pair's week cross one in the views that take them in (the
    # first weeks' views reach forward to the pair's, which holds VIEW_MIN items; the
    # last week's reaches back to the first); in a later week, in no view before it.
    monkeypatch.setattr(storycore, "VIEW_MIN", 100)
    low, high = 100, 130
    df = _df_between(low, high)
    rows = Rows()
    pair = _zeta_pair(21)
    rows.add(pair + _fillers(df - 2, 14, "zeta") + _fillers(low - df, 7) + _fillers(5, 35))
    state = Keeper()
    assert _stories_after(rows, state) == set()
    added = T0 + added_day * DAY
    rows.add([(f"n{i}", (added + i, f"extra{i} other{i}", "", "")) for i in range(high - low)])
    assert _stories_after(rows, state) == ({frozenset("ab")} if story else set())
    assert state.changes is not None
    assert state.changes.dirty == {_block(d) for d in dirty_days}


def test_views_reach_forward_to_hold_view_min_items(
    one_word_pairs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With VIEW_MIN 150, the first weeks' views reach the week in which the items of
    # the collection so far reach 150: "zeta" added to week 7 is counted in week 0's
    # view, and the pair of week 0 is no story; the later weeks' views reach back to
    # week 7 (week 14 has no "zeta").
    monkeypatch.setattr(storycore, "VIEW_MIN", 150)
    sizes = {_block(0): 2, _block(7): 100, _block(14): 100, _block(21): 10}
    starts, ends, items = storycore.views_of(sizes)
    assert {b: (starts[b], ends[b], items[b]) for b in sizes} == {
        _block(0): (_block(0), _block(14), 202),
        _block(7): (_block(0), _block(14), 202),
        _block(14): (_block(7), _block(14), 200),
        _block(21): (_block(7), _block(21), 210),
    }
    rows = Rows()
    rows.add(_zeta_pair(0) + _fillers(100, 7) + _fillers(100, 14) + _fillers(10, 21))
    state = Keeper()
    assert _stories_after(rows, state) == {frozenset("ab")}
    rows.add(_fillers(30, 7, "zeta"))
    assert _stories_after(rows, state) == set()
    assert state.changes is not None
    assert state.changes.dirty == {_block(0), _block(7)}


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
    state = Keeper()
    assert _stories_after(rows, state) == {frozenset("abc")}
    rows.add([("c", (T0 + 7200, title, "", ""))])
    assert _stories_after(rows, state) == {frozenset("ab")}


def test_a_change_leaves_the_weeks_whose_views_do_not_reach_it(one_word_pairs: None) -> None:
    # The pair's week and the one before hold 150 items: 30 items of a week before
    # those changed to have "zeta" are in no view of theirs, and the pair stays a story
    # (its week is not clustered again).
    rows = Rows()
    rows.add(_zeta_pair(28) + _fillers(190, 0) + _fillers(190, 21))
    state = Keeper()
    assert _stories_after(rows, state) == {frozenset("ab")}
    rows.add(_fillers(30, 0, "zeta"))
    assert _stories_after(rows, state) == {frozenset("ab")}
    assert state.changes is not None and state.changes.dirty == {_block(0)}


def test_a_view_that_ends_sooner_regroups_its_block(
    one_word_pairs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With VIEW_MIN 150, week 0's view reaches week 14, whose 30 items with "zeta" make
    # the pair no story. 80 items added to week 7 make the collection reach 150 items
    # there: week 0's view ends with week 7, of as many items to a step (202, then 182),
    # without "zeta" but in the pair: a story.
    monkeypatch.setattr(storycore, "VIEW_MIN", 150)
    rows = Rows()
    rows.add(_zeta_pair(0) + _fillers(100, 7) + _fillers(70, 14) + _zeta_items(30, 14))
    state = Keeper()
    assert _stories_after(rows, state) == set()
    rows.add([(f"n{i}", (T0 + 6 * DAY + i, f"extra{i} other{i}", "", "")) for i in range(80)])
    assert _stories_after(rows, state) == {frozenset("ab")}
    assert state.changes is not None
    assert state.changes.dirty == {_block(0), _block(7), _block(14)}


def test_undated_items_are_weighed_over_every_item(one_word_pairs: None) -> None:
    # An undated pair (no day to add to its score) sharing "zeta" and "alpha": 30 dated
    # items changed to have "zeta" make it common, and the pair no story.
    rows = Rows()
    rows.add(
        [
            ("a", (None, "zeta alpha beta", "", "")),
            ("b", (None, "zeta alpha gamma delta", "", "")),
            *_fillers(190, 10),
            *_fillers(20, 28),
        ]
    )
    state = Keeper()
    assert _stories_after(rows, state) == {frozenset("ab")}
    rows.add(_fillers(30, 10, "zeta"))
    assert _stories_after(rows, state) == set()
    assert state.changes is not None and state.changes.dirty == {_block(10), None}


def test_a_week_whose_items_all_go_leaves_the_later_views(one_word_pairs: None) -> None:
    # The 30 items of week 7, all with "zeta", go, and 30 others come in week 14: the
    # pair's view holds as many items, and "zeta" in two: a story.
    rows = Rows()
    rows.add(_zeta_pair(21) + _fillers(190, 0) + _zeta_items(30, 7) + _fillers(20, 28))
    state = Keeper()
    assert _stories_after(rows, state) == set()
    for key, _ in _zeta_items(30, 7):
        rows.remove(key)
    rows.add([(f"n{i}", (T0 + 14 * DAY + i, f"new{i} more{i}", "", "")) for i in range(30)])
    assert _stories_after(rows, state) == {frozenset("ab")}
    assert state.changes is not None and _block(21) in state.changes.dirty
