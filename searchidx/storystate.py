"""What a grouping keeps, so that grouping the next state of an index works in
proportion to what changed, not to the size of the index.

Grouping every item (:func:`searchidx.storycore.group_parts`) needs each item's words,
title template, day and related list; how many items have each word (the weights);
on how many days each template recurs (boilerplate). Working those out again for every
item was most of a regroup's time on a large index. :class:`GroupingState` keeps them,
with the stories of every part (block of days, boundary between two blocks) and the
rows they were read from: an index's rows come in runs that never change once written
(:meth:`searchidx.backend.Snapshot.row_runs`), so the next state reads only the rows of
runs it has not seen, and drops the items whose rows were deleted.

A part's stories depend only on its inputs (see :mod:`searchidx.storycore`), so only
the blocks whose inputs an update changed are clustered again, with the boundaries
beside them; the other parts are kept. A block's inputs change when

- an item of it is added, removed or changed (its old and new blocks);
- an article's related list names an item of it (every block its old and new list
  names, and its own): the related pairs inside and across blocks;
- a word of it gets another weight over its view (its count crosses a step of
  :func:`searchidx.storycore.weighed_count`, or the number of items a step of
  :func:`coarse`, which changes every weight), or another item of its view comes to
  have it or none does (candidates are looked up by words another item has). A
  block's items are weighed over its view, the dated items of its block and of the
  blocks just before it (:func:`searchidx.storycore.views_of`), so items added to the
  newest block, or a new newest block, change no older block's weights, and a change
  in an older block changes those of the blocks whose views reach back to it alone;
- a template of it recurs on enough days to become boilerplate, or stops doing so.
"""

from __future__ import annotations

import bisect
import hashlib
import marshal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from searchidx.storycore import (
    BLOCK_DAYS,
    BOILERPLATE_DAYS,
    Block,
    Counts,
    Entry,
    Kept,
    coarse,
    group_parts,
    join_parts,
    template,
    views_of,
    weighed_count,
    words,
)

#: An item as grouping reads it: its publication time (epoch seconds; None when
#: undated), normalised title, excerpt gist ("" when none), and the ids its related
#: list names, space-separated ("" when none).
Item = tuple[int | None, str, str, str]
#: Bump when what the state holds changes, so that older states are not used.
STATE_VERSION = 9
_DAY = 86_400


def block_of(item: Item) -> Block:
    """The block of days an item falls in (None: undated)."""
    return None if item[0] is None else item[0] // _DAY // BLOCK_DAYS


def _template_id(item: Item) -> int | None:
    """A number for the item's title template (None when it has none): 64 bits of its
    hash, as a template is kept for nearly every item (the chance of two templates of a
    million sharing one: about one in 30 million)."""
    t = template(item[1])
    if not t:
        return None
    return int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "big")


_DAY_BITS = 32


def _day_key(template_id: int, day: int) -> int:
    """One number for a template and a day (days since 1970, before it too)."""
    return template_id << _DAY_BITS | (day & (1 << _DAY_BITS) - 1)


def _day_of(key: int) -> int:
    day = key & (1 << _DAY_BITS) - 1
    return day - (1 << _DAY_BITS) if day >> (_DAY_BITS - 1) else day


def _step(df: int, n: int) -> tuple[bool, float]:
    """What grouping reads of the count of a word in ``df`` of ``n`` items: whether
    another item has it (a candidate's key), and the count it is weighed by."""
    return df > 1, weighed_count(df, n)


def _word_set(item: Item) -> set[str]:
    title = words(item[1])
    return set(title).union(words(item[2])) if item[2] else set(title)


@dataclass(slots=True)
class Changes:
    """What one update of the state found: items added, removed and changed (by key),
    and the blocks it clusters again."""

    added: int = 0
    removed: int = 0
    changed: int = 0
    dirty: set[Block] = field(default_factory=set)


@dataclass(slots=True)
class _Touched:
    """What an update's changes touched so far: the count of each word in each block,
    each block's number of items and each template's number of days before the update
    (as first seen: the counts only when ``counted``), and the blocks to cluster again."""

    df: dict[str, dict[Block, int]]
    sizes: dict[Block, int]
    days: dict[int, int]
    dirty: set[Block]
    counted: bool


