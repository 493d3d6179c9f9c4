"""Benchmark: which ``fuzz.ratio`` threshold separates one outlet's headline variants?

``searchidx.titles.collapse_variants`` merges two entries of a related list when they come
from the same outlet and their normalised titles score at least
``RELATED_VARIANT_THRESHOLD``. This script measures that rule on the UCI News Aggregator
corpus (422,937 headlines, Mar-Aug 2014), where STORY groups coverage of one story:

* A pairs: two *different* normalised headlines of one publisher filed under a common
  STORY (headline variants or rewrites of one story; collapsing them is wanted or harmless);
* B pairs: two different normalised headlines of one publisher whose STORY sets are
  disjoint (different stories; collapsing them loses an item). Measured two ways:

  - a deterministic random sample of cross-story pairs, allocated to publishers in
    proportion to their headline counts (the rate of collisions between unrelated items);
  - the hardest pairs: for every distinct headline of every publisher, its most similar
    headline of that publisher with no STORY in common. Exhaustive over all publishers, no
    sampling: ~200M comparisons with ``rapidfuzz.process.extract`` per headline (top 25,
    widened when all 25 share a STORY), about 20 s on one core. ``process.cdist`` is not
    used because it needs numpy, which the project does not depend on.

Units are distinct (publisher, STORY, normalised title) triples, so repeated crawls of one
article count once. The aggregator also filed some headlines word for word under several
STORY ids; such pairs (identical normalised titles, different STORY) and pairs whose
headline is shared with the other STORY are reported separately: they are one story
misfiled, not false positives, and every threshold collapses identical titles anyway.

Run: ``python -m tests.bench.variant_threshold [--tsv PATH] [--sample N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process

from searchidx.titles import RELATED_VARIANT_THRESHOLD, normalize_title, similarity

DEFAULT_TSV = Path("/work/shared/corpora/uci-news-aggregator/newsCorpora.tsv")
THRESHOLDS = tuple(range(80, 101, 2))
#: A threshold counts as "negligible" for different-story pairs when, above it, at most 1 in
#: 10,000 random same-outlet cross-STORY pairs is collapsed (a related list has a handful of
#: same-outlet pairs at most, so the chance of a wrong merge per list stays well below 0.1%) ...
MAX_RANDOM_PER_MILLION = 100.0
#: ... and at most 1 in 500 headlines has a different-story look-alike from its own outlet
#: above it (the worst case: a follow-up or a templated series listed next to the story).
MAX_HARD_SHARE = 0.002
_ESCAPE = re.compile(r"\\(.)")
NOLA = (
    "New Orleans police use facial recognition software, despite official assurances to the contrary",
    "New Orleans police use facial recognition software, despite previous assurances to the contrary",
)

Pair = tuple[str, str, str, float]  # publisher, norm a, norm b, score


def unescape(text: str) -> str:
    return _ESCAPE.sub(r"\1", text)


@dataclass
class Publisher:
    name: str
    #: normalised title -> STORY ids it was filed under
    stories: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: normalised title -> first raw title seen (for display)
    raw: dict[str, str] = field(default_factory=dict)
    rows: int = 0

    def units(self) -> list[tuple[str, str]]:
        return [(s, n) for n, ss in self.stories.items() for s in sorted(ss)]


def load(tsv: Path) -> dict[str, Publisher]:
    pubs: dict[str, Publisher] = {}
    with tsv.open(encoding="utf-8") as fh:
        for line in fh:
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 8:
                continue
            _, title, _, publisher, _, story, host, _ = (unescape(f) for f in fields)
            pub = pubs.get(publisher)
            if pub is None:
                pub = pubs[publisher] = Publisher(publisher)
            norm = normalize_title(title, publisher, host)
            if not norm:
                continue
            pub.rows += 1
            pub.stories[norm].add(story)
            pub.raw.setdefault(norm, title)
    return pubs


def same_story_pairs(pubs: Iterable[Publisher]) -> list[Pair]:
    """All pairs of different normalised titles of one publisher sharing a STORY."""
    out: list[Pair] = []
    for pub in pubs:
        by_story: dict[str, list[str]] = defaultdict(list)
        for norm, ss in pub.stories.items():
            for s in ss:
                by_story[s].append(norm)
        seen: set[tuple[str, str]] = set()
        for norms in by_story.values():
            norms.sort()
            for i, a in enumerate(norms):
                for b in norms[i + 1 :]:
                    if (a, b) not in seen:
                        seen.add((a, b))
                        out.append((pub.name, a, b, fuzz.ratio(a, b)))
    return out


@dataclass
class RandomSample:
    pairs: list[Pair]  # genuine different-story pairs (disjoint STORY sets)
    identical: int  # same normalised title, different STORY
    linked: int  # different titles, but the two STORY ids share one of the titles


def sample_cross_story(pubs: list[Publisher], total: int, seed: int) -> RandomSample:
    """Random pairs of units (STORY, title) of one publisher with different STORY ids."""
    rng = random.Random(seed)
    eligible = [p for p in pubs if len({s for ss in p.stories.values() for s in ss}) >= 2]
    n_units = sum(sum(len(ss) for ss in p.stories.values()) for p in eligible)
    pairs: list[Pair] = []
    identical = linked = 0
    for pub in eligible:
        units = pub.units()
        n = len(units)
        quota = max(1, round(total * n / n_units))
        if n * (n - 1) // 2 <= 2 * quota:
            chosen = [
                (i, j) for i in range(n) for j in range(i + 1, n) if units[i][0] != units[j][0]
            ]
            chosen = rng.sample(chosen, min(quota, len(chosen)))
        else:
            picked: set[tuple[int, int]] = set()
            tries = 0
            while len(picked) < quota and tries < 20 * quota:
                tries += 1
                i, j = rng.randrange(n), rng.randrange(n)
                if units[i][0] != units[j][0]:
                    picked.add((min(i, j), max(i, j)))
            chosen = sorted(picked)
        for i, j in chosen:
            a, b = units[i][1], units[j][1]
            if a == b:
                identical += 1
            elif pub.stories[a] & pub.stories[b]:
                linked += 1
            else:
                lo, hi = sorted((a, b))
                pairs.append((pub.name, lo, hi, fuzz.ratio(a, b)))
    return RandomSample(pairs, identical, linked)


def hardest_neighbours(pubs: Iterable[Publisher], limit: int = 25) -> tuple[list[Pair], int]:
    """For each distinct title, its most similar title of the same publisher sharing no
    STORY; returns the distinct unordered pairs and the number of titles examined."""
    found: dict[tuple[str, str, str], float] = {}
    examined = 0
    for pub in pubs:
        choices = list(pub.stories)
        if len(choices) < 2:
            continue
        for norm in choices:
            examined += 1
            mine = pub.stories[norm]
            best: tuple[str, float] | None = None
            for lim in (limit, None):
                for other, score, _ in process.extract(norm, choices, scorer=fuzz.ratio, limit=lim):
                    if other != norm and not (pub.stories[other] & mine):
                        best = (other, score)
                        break
                if best is not None or lim is None or len(choices) <= limit:
                    break
            if best is not None:
                a, b = sorted((norm, best[0]))
                found[(pub.name, a, b)] = best[1]
    return [(p, a, b, s) for (p, a, b), s in found.items()], examined


def at_least(pairs: list[Pair], t: float) -> int:
    return sum(1 for *_, s in pairs if s >= t)


_DIGIT = re.compile(r"\d")


def same_numbers(pair: Pair) -> bool:
    """True when both titles carry the same number-bearing words ("week 3", "july 8")."""

    def nums(text: str) -> list[str]:
        return sorted(w for w in text.split() if _DIGIT.search(w))

    return nums(pair[1]) == nums(pair[2])


Row = tuple[int, int, float, int, float]  # t, A >= t, random B per million, H >= t, H share


def table(
    a_pairs: list[Pair], b_pairs: list[Pair], hard: list[Pair], n_a: int, n_b: int, examined: int
) -> list[Row]:
    header = (
        f"{'t':>4} | {'A >= t':>8} {'of A':>7} | {'B rand >= t':>11} {'per M':>8} | "
        f"{'H >= t':>7} {'of titles':>9}"
    )
    print(header)
    print("-" * len(header))
    rows: list[Row] = []
    for t in THRESHOLDS:
        a, b, h = at_least(a_pairs, t), at_least(b_pairs, t), at_least(hard, t)
        per_m = b / n_b * 1e6 if n_b else 0.0
        share_h = h / examined if examined else 0.0
        rows.append((t, a, per_m, h, share_h))
        print(
            f"{t:>4} | {a:>8,} {a / max(n_a, 1):>7.2%} | {b:>11,} {per_m:>8.1f} | "
            f"{h:>7,} {share_h:>9.3%}"
        )
    return rows


def recommend(rows: list[Row], n_a: int) -> int | None:
    ok = [
        r for r in rows if r[0] < 100 and r[2] <= MAX_RANDOM_PER_MILLION and r[4] <= MAX_HARD_SHARE
    ]
    if not ok:
        print("  no threshold below 100 in the grid meets the criteria")
        return None
    t, a, per_m, h, share_h = ok[0]
    print(
        f"  lowest threshold with negligible different-story collapses: {t} "
        f"(random B {per_m:.1f}/M, hardest B {h:,} = {share_h:.3%} of titles); "
        f"it collapses {a:,} of {n_a:,} same-story pairs ({a / max(n_a, 1):.2%})"
    )
    return t


def show_examples(
    title: str, pairs: list[Pair], lo: float, hi: float, pubs: dict[str, Publisher], k: int
) -> None:
    window = sorted({p for p in pairs if lo <= p[3] < hi})
    pick = sorted(random.Random(0).sample(window, min(k, len(window))), key=lambda p: -p[3])
    print(f"\n{title}: {len(window):,} in [{lo:g}, {hi:g}), {len(pick)} shown")
    for name, a, b, score in pick:
        raw = pubs[name].raw
        sa = ",".join(sorted(s[:6] for s in pubs[name].stories[a]))
        sb = ",".join(sorted(s[:6] for s in pubs[name].stories[b]))
        print(f"  {score:5.1f}  [{name}]")
        print(f"         {raw[a]}  (story {sa})")
        print(f"         {raw[b]}  (story {sb})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--tsv", type=Path, default=DEFAULT_TSV)
    ap.add_argument("--sample", type=int, default=500_000, help="random B pairs (target)")
    ap.add_argument("--seed", type=int, default=20140310)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    by_name = load(args.tsv)
    pubs = sorted(by_name.values(), key=lambda p: p.name)
    n_rows = sum(p.rows for p in pubs)
    n_titles = sum(len(p.stories) for p in pubs)
    n_units = sum(sum(len(ss) for ss in p.stories.values()) for p in pubs)
    misfiled = sum(1 for p in pubs for ss in p.stories.values() if len(ss) > 1)
    misfiled_pairs = sum(len(ss) * (len(ss) - 1) // 2 for p in pubs for ss in p.stories.values())
    t1 = time.perf_counter()
    a_pairs = same_story_pairs(pubs)
    sample = sample_cross_story(pubs, args.sample, args.seed)
    t2 = time.perf_counter()
    hard, examined = hardest_neighbours(pubs)
    t3 = time.perf_counter()
    b_pairs = sample.pairs
    n_a, n_b = len(a_pairs), len(b_pairs)

    print(f"corpus: {args.tsv}")
    print(
        f"  {n_rows:,} rows, {len(pubs):,} publishers, {n_titles:,} distinct (publisher, "
        f"normalised title), {n_units:,} distinct (publisher, STORY, normalised title)"
    )
    print(
        f"  same normalised title under >1 STORY of one publisher: {misfiled:,} titles, "
        f"{misfiled_pairs:,} cross-STORY pairs (misfiled; score 100; excluded below)"
    )
    print(f"A  same-publisher same-STORY pairs of different normalised titles: {n_a:,}")
    print(
        f"B  random same-publisher cross-STORY pairs (seed {args.seed}): {n_b:,} with "
        f"disjoint STORY sets; excluded: {sample.identical:,} identical titles, "
        f"{sample.linked:,} whose title is also filed under the other STORY"
    )
    print(
        f"H  hardest B: nearest title sharing no STORY, for {examined:,} titles of "
        f"{sum(1 for p in pubs if len(p.stories) >= 2):,} publishers -> {len(hard):,} "
        "distinct pairs"
    )
    print(
        "\nColumns: A = same-STORY pairs collapsed at t; B rand = random cross-STORY pairs "
        "collapsed (count, per million sampled);\n  H = hardest cross-STORY neighbour pairs "
        "collapsed (distinct pairs; share = per title examined)."
    )
    print("\nAs implemented (normalize_title + fuzz.ratio >= t):")
    rows = table(a_pairs, b_pairs, hard, n_a, n_b, examined)
    print(
        "\nHypothetical, NOT implemented: same, but never collapse titles whose "
        "number-bearing words differ\n(per-million and share denominators as above):"
    )
    guard_rows = table(
        [p for p in a_pairs if same_numbers(p)],
        [p for p in b_pairs if same_numbers(p)],
        [p for p in hard if same_numbers(p)],
        n_a,
        n_b,
        examined,
    )

    all_b = hard + b_pairs
    show_examples("Example B pairs (different STORY, same publisher)", all_b, 85, 92, by_name, 10)
    show_examples("Example A pairs (same STORY, same publisher)", a_pairs, 88, 92, by_name, 10)

    print(
        f"\nRecommendation (negligible = random B <= {MAX_RANDOM_PER_MILLION:g} per million "
        f"AND hardest B <= {MAX_HARD_SHARE:.1%} of titles)"
    )
    print(" as implemented:")
    best = recommend(rows, n_a)
    print(" with the hypothetical number guard:")
    recommend(guard_rows, n_a)
    nola = similarity(
        normalize_title(NOLA[0], "NOLA.com", "nola.com"),
        normalize_title(NOLA[1], "NOLA.com", "nola.com"),
    )
    print(f" the motivating NOLA.com variant pair scores {nola:.1f}")
    current = next((r for r in rows if r[0] == RELATED_VARIANT_THRESHOLD), None)
    if current is not None:
        print(
            f" current default {RELATED_VARIANT_THRESHOLD:g}: random B {current[2]:.1f}/M, "
            f"hardest B {current[3]:,} ({current[4]:.3%}), collapses {current[1]:,} A pairs"
        )
    if best is not None:
        show_examples(f"Example B pairs still collapsed at {best}", all_b, best, 100, by_name, 10)
    print(
        f"\ntime: load+normalise {t1 - t0:.1f}s, A+random B {t2 - t1:.1f}s, "
        f"hardest {t3 - t2:.1f}s, total {time.perf_counter() - t0:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
