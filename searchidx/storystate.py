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

The stories of the whole index are the parts' stories joined
(:func:`searchidx.storycore.join_parts`); an update makes again only the stories that
have an item of a part it clustered again, or of a story that had one.

A state is kept in a :class:`searchidx.storyfile.StateFile` and read from it piece by
piece, as an update asks for them (the items of a block, a block's counts, a template's
days, ...), and what the update changed is written back: an update that touches a few
blocks reads and writes those blocks, however many the index has. A state made afresh
holds everything in memory (a first grouping reads every row anyway).
"""

from __future__ import annotations

import bisect
import hashlib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

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
from searchidx.storyfile import ItemRow, StateFile

#: An item as grouping reads it: its publication time (epoch seconds; None when
#: undated), normalised title, excerpt gist ("" when none), and the ids its related
#: list names, space-separated ("" when none).
Item = tuple[int | None, str, str, str]
#: A run of rows as the state sees it: its token, first row, number of rows and the
#: places in it of the deleted rows.
Run = tuple[str, int, int, Collection[int]]
#: Bump when what the state holds, or how its file keeps it (see
#: :mod:`searchidx.storyfile`), changes, so that older states are not used.
STATE_VERSION = 10
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
    the blocks it clusters again, and the stories it made again: ``stories``, which
    replace those whose first keys are ``unmade`` (with ``every``, every story: a state
    grouped afresh)."""

    added: int = 0
    removed: int = 0
    changed: int = 0
    dirty: set[Block] = field(default_factory=set)
    stories: list[list[str]] = field(default_factory=list)
    unmade: set[str] = field(default_factory=set)
    every: bool = False


@dataclass(slots=True)
class _Touched:
    """What an update's changes touched so far: the count of each word in each block,
    each block's number of items and each template's number of days before the update
    (as first seen: the counts only when ``counted``), and the blocks to cluster again;
    then each counted word's number of dated items before and after."""

    df: dict[str, dict[Block, int]]
    sizes: dict[Block, int]
    days: dict[int, int]
    dirty: set[Block]
    counted: bool
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(slots=True)
class _Run:
    """A run of rows: its number in the state's file, its number of rows, the places
    of those deleted when read, and the key of each row (None: deleted when read; the
    list None: not read from the file yet)."""

    rid: int
    count: int
    gone: set[int]
    keys: list[str | None] | None