class GroupingState:
    """The items of an index as grouping reads them, what they add up to (word counts,
    templates' days, items by block, the articles naming each item), and the stories
    of every part, as of the rows they were read from."""

    def __init__(self, settings: tuple[float, float]) -> None:
        #: The threshold and window the stories were grouped with.
        self.settings = settings
        #: The item key of every row of each run of rows (None: deleted when read).
        self.runs: dict[str, list[str | None]] = {}
        self.items: dict[str, Item] = {}
        #: How many items of each block have each word.
        self.block_df: dict[Block, dict[str, int]] = {}
        #: How many dated items have each title template (by :func:`_template_id`) on
        #: each day (by :func:`_day_key`), on how many days each template is seen ...
        self.days: dict[int, int] = {}
        self.ndays: dict[int, int] = {}
        #: ... and how many undated items have it.
        self.undated: dict[int, int] = {}
        #: Every item's key by block of days (items grouped or not).
        self.members: dict[Block, set[str]] = {}
        #: The template id of every item that has a word that counts and a template
        #: (the others are never grouped).
        self.templates: dict[str, int] = {}
        #: The articles whose related list names each item (keys, space-separated:
        #: most items have one, and a string is read back faster than a set).
        self.cited_by: dict[str, str] = {}
        #: The stories of each block, and the region and stories after each boundary.
        self.parts = Kept()
        #: What the last :meth:`update` found (not kept on disk).
        self.changes: Changes | None = None

    # --- the state on disk ----------------------------------------------------------------

    def dumps(self) -> bytes:
        """The state as bytes (marshal: fast, and never executes code when read)."""
        return marshal.dumps(
            (
                STATE_VERSION,
                self.settings,
                self.runs,
                self.items,
                self.block_df,
                self.days,
                self.ndays,
                self.undated,
                self.members,
                self.templates,
                self.cited_by,
                self.parts.blocks,
                self.parts.seams,
            )
        )

    @classmethod
    def loads(cls, data: bytes, settings: tuple[float, float]) -> GroupingState | None:
        """A state from :meth:`dumps`'s bytes, or None when they are of another version
        or settings, or cannot be read."""
        try:
            raw = marshal.loads(data)
            if raw[0] != STATE_VERSION or tuple(raw[1]) != settings:
                return None
            state = cls(settings)
            (
                state.runs,
                state.items,
                state.block_df,
                state.days,
                state.ndays,
                state.undated,
                state.members,
                state.templates,
                state.cited_by,
                state.parts.blocks,
                state.parts.seams,
            ) = raw[2:]
        except (ValueError, EOFError, TypeError, IndexError):
            return None
        return state

    # --- updating ---------------------------------------------------------------------------

    def update(
        self,
        runs: Sequence[tuple[str, int, int]],
        live: Iterable[int],
        read: Callable[[list[int]], list[tuple[str, Item]]],
        *,
        jobs: int = 1,
        progress: Callable[[int, int], None] | None = None,
    ) -> Changes:
        """Bring the state to an index's rows: ``runs`` as ``(token, first row, count)``,
        its ``live`` rows, and ``read`` giving the key and item of rows. Rows of runs
        the state has seen are not read again. Then cluster again the parts whose inputs
        changed (with ``jobs`` processes) and keep their stories; ``progress`` is told
        ``(done, total)`` as each part is clustered again."""
        alive = set(live)
        seen: set[str] = set()  # keys of rows of runs the state has read
        unread: list[tuple[int, list[str | None], int]] = []  # row, its run's keys, place
        new_runs: dict[str, list[str | None]] = {}
        for token, first, count in runs:
            known = self.runs.get(token)
            keys: list[str | None] = (
                [None] * count if known is None or len(known) != count else known[:]
            )
            for k in range(count):
                if first + k not in alive:
                    keys[k] = None
                elif keys[k] is None:
                    unread.append((first + k, keys, k))
                else:
                    seen.add(keys[k])  # type: ignore[arg-type]
            new_runs[token] = keys
        read_now: dict[str, Item] = {}
        got = read([row for row, _, _ in unread])
        for (_, keys, k), (key, item) in zip(unread, got, strict=True):
            read_now[key] = item
            keys[k] = key
        del alive, unread, got  # a first grouping reads every row: free what it can
        self.runs = new_runs

        changes = Changes()
        dirty = changes.dirty
        # A first grouping clusters every block: no count needs comparing.
        touched = _Touched({}, {}, {}, dirty, counted=bool(self.items))
        for key in [k for k in self.items if k not in seen and k not in read_now]:
            changes.removed += 1
            self._remove(key, touched)
        for key, item in read_now.items():
            old = self.items.get(key)
            if old == item:
                continue
            if old is None:
                changes.added += 1
                self._add(key, item, touched)
                continue
            changes.changed += 1
            # the same related list names the same pairs: its items' blocks keep them
            cites = old[3] != item[3]
            self._remove(key, touched, cites)
            self._add(key, item, touched, cites)
        self._knock_on(touched)
        del seen, read_now, touched
        self._regroup(dirty, jobs, progress)
        self.changes = changes
        return changes

    def reach(self, added: Sequence[tuple[str, Item]]) -> set[Block]:
        """The blocks an update adding ``added`` (items of new keys) would cluster
        again, the state left as it was: what such an update costs, without clustering
        anything."""
        touched = _Touched({}, {}, {}, set(), counted=bool(self.items))
        for key, item in added:
            self._add(key, item, touched)
        self._knock_on(touched)
        undo = _Touched({}, {}, {}, set(), counted=False)
        for key, _ in reversed(added):
            self._remove(key, undo)
        return touched.dirty

    def _knock_on(self, touched: _Touched) -> None:
        """Mark the blocks that an update's changes, counted in, touch beyond their own
        blocks: through the words' weights and keys, and templates that became
        boilerplate or stopped being it."""
        if touched.counted:
            self._reweighed(touched)
        flipped = {
            t
            for t, was in touched.days.items()
            if (was >= BOILERPLATE_DAYS) != (self.ndays.get(t, 0) >= BOILERPLATE_DAYS)
        }
        if flipped:
            touched.dirty.update(self._template_blocks(flipped))

    def _reweighed(self, touched: _Touched) -> None:
        """Mark the blocks whose words' weights or candidates' keys an update changed
        over their views (see :class:`searchidx.storycore.Counts`): the views that
        another block joined or left, or whose number of items crossed a step; and for
        each word whose counts changed, the blocks having it whose view counts it
        across a step, or comes to have it in a second item or no more."""
        dirty = touched.dirty
        now = {b: len(keys) for b, keys in self.members.items()}
        if all(b in dirty for b in now):
            return
        before = {**now, **touched.sizes}
        before = {b: n for b, n in before.items() if n}
        starts_now, ends_now, n_now = views_of(now)
        starts_before, ends_before, n_before = views_of(before)
        for b in now:
            if b not in dirty and (
                ends_now.get(b) != ends_before.get(b)
                or starts_now.get(b) != starts_before.get(b)
                or coarse(n_now[b]) != coarse(n_before.get(b, 0))
            ):
                dirty.add(b)
        # every dated block, those an update emptied too (their counts were in views)
        dated = sorted(b for b in before.keys() | now.keys() if b is not None)
        tables = [(c, self.block_df.get(c, {})) for c in dated]
        undated = self.block_df.get(None, {})
        for w, was in touched.df.items():
            after_sum = before_sum = 0
            sums: list[tuple[int, int]] = []  # through each dated block, now and before
            for c, table in tables:
                count = table.get(w, 0)
                after_sum += count
                before_sum += was.get(c, count)
                sums.append((after_sum, before_sum))
            for c, table in tables:
                if c in dirty or w not in table:
                    continue
                # the view's counts: through its last block, less those before its first
                after, prior = sums[bisect.bisect_right(dated, ends_now[c]) - 1]
                first = bisect.bisect_left(dated, starts_now[c])
                if first:
                    after -= sums[first - 1][0]
                    prior -= sums[first - 1][1]
                if _step(prior, n_before[c]) != _step(after, n_now[c]):
                    dirty.add(c)
            if None in now and None not in dirty and w in undated:
                count = undated[w]
                if _step(before_sum + was.get(None, count), n_before[None]) != _step(
                    after_sum + count, n_now[None]
                ):
                    dirty.add(None)

    def _remove(self, key: str, touched: _Touched, cites: bool = True) -> None:
        item = self.items.pop(key)
        self.templates.pop(key, None)
        b = block_of(item)
        touched.dirty.add(b)
        touched.sizes.setdefault(b, len(self.members[b]))
        self.members[b].discard(key)
        if not self.members[b]:
            del self.members[b]
        table = self.block_df[b]
        for w in _word_set(item):
            if touched.counted:
                touched.df.setdefault(w, {}).setdefault(b, table[w])
            if table[w] == 1:
                del table[w]
            else:
                table[w] -= 1
        if not table:
            del self.block_df[b]
        t = _template_id(item)
        if t is not None:
            touched.days.setdefault(t, self.ndays.get(t, 0))
            if item[0] is None:
                self.undated[t] -= 1
                if not self.undated[t]:
                    del self.undated[t]
            else:
                k = _day_key(t, item[0] // _DAY)
                self.days[k] -= 1
                if not self.days[k]:
                    del self.days[k]
                    self.ndays[t] -= 1
                    if not self.ndays[t]:
                        del self.ndays[t]
        if cites:
            self._cite(key, item, touched.dirty, -1)

    def _add(self, key: str, item: Item, touched: _Touched, cites: bool = True) -> None:
        self.items[key] = item
        b = block_of(item)
        touched.dirty.add(b)
        keys = self.members.setdefault(b, set())
        touched.sizes.setdefault(b, len(keys))
        keys.add(key)
        found = _word_set(item)
        table = self.block_df.setdefault(b, {})
        for w in found:
            if touched.counted:
                touched.df.setdefault(w, {}).setdefault(b, table.get(w, 0))
            table[w] = table.get(w, 0) + 1
        t = _template_id(item)
        if found and t is not None:
            self.templates[key] = t
        if t is not None:
            touched.days.setdefault(t, self.ndays.get(t, 0))
            if item[0] is None:
                self.undated[t] = self.undated.get(t, 0) + 1
            else:
                k = _day_key(t, item[0] // _DAY)
                if k not in self.days:
                    self.days[k] = 0
                    self.ndays[t] = self.ndays.get(t, 0) + 1
                self.days[k] += 1
        if cites:
            self._cite(key, item, touched.dirty, 1)

    def _cite(self, key: str, item: Item, dirty: set[Block], sign: int) -> None:
        """Count an article's related list in (``sign`` 1) or out (-1): the blocks of the
        items it names get other related pairs."""
        for named in item[3].split():
            citing = self.cited_by.get(named, "").split()
            if sign > 0:
                citing.append(key)
            elif key in citing:
                citing.remove(key)
            if citing:
                self.cited_by[named] = " ".join(citing)
            else:
                self.cited_by.pop(named, None)
            other = self.items.get(named)
            if other is not None:
                dirty.add(block_of(other))

    def _template_blocks(self, templates: set[int]) -> set[Block]:
        """The blocks of the items having one of ``templates`` (the blocks of those an
        update removed are marked already)."""
        found: set[Block] = {
            _day_of(k) // BLOCK_DAYS for k in self.days if k >> _DAY_BITS in templates
        }
        if any(self.undated.get(t) for t in templates):
            found.add(None)
        return found

    def _grouped(self, key: str) -> bool:
        """Whether an item is grouped: it has a word that counts and its template is no
        boilerplate."""
        t = self.templates.get(key)
        return t is not None and self.ndays.get(t, 0) < BOILERPLATE_DAYS

    def _regroup(
        self, dirty: set[Block], jobs: int, progress: Callable[[int, int], None] | None = None
    ) -> None:
        """Cluster again the blocks in ``dirty`` and the boundaries beside them, with the
        neighbouring blocks' stories kept; keep every other part."""
        if not dirty:
            return
        near = set(dirty)
        for b in dirty:
            if b is not None:
                near.update((b - 1, b + 1))
        keys = sorted(k for b in near for k in self.members.get(b, ()) if self._grouped(k))
        pos = {k: i for i, k in enumerate(keys)}
        entries = [Entry(k, self.items[k][1], self.items[k][2], self.items[k][0]) for k in keys]
        kept = Kept(
            {b: g for b, g in self.parts.blocks.items() if b in near and b not in dirty},
            {
                b: s
                for b, s in self.parts.seams.items()
                if b in near and b + 1 in near and b not in dirty and b + 1 not in dirty
            },
        )
        parts = group_parts(
            entries,
            self._pairs(keys, pos),
            threshold=self.settings[0],
            window_days=self.settings[1],
            kept=kept,
            counts=self._counts(),
            jobs=jobs,
            progress=progress,
        )
        blocks = self.parts.blocks
        seams = self.parts.seams
        for b in dirty:
            blocks.pop(b, None)
            if b is not None:
                seams.pop(b, None)
                seams.pop(b - 1, None)
        for p in parts:
            if p.reused:
                continue
            groups = [[keys[i] for i in g] for g in p.groups]
            if p.seam is not None:
                seams[p.seam] = ([keys[i] for i in p.region], groups)
            else:
                blocks[p.block] = groups

    def _counts(self) -> Counts:
        return Counts(self.block_df, {b: len(keys) for b, keys in self.members.items()})

    def _pairs(self, keys: list[str], pos: dict[str, int]) -> list[tuple[int, int]]:
        """The related pairs among ``keys`` (positions in it), each once and in order: an
        article with each item its list names, and the items one list names with each
        other. Each list is read once, whichever of its items ask for it, and a pair is
        kept as one number until the end (a collection whose items each name five others
        has millions of pairs)."""
        articles = set(keys)  # and those whose lists name one of them
        for key in keys:
            citing = self.cited_by.get(key)
            if citing:
                articles.update(citing.split())
        n = len(keys)
        found: set[int] = set()
        items = self.items
        for article in articles:
            item = items.get(article)
            if item is None or not item[3]:
                continue
            listed = sorted({pos[x] for x in item[3].split() if x in pos})
            a = pos.get(article)
            if a is not None:  # the article and each item of its list
                found.update([a * n + j if a < j else j * n + a for j in listed if j != a])
            for m, x in enumerate(listed):  # the items of its list with each other
                found.update([x * n + y for y in listed[m + 1 :]])
        del articles
        return [divmod(p, n) for p in sorted(found)]

    def stories(self) -> list[list[str]]:
        """Every story (two or more items), as sorted lists of keys."""
        return join_parts(
            [(groups, []) for groups in self.parts.blocks.values()]
            + [(groups, region) for region, groups in self.parts.seams.values()]
        )