class GroupingState:
    """The items of an index as grouping reads them, what they add up to (word counts,
    templates' days, items by block, the articles naming each item), and the stories
    of every part, as of the rows they were read from: all of it in memory, or read
    from a :class:`StateFile` as it is asked for."""

    def __init__(self, settings: tuple[float, float], file: StateFile | None = None) -> None:
        #: The threshold and window the stories were grouped with.
        self.settings = settings
        #: Where the pieces not in memory are read from (None: everything is here).
        self.file = file
        #: Every run of rows, by token.
        self.runs: dict[str, _Run] = {}
        #: How many items each block has.
        self.sizes: dict[Block, int] = {}
        #: The items read so far (every item when there is no file).
        self.items: dict[str, Item] = {}
        #: How many items of each block read so far have each word ...
        self.block_df: dict[Block, dict[str, int]] = {}
        #: ... and the keys of each block's items (those of the blocks read so far).
        self.members: dict[Block, set[str]] = {}
        #: How many dated items have each title template (by :func:`_template_id`) on
        #: each day (by :func:`_day_key`), on how many days each template is seen ...
        self.days: dict[int, int] = {}
        self.ndays: dict[int, int] = {}
        #: ... and how many undated items have it (of the templates read so far).
        self.undated: dict[int, int] = {}
        #: The template id of every item read that has a word that counts and a
        #: template (the others are never grouped).
        self.templates: dict[str, int] = {}
        #: The articles whose related list names each item (keys, space-separated:
        #: most items have one, and a string is read back faster than a set).
        self.cited_by: dict[str, str] = {}
        #: How many dated items have each word (of the words read so far; kept for the
        #: undated block, whose view is every item).
        self.totals: dict[str, int] = {}
        #: The stories of each block, and the region and stories after each boundary.
        self.parts = Kept()
        #: What the last :meth:`update` found (not kept on disk).
        self.changes: Changes | None = None
        # What has been read from the file, and what changed since.
        self._read: dict[str, set[Any]] = {
            name: set() for name in ("df", "block", "seam", "template", "cited", "word")
        }
        self._absent: set[str] = set()  # keys asked for that the state does not have
        # (run id, place) of the items read (of every item, once a state in memory is
        # updated: worked out after clustering, which forks processes that need none)
        self._place: dict[str, tuple[int, int]] = {}
        self._changed: dict[str, set[Any]] = {
            name: set() for name in ("item", "block", "seam", "template", "cited", "word")
        }
        self._dropped_runs: set[int] = set()
        self._was_in: dict[str, Block] = {}  # the old blocks of items moved or removed

    # --- the state's file -------------------------------------------------------------------

    @classmethod
    def open(cls, file: StateFile, settings: tuple[float, float]) -> GroupingState | None:
        """The state a file keeps (read as it is asked for), or None when it keeps none
        of this version and these settings."""
        meta = file.meta()
        if meta.get("state") != STATE_VERSION or tuple(meta.get("settings", ())) != settings:
            return None
        state = cls(settings, file)
        state.runs = {
            token: _Run(rid, count, gone, None) for token, (rid, count, gone) in file.runs().items()
        }
        state.sizes = file.sizes()
        return state

    def save(self, file: StateFile) -> None:
        """Write to ``file`` (inside its transaction) what changed since the state was
        read from it, or the whole state when it was made afresh."""
        if self.file is None:
            self._save_whole(file)
            self.file = file
        else:
            self._save_changes(file)
        file.set_meta({"state": STATE_VERSION, "settings": self.settings})
        for changed in self._changed.values():
            changed.clear()
        self._dropped_runs.clear()

    def _save_whole(self, file: StateFile) -> None:
        file.clear()
        file.put_runs(
            (
                (run.rid, token, run.count, run.gone, run.keys or [])
                for token, run in self.runs.items()
            ),
            (),
        )
        file.put_items((self._item_row(k, place) for k, place in self._place.items()), ())
        blocks = self.sizes.keys() | self.parts.blocks.keys()
        file.put_blocks(
            (b, self.sizes.get(b, 0), self.block_df.get(b, {}), self.parts.blocks.get(b))
            for b in blocks
        )
        file.put_seams(self.parts.seams.items())
        file.put_templates(self._template_rows(self.ndays.keys() | self.undated.keys()))
        file.put_cited(self.cited_by.items())
        totals: Counter[str] = Counter()
        for b, table in self.block_df.items():
            if b is not None:
                totals.update(table)
        file.put_words(totals.items())

    def _save_changes(self, file: StateFile) -> None:
        changed = self._changed
        file.put_runs(
            (
                (run.rid, token, run.count, run.gone, run.keys)
                for token, run in self.runs.items()
                if run.keys is not None
            ),
            self._dropped_runs,
        )
        file.put_items(
            (self._item_row(k, self._place[k]) for k in changed["item"] if k in self.items),
            [k for k in changed["item"] if k not in self.items],
        )
        file.put_blocks(
            (b, self.sizes.get(b, 0), self.block_df.get(b, {}), self.parts.blocks.get(b))
            for b in changed["block"]
        )
        file.put_seams((b, self.parts.seams.get(b)) for b in changed["seam"])
        file.put_templates(self._template_rows(changed["template"]))
        file.put_cited((k, self.cited_by.get(k, "")) for k in changed["cited"])
        file.put_words((w, self.totals.get(w, 0)) for w in changed["word"])

    def _item_row(self, key: str, place: tuple[int, int]) -> ItemRow:
        item = self.items[key]
        return (key, block_of(item), *item, self.templates.get(key), *place)

    def places(self, keys: Iterable[str] | None) -> dict[str, tuple[int, int]]:
        """The run id and place of each item of ``keys`` (None: of every item, of a
        state in memory)."""
        if keys is None:
            return self._place
        wanted = list(keys)
        self._need_items(wanted)
        return {k: self._place[k] for k in wanted}

    def _template_rows(self, ids: Collection[int]) -> list[tuple[int, dict[int, int], int]]:
        found: dict[int, dict[int, int]] = {t: {} for t in ids}
        if ids:
            for k, n in self.days.items():
                days = found.get(k >> _DAY_BITS)
                if days is not None:
                    days[_day_of(k)] = n
        return [(t, days, self.undated.get(t, 0)) for t, days in found.items()]

    # --- reading pieces as they are asked for -------------------------------------------

    def _need_items(self, keys: Iterable[str]) -> None:
        """Read the items of ``keys`` the state has and has not read yet."""
        if self.file is None:
            return
        items, absent = self.items, self._absent
        wanted = [k for k in set(keys) if k not in items and k not in absent]
        if not wanted:
            return
        for row in self.file.items(wanted):
            self._take(row)
        absent.update(k for k in wanted if k not in items)

    def _take(self, row: ItemRow) -> None:
        key, _, t, norm, gist, links, template_id, rid, place = row
        if key in self.items or key in self._absent:  # changed here since
            return
        self.items[key] = (t, norm, gist, links)
        if template_id is not None:
            self.templates[key] = template_id
        self._place.setdefault(key, (rid, place))  # not where a row read now has it

    @property
    def _source(self) -> StateFile:
        assert self.file is not None  # asked for only when there is one (see _unread)
        return self.file

    def _unread(self, piece: str, keys: Iterable[Any]) -> list[Any]:
        """Those of ``keys`` whose ``piece`` has not been read from the file yet, marked
        read now (none when there is no file)."""
        if self.file is None:
            return []
        read = self._read[piece]
        wanted = [k for k in dict.fromkeys(keys) if k not in read]
        read.update(wanted)
        return wanted

    def _need_df(self, blocks: Iterable[Block]) -> None:
        """Read the counts and stories of ``blocks``."""
        for b in self._unread("df", blocks):
            df, groups = self._source.block(b)
            self.block_df[b] = df
            if groups is not None:
                self.parts.blocks[b] = groups

    def _need_blocks(self, blocks: Iterable[Block]) -> None:
        """Read the counts, stories and items of ``blocks``."""
        for b in self._unread("block", blocks):
            self._need_df([b])
            rows = self._source.block_items(b)
            for row in rows:
                self._take(row)
            self.members[b] = {row[0] for row in rows}

    def _need_seams(self, seams: Iterable[int]) -> None:
        for s in self._unread("seam", seams):
            part = self._source.seam(s)
            if part is not None:
                self.parts.seams[s] = part

    def _need_templates(self, ids: Iterable[int]) -> None:
        wanted = self._unread("template", ids)
        if wanted:
            for t, (days, undated) in self._source.templates(wanted).items():
                for day, n in days.items():
                    self.days[_day_key(t, day)] = n
                if days:
                    self.ndays[t] = len(days)
                if undated:
                    self.undated[t] = undated

    def _need_cited(self, keys: Iterable[str]) -> None:
        wanted = self._unread("cited", keys)
        if wanted:
            self.cited_by.update(self._source.cited(wanted))

    def _need_words(self, found: Iterable[str]) -> None:
        """Read how many dated items have each of ``found``."""
        wanted = self._unread("word", found)
        if wanted:
            self.totals.update(self._source.words(wanted))

    def _block_of(self, key: str) -> Block:
        self._need_items([key])
        return block_of(self.items[key])

    # --- updating ---------------------------------------------------------------------------

    def update(
        self,
        runs: Sequence[Run],
        read: Callable[[list[int]], list[tuple[str, Item]]],
        *,
        jobs: int = 1,
        progress: Callable[[int, int], None] | None = None,
    ) -> Changes:
        """Bring the state to an index's rows: ``runs`` as ``(token, first row, count,
        deleted places)``, and ``read`` giving the key and item of rows. Rows of runs the
        state has seen are not read again. Then cluster again the parts whose inputs
        changed (with ``jobs`` processes), keep their stories, and make again the
        stories they touch; ``progress`` is told ``(done, total)`` as each part is
        clustered again."""
        unread: list[tuple[int, _Run, int]] = []  # row, its run, its place there
        gone_keys: list[str] = []  # keys of rows deleted since, or of runs gone
        new_runs: dict[str, _Run] = {}
        next_rid = max((run.rid for run in self.runs.values()), default=0) + 1
        for token, first, count, deleted in runs:
            known = self.runs.get(token)
            deleted = set(deleted)
            if known is not None and known.count == count and known.gone <= deleted:
                if deleted != known.gone:
                    keys = self._run_keys(known)
                    for k in deleted - known.gone:
                        if (key := keys[k]) is not None:
                            gone_keys.append(key)
                            keys[k] = None
                    known.gone = deleted
                new_runs[token] = known
                continue
            run = _Run(next_rid, count, deleted, [None] * count)
            next_rid += 1
            unread += [(first + k, run, k) for k in range(count) if k not in deleted]
            new_runs[token] = run
        for token, run in self.runs.items():
            if new_runs.get(token) is not run:
                gone_keys += [k for k in self._run_keys(run) if k is not None]
                self._dropped_runs.add(run.rid)
        read_now: dict[str, Item] = {}
        got = read([row for row, _, _ in unread])
        for (_, run, k), (key, item) in zip(unread, got, strict=True):
            read_now[key] = item
            run.keys[k] = key  # type: ignore[index]
            if self.file is not None:
                self._place[key] = (run.rid, k)
        del unread, got  # a first grouping reads every row: free what it can
        self.runs = new_runs

        changes = Changes(every=self.file is None)
        dirty = changes.dirty
        # A first grouping clusters every block: no count needs comparing.
        touched = _Touched({}, {}, {}, dirty, counted=bool(self.sizes))
        removed = [k for k in set(gone_keys) if k not in read_now]
        if self.file is not None:
            self._need_items([*removed, *read_now])
        for key in removed:
            if key in self.items:
                changes.removed += 1
                self._remove(key, touched)
        for key, item in read_now.items():
            old = self.items.get(key)
            if self.file is not None:
                self._changed["item"].add(key)  # its row at least
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
        for w, (_, after) in touched.totals.items():
            self.totals[w] = after
            self._changed["word"].add(w)
        del gone_keys, touched
        before = self._regroup(dirty, jobs, progress) if dirty else Kept()
        if not changes.every and (dirty or read_now or removed):
            self._remake(before, dirty, changes, set(read_now) | set(removed))
        self._was_in.clear()
        if self.file is None:
            self._place = {
                key: (run.rid, k)
                for run in self.runs.values()
                for k, key in enumerate(run.keys or ())
                if key is not None
            }
        self.changes = changes
        return changes

    def _run_keys(self, run: _Run) -> list[str | None]:
        if run.keys is None:  # (a state in memory has every run's)
            run.keys = list(self._source.run_keys(run.rid))
        return run.keys

    def reach(self, added: Sequence[tuple[str, Item]]) -> set[Block]:
        """The blocks an update adding ``added`` (items of new keys) would cluster
        again, the state left as it was: what such an update costs, without clustering
        anything."""
        changed = {name: set(keys) for name, keys in self._changed.items()}
        touched = _Touched({}, {}, {}, set(), counted=bool(self.sizes))
        for key, item in added:
            self._add(key, item, touched)
        self._knock_on(touched)
        undo = _Touched({}, {}, {}, set(), counted=False)
        for key, _ in reversed(added):
            self._remove(key, undo)
        self._changed = changed
        for key, _ in added:
            self._absent.discard(key)
            self._was_in.pop(key, None)
        return touched.dirty

    def _knock_on(self, touched: _Touched) -> None:
        """Mark the blocks that an update's changes, counted in, touch beyond their own
        blocks: through the words' weights and keys, and templates that became
        boilerplate or stopped being it."""
        if touched.counted:
            self._retotal(touched)
            self._reweighed(touched)
        flipped = {
            t
            for t, was in touched.days.items()
            if (was >= BOILERPLATE_DAYS) != (self.ndays.get(t, 0) >= BOILERPLATE_DAYS)
        }
        if flipped:
            touched.dirty.update(self._template_blocks(flipped))

    def _retotal(self, touched: _Touched) -> None:
        """Each counted word's number of dated items before the update and after."""
        if self.file is None:  # count them, the update's changes in
            tables = [t for b, t in self.block_df.items() if b is not None]
        else:
            self._need_words(touched.df)
        for w, was in touched.df.items():
            delta = sum(
                self.block_df.get(b, {}).get(w, 0) - n for b, n in was.items() if b is not None
            )
            if self.file is None:
                after = sum(t.get(w, 0) for t in tables)
                touched.totals[w] = (after - delta, after)
            else:
                before = self.totals.get(w, 0)
                touched.totals[w] = (before, before + delta)

    def _reweighed(self, touched: _Touched) -> None:
        """Mark the blocks whose words' weights or candidates' keys an update changed
        over their views (see :class:`searchidx.storycore.Counts`): the views that
        another block joined or left, or whose number of items crossed a step; and for
        each word whose counts changed, the blocks having it whose view counts it
        across a step, or comes to have it in a second item or no more. Only the views
        that take in a block whose counts changed are looked at (and their blocks'
        counts read)."""
        dirty = touched.dirty
        now = dict(self.sizes)
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
        counted = sorted({b for was in touched.df.values() for b in was if b is not None})
        views: dict[int, list[int]] = {}  # the blocks of each view that takes one in
        for c in now:
            if c is None or c in dirty:
                continue
            i = bisect.bisect_left(counted, starts_now[c])
            if i < len(counted) and counted[i] <= ends_now[c]:
                lo = bisect.bisect_left(dated, starts_now[c])
                views[c] = dated[lo : bisect.bisect_right(dated, ends_now[c])]
        self._need_df({b for blocks in views.values() for b in blocks})
        for w, was in touched.df.items():
            for c, blocks in views.items():
                if c in dirty or w not in self.block_df[c]:
                    continue
                after = prior = 0
                for b in blocks:
                    count = self.block_df.get(b, {}).get(w, 0)
                    after += count
                    prior += was.get(b, count)
                if _step(prior, n_before[c]) != _step(after, n_now[c]):
                    dirty.add(c)
        if None in now and None not in dirty:
            self._need_df([None])
            undated = self.block_df[None]
            for w, was in touched.df.items():
                if w in undated:
                    count = undated[w]
                    prior, after = touched.totals[w]
                    if _step(prior + was.get(None, count), n_before[None]) != _step(
                        after + count, n_now[None]
                    ):
                        dirty.add(None)
                        break

    def _remove(self, key: str, touched: _Touched, cites: bool = True) -> None:
        item = self.items.pop(key)
        self._absent.add(key)
        self._changed["item"].add(key)
        self.templates.pop(key, None)
        b = block_of(item)
        self._was_in.setdefault(key, b)
        self._need_blocks([b])
        touched.dirty.add(b)
        touched.sizes.setdefault(b, self.sizes[b])
        self.members[b].discard(key)
        self.sizes[b] -= 1
        if not self.sizes[b]:
            del self.sizes[b]
        self._changed["block"].add(b)
        table = self.block_df[b]
        for w in _word_set(item):
            if touched.counted:
                touched.df.setdefault(w, {}).setdefault(b, table[w])
            if table[w] == 1:
                del table[w]
            else:
                table[w] -= 1
        t = _template_id(item)
        if t is not None:
            self._need_templates([t])
            self._changed["template"].add(t)
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
        self._need_blocks([b])
        self._absent.discard(key)
        touched.dirty.add(b)
        keys = self.members.setdefault(b, set())
        touched.sizes.setdefault(b, self.sizes.get(b, 0))
        keys.add(key)
        self.sizes[b] = self.sizes.get(b, 0) + 1
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
            self._need_templates([t])
            touched.days.setdefault(t, self.ndays.get(t, 0))
            if item[0] is None:
                self.undated[t] = self.undated.get(t, 0) + 1
            else:
                k = _day_key(t, item[0] // _DAY)
                if k not in self.days:
                    self.days[k] = 0
                    self.ndays[t] = self.ndays.get(t, 0) + 1
                self.days[k] += 1
        if self.file is not None:
            self._changed["item"].add(key)
            self._changed["block"].add(b)
            if t is not None:
                self._changed["template"].add(t)
        if cites:
            self._cite(key, item, touched.dirty, 1)

    def _cite(self, key: str, item: Item, dirty: set[Block], sign: int) -> None:
        """Count an article's related list in (``sign`` 1) or out (-1): the blocks of the
        items it names get other related pairs."""
        named_keys = item[3].split()
        self._need_cited(named_keys)
        self._need_items(named_keys)
        for named in named_keys:
            citing = self.cited_by.get(named, "").split()
            if sign > 0:
                citing.append(key)
            elif key in citing:
                citing.remove(key)
            if citing:
                self.cited_by[named] = " ".join(citing)
            else:
                self.cited_by.pop(named, None)
            self._changed["cited"].add(named)
            other = self.items.get(named)
            if other is not None:
                dirty.add(block_of(other))

    def _template_blocks(self, templates: set[int]) -> set[Block]:
        """The blocks of the items having one of ``templates`` (the blocks of those an
        update removed are marked already)."""
        self._need_templates(templates)
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
        self, dirty: set[Block], jobs: int, progress: Callable[[int, int], None] | None
    ) -> Kept:
        """Cluster again the blocks in ``dirty`` and the boundaries beside them, with the
        neighbouring blocks' stories kept; keep every other part. Returns the parts
        clustered again as they were."""
        near = set(dirty)
        for b in dirty:
            if b is not None:
                near.update((b - 1, b + 1))
        self._need_blocks(near)
        self._need_seams(b for b in near if b is not None)
        candidates = [k for b in near for k in self.members.get(b, ())]
        self._need_templates({t for k in candidates if (t := self.templates.get(k)) is not None})
        keys = sorted(k for k in candidates if self._grouped(k))
        del candidates
        pos = {k: i for i, k in enumerate(keys)}
        entries = [Entry(k, self.items[k][1], self.items[k][2], self.items[k][0]) for k in keys]
        blocks = self.parts.blocks
        seams = self.parts.seams
        kept = Kept(
            {b: g for b, g in blocks.items() if b in near and b not in dirty},
            {
                b: s
                for b, s in seams.items()
                if b in near and b + 1 in near and b not in dirty and b + 1 not in dirty
            },
        )
        parts = group_parts(
            entries,
            self._pairs(keys, pos),
            threshold=self.settings[0],
            window_days=self.settings[1],
            kept=kept,
            counts=self._counts(near),
            jobs=jobs,
            progress=progress,
        )
        old = Kept()  # the parts clustered again, as they were
        for b in dirty:
            if b in blocks:
                old.blocks[b] = blocks.pop(b)
        for s in _beside(dirty):
            if s in seams:
                old.seams[s] = seams.pop(s)
        for p in parts:
            if p.reused:
                continue
            groups = [[keys[i] for i in g] for g in p.groups]
            if p.seam is not None:
                seams[p.seam] = ([keys[i] for i in p.region], groups)
            else:
                blocks[p.block] = groups
        if self.file is not None:
            self._changed["block"].update(dirty)
            self._changed["seam"].update(_beside(dirty))
        return old

    def _counts(self, near: set[Block]) -> Counts:
        """The counts the items of the blocks ``near`` are weighed by: every block's
        counts in memory, or those of their views, read now (before clustering starts
        other processes, which must not read the file)."""
        if self.file is None:
            return Counts(self.block_df, self.sizes)
        starts, ends, _ = views_of(self.sizes)
        dated = sorted(b for b in self.sizes if b is not None)
        wanted: set[Block] = set()
        for b in near:
            if b is None or b not in self.sizes:
                continue
            lo = bisect.bisect_left(dated, starts[b])
            wanted.update(dated[lo : bisect.bisect_right(dated, ends[b])])
        totals: dict[str, int] | None = None
        if None in near and None in self.sizes:
            wanted.add(None)
            self._need_df([None])
            self._need_words(self.block_df[None])
            totals = {w: self.totals.get(w, 0) for w in self.block_df[None]}
        self._need_df(wanted)
        return Counts({b: self.block_df[b] for b in wanted}, self.sizes, totals)

    def _pairs(self, keys: list[str], pos: dict[str, int]) -> list[tuple[int, int]]:
        """The related pairs among ``keys`` (positions in it), each once and in order: an
        article with each item its list names, and the items one list names with each
        other. Each list is read once, whichever of its items ask for it, and a pair is
        kept as one number until the end (a collection whose items each name five others
        has millions of pairs)."""
        articles = set(keys)  # and those whose lists name one of them
        self._need_cited(keys)
        for key in keys:
            citing = self.cited_by.get(key)
            if citing:
                articles.update(citing.split())
        self._need_items(articles)
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

    # --- the stories --------------------------------------------------------------------------

    def _remake(self, old: Kept, dirty: set[Block], changes: Changes, read: set[str]) -> None:
        """The stories no more and those made again, after the parts ``old`` were
        clustered again: the stories having an item of those parts, as they were and
        as they are (an item in none of them is in the same story as before, or none),
        or an item ``read`` (its row or its outlet may be another)."""
        new = self.parts
        touched = set(read)
        for groups in old.blocks.values():
            touched.update(k for g in groups for k in g)
        for region, _ in old.seams.values():
            touched.update(region)
        for b in dirty:
            touched.update(k for g in new.blocks.get(b, ()) for k in g)
        replaced = _beside(dirty)
        for s in replaced:
            if s in new.seams:
                touched.update(new.seams[s][0])

        def old_block(key: str) -> Block:
            # an item added since is in no old part, whichever block is looked in
            return self._was_in[key] if key in self._was_in else self._block_of(key)

        def old_part(b: Block) -> list[list[str]]:
            return old.blocks[b] if b in old.blocks else [] if b in dirty else self._block_groups(b)

        def old_seam(s: int) -> tuple[list[str], list[list[str]]] | None:
            return old.seams[s] if s in old.seams else None if s in replaced else self._seam(s)

        before = _stories_around(touched, old_block, old_part, old_seam)
        for story in before:
            touched.update(story)
        self._need_items(touched)
        live = [k for k in touched if k in self.items]
        changes.unmade = {story[0] for story in before}
        changes.stories = _stories_around(
            live,
            lambda k: block_of(self.items[k]),
            self._block_groups,
            self._seam,
        )

    def _block_groups(self, b: Block) -> list[list[str]]:
        self._need_df([b])
        return self.parts.blocks.get(b, [])

    def _seam(self, s: int) -> tuple[list[str], list[list[str]]] | None:
        self._need_seams([s])
        return self.parts.seams.get(s)

    def stories(self) -> list[list[str]]:
        """Every story (two or more items), as sorted lists of keys (reading every part
        from the file, when there is one)."""
        if self.file is not None:
            self._need_df(self.sizes)
            self._need_seams(b - 1 for b in self.sizes if b is not None)
            self._need_seams(b for b in self.sizes if b is not None)
        return join_parts(
            [(groups, []) for groups in self.parts.blocks.values()]
            + [(groups, region) for region, groups in self.parts.seams.values()]
        )


def _beside(blocks: set[Block]) -> set[int]:
    """The boundaries beside ``blocks`` (the one before each dated block and the one
    after it), which are clustered again with them."""
    return {s for b in blocks if b is not None for s in (b - 1, b)}


def _stories_around(
    keys: Iterable[str],
    block: Callable[[str], Block | None],
    block_groups: Callable[[Block], list[list[str]]],
    seam: Callable[[int], tuple[list[str], list[list[str]]] | None],
) -> list[list[str]]:
    """The stories having one of ``keys``, as :func:`searchidx.storycore.join_parts`
    makes them of every part: a boundary's stories joined with those of the boundaries
    beside it that share an item, or a block's story that no region takes. An item is
    in the parts of its block (``block``) and the boundaries before and after it."""
    regions: dict[int, set[str]] = {}
    where: dict[int, dict[str, int]] = {}  # each boundary's keys, by story

    def at(s: int) -> tuple[set[str], dict[str, int]]:
        if s not in where:
            part = seam(s)
            regions[s] = set(part[0]) if part else set()
            where[s] = {k: n for n, g in enumerate(part[1]) for k in g} if part else {}
        return regions[s], where[s]

    def block_story(b: Block, key: str) -> None:
        story = next((g for g in block_groups(b) if key in g), None)
        if story is not None:
            done.update(story)
            found.append(sorted(story))

    done: set[str] = set()
    found: list[list[str]] = []
    for key in keys:
        if key in done:
            continue
        done.add(key)
        b = block(key)
        if b is None:  # undated: a block of its own, with no boundaries
            block_story(None, key)
            continue
        # a boundary's story with those it shares items with, boundary to boundary
        joined: set[str] = set()
        todo = [(s, n) for s in (b - 1, b) if (n := at(s)[1].get(key)) is not None]
        seen: set[tuple[int, int]] = set()
        while todo:
            s, n = todo.pop()
            if (s, n) in seen:
                continue
            seen.add((s, n))
            part = seam(s)
            assert part is not None
            for k in part[1][n]:
                joined.add(k)
                for other in (s - 1, s + 1):
                    m = at(other)[1].get(k)
                    if m is not None:
                        todo.append((other, m))
        if joined:
            done.update(joined)
            found.append(sorted(joined))
        elif key not in at(b - 1)[0] and key not in at(b)[0]:  # no region took it
            block_story(b, key)
    return found
