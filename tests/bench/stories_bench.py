"""Benchmark: stories (``searchidx.storycore``) on the UCI News Aggregator headlines.

Labels are the aggregator's STORY ids, which nobody here tuned by hand. Headlines are
grouped as the index groups them (normalised title; UCI rows have no excerpt), with two
precautions:

- UCI's TIMESTAMP is when the aggregator filed a headline under its STORY (most STORYs
  span under a minute), so each time is moved by a random shift within +-24 hours
  (fixed seed) and only used at the scale of days;
- no related lists: the benchmark corpora derive them from STORY ids, which would leak
  the labels.

Printed, with the baseline (TF-IDF cosine of titles, every word, +-3 days, average-link)
beside:

1. B-cubed precision and recall on samples of whole STORYs (every headline of each
   sampled STORY), against STORY ids, against STORY ids joined where two share an
   identical 6+-word headline within 3 days, and at the copy level (``dupes`` clusters
   against STORY); target precision >= 0.90 with recall >= 0.40 against STORY;
2. the precision guard: pairs of headlines from different STORYs, the same day and
   category, sharing at least 4 words: how many end up in one story; and the same for
   pairs whose STORYs stay apart after joining (UCI often files one event under several
   STORYs, which carry identical headlines: most pairs of the first guard are such);
3. every headline grouped, in a subprocess (wall time and peak RSS by ``os.wait4``);
   targets under 2 minutes and 1.5 GB;
4. the command on an index of the first 100,000 UCI articles (``--index-size``), in the
   seeds' shape (each article with related items) or as headlines alone
   (``--index-shape uci``), each figure a whole process: the first ``stories`` after
   the build (everything grouped), ``stories`` after an update adding 40 articles of
   the newest day, as a user adds a day's articles, then 40 of a new week (only the
   newest block of days is weighed and grouped again; target well under the first),
   after a one-file update in an older week (one seed-shaped article added: its block
   and the later blocks having a word whose rounded count changed over their view),
   after an update that changed nothing it groups, and ``stories QUERY`` with the
   grouping cached (median of 3; target under 1 s); and, over 40 one-file updates drawn
   at random (``update_reach``: an article of the index and its related items copied),
   how many weeks, and of how many items, each would cluster again.

Run: ``python -m tests.bench.stories_bench [--quick] [--stories N] [--skip-all]
[--skip-index] [--index-size N] [--index-shape seed|uci]``.
Exit status 0 when every target is met, 1 otherwise, 2 when the corpus is absent.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from itertools import combinations, pairwise
from pathlib import Path

from searchidx import storycore
from searchidx.copies import candidate_pairs, star_clusters
from searchidx.titles import normalize_title
from tests.bench.corpora import shared_dir

SEED = 20140310
#: How many articles of the newest day an update adds (see ``index_steps``).
DAY_ARTICLES = 40
#: Thresholds of the baseline (mean cosine of titles) printed beside.
BASELINE_THRESHOLDS = (0.3, 0.4, 0.5)
_DAY = 86_400


class Row:
    __slots__ = ("category", "norm", "publisher", "story", "time", "uid")

    def __init__(self, uid: int, norm: str, publisher: str, category: str, story: str, t: int):
        self.uid = uid
        self.norm = norm
        self.publisher = publisher
        self.category = category
        self.story = story
        self.time = t


def load_rows(path: Path, stories: int | None, seed: int = SEED) -> list[Row]:
    """Rows of ``stories`` whole STORYs drawn at random (all when None), times blurred."""
    raw: list[tuple[int, str, str, str, str, str, int]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            p = line.rstrip("\n").split("\t")
            if len(p) != 8 or not p[0].isdigit() or not p[7].isdigit() or not p[1].strip():
                continue
            raw.append((int(p[0]), p[1], p[3], p[6], p[4], p[5], int(p[7]) // 1000))
    rng = random.Random(seed)
    if stories is not None:
        ids = sorted({r[5] for r in raw})
        chosen = set(rng.sample(ids, min(stories, len(ids))))
        raw = [r for r in raw if r[5] in chosen]
    shift = random.Random(seed + 1)
    return [
        Row(uid, normalize_title(title, pub, host), pub, cat, story, t + shift.randint(-_DAY, _DAY))
        for uid, title, pub, host, cat, story, t in raw
    ]


def bcubed(clusters: Sequence[int], labels: Sequence[str]) -> tuple[float, float]:
    """B-cubed precision and recall of a clustering (one cluster number per item)."""
    pair: Counter[tuple[int, str]] = Counter(zip(clusters, labels, strict=True))
    csize = Counter(clusters)
    lsize = Counter(labels)
    n = len(labels)
    p = sum(c * c / csize[k] for (k, _), c in pair.items()) / n
    r = sum(c * c / lsize[lab] for (_, lab), c in pair.items()) / n
    return p, r


def as_labels(n: int, groups: Sequence[Sequence[int]]) -> list[int]:
    out = list(range(n))
    for g in groups:
        for i in g:
            out[i] = g[0]
    return out


def joined_labels(rows: Sequence[Row]) -> list[str]:
    """STORY ids joined where two rows share an identical 6+-word title within 3 days."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    by_title: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if len(r.norm.split()) >= 6:
            by_title[r.norm].append(r)
    for same in by_title.values():
        same.sort(key=lambda r: r.time)
        for a, b in pairwise(same):
            if b.time - a.time <= 3 * _DAY:
                ra, rb = find(a.story), find(b.story)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    return [find(r.story) for r in rows]


def entries(rows: Sequence[Row]) -> list[storycore.Entry]:
    return [storycore.Entry(str(r.uid), r.norm, "", r.time) for r in rows]


def baseline(rows: Sequence[Row], threshold: float) -> list[list[int]]:
    """TF-IDF cosine of titles (every word, smooth idf), +-3 days, average-link: the same
    candidate search and clustering, none of the weighting, time or boilerplate rules."""
    toks = [r.norm.split() for r in rows]
    df: Counter[str] = Counter()
    for t in toks:
        df.update(set(t))
    n = len(rows)
    vocab = sorted(df)
    wid = {w: i for i, w in enumerate(vocab)}
    # rarest first, then in word order; a word of one headline finds no candidate
    rank = {i: (float(df[w]), i) if df[w] > 1 else None for i, w in enumerate(vocab)}
    vecs = []
    for t in toks:
        v = {wid[w]: math.log((n + 1) / (df[w] + 1)) + 1.0 for w in set(t)}
        z = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vecs.append({w: x / z for w, x in v.items()})
    keys = [f"{r.uid:09d}" for r in rows]
    found_by = [storycore.key_words(v, rank) for v in vecs]
    edges = storycore.candidate_edges(
        range(n), vecs, [r.time for r in rows], keys, found_by, 3.0, edge_min=0.3
    )
    out: list[list[int]] = []
    for comp, inside in storycore.split(edges):
        out += storycore.average_link([[i] for i in comp], vecs, None, inside, {}, keys, threshold)
    return out


def copies(rows: Sequence[Row]) -> list[list[int]]:
    """The copy level: ``dupes`` star clusters with its defaults."""
    pairs = candidate_pairs([r.norm for r in rows], [r.time * 1_000_000 for r in rows], 90.0, 7.0)
    order = sorted(range(len(rows)), key=lambda i: (rows[i].time, rows[i].uid))
    return [[i for i, _ in c] for c in star_clusters(order, pairs)]


def guard_pairs(
    rows: Sequence[Row], labels: Sequence[str] | None = None, limit: int = 2000
) -> list[tuple[int, int]]:
    """Different-STORY pairs on the same day and category sharing 4+ words (not stop);
    with ``labels``, only pairs whose labels differ too."""
    rng = random.Random(SEED + 2)
    by_day: dict[tuple[int, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_day[(r.time // _DAY, r.category)].append(i)
    found: list[tuple[int, int]] = []
    sets = [set(storycore.words(r.norm)) for r in rows]
    for key in sorted(by_day):
        group = by_day[key]
        if len(group) > 400:
            group = rng.sample(group, 400)
        for a, b in combinations(group, 2):
            if (
                rows[a].story != rows[b].story
                and len(sets[a] & sets[b]) >= 4
                and (labels is None or labels[a] != labels[b])
            ):
                found.append((a, b))
    rng.shuffle(found)
    return found[:limit]


def guard(labels: Sequence[int], *pair_sets: Sequence[tuple[int, int]]) -> str:
    out = []
    for pairs in pair_sets:
        together = sum(1 for a, b in pairs if labels[a] == labels[b])
        out.append(f"{together:>5} of {len(pairs)} ({together / max(1, len(pairs)):5.1%})")
    return "  ".join(out)


def quality(rows: Sequence[Row], thresholds: Sequence[float]) -> bool:
    n = len(rows)
    story = [r.story for r in rows]
    joined = joined_labels(rows)
    print(
        f"{n:,} headlines of {len(set(story)):,} STORYs "
        f"({len(set(joined)):,} after joining identical headlines); times blurred +-24 h"
    )
    gp = (guard_pairs(rows), guard_pairs(rows, joined))
    met = False
    head = (
        f"{'method':<28}{'P':>7}{'R':>7}{'P joined':>10}{'R joined':>10}  "
        f"{'guard':<20}  guard joined"
    )
    print(head)
    single = as_labels(n, [])
    p, r = bcubed(single, story)
    print(f"{'every headline alone':<28}{p:7.3f}{r:7.3f}")
    t0 = time.perf_counter()
    cp = as_labels(n, copies(rows))
    p, r = bcubed(cp, story)
    pj, rj = bcubed(cp, joined)
    print(f"{'copies (dupes, 90)':<28}{p:7.3f}{r:7.3f}{pj:10.3f}{rj:10.3f}  {guard(cp, *gp)}")
    for t in thresholds:
        t0 = time.perf_counter()
        labels = as_labels(n, storycore.group(entries(rows), threshold=t))
        secs = time.perf_counter() - t0
        p, r = bcubed(labels, story)
        pj, rj = bcubed(labels, joined)
        mark = " <- default" if t == storycore.DEFAULT_THRESHOLD else ""
        print(
            f"{f'stories {t:.2f}':<28}{p:7.3f}{r:7.3f}{pj:10.3f}{rj:10.3f}  "
            f"{guard(labels, *gp)}  {secs:.1f} s{mark}"
        )
        if t == storycore.DEFAULT_THRESHOLD:
            met = p >= 0.90 and r >= 0.40
            sp, sr = p, r
    for t in BASELINE_THRESHOLDS:
        b = as_labels(n, baseline(rows, t))
        p, r = bcubed(b, story)
        pj, rj = bcubed(b, joined)
        print(f"{f'baseline {t:.2f}':<28}{p:7.3f}{r:7.3f}{pj:10.3f}{rj:10.3f}  {guard(b, *gp)}")
    if storycore.DEFAULT_THRESHOLD in thresholds:
        print(
            f"target P >= 0.90 with R >= 0.40 (against STORY): P {sp:.3f} R {sr:.3f} "
            f"-> {'met' if met else 'NOT met'}"
        )
    return met


def _group_all(path: str) -> None:
    rows = load_rows(Path(path), None)
    t0 = time.perf_counter()
    jobs = min(os.cpu_count() or 1, 4)
    groups = storycore.stories_of(storycore.group_parts(entries(rows), jobs=jobs))
    print(f"{len(rows)} {len(groups)} {time.perf_counter() - t0:.1f}")


def everything(path: Path) -> bool:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.stories_bench", "--_all", str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    rss_mb = usage.ru_maxrss / 1024
    if status != 0:
        print(f"all headlines: failed ({status})")
        return False
    n, stories, grouping = out.split()
    ok = wall < 120 and rss_mb < 1536
    cpu = usage.ru_utime + usage.ru_stime
    print(
        f"all {int(n):,} headlines: {int(stories):,} stories in {wall:.1f} s wall, "
        f"{cpu:.1f} s CPU "
        f"(grouping alone {grouping} s with up to {min(os.cpu_count() or 1, 4)} processes, "
        f"the rest reading and normalising), "
        f"peak {rss_mb:,.0f} MB; targets < 120 s, < 1,536 MB -> {'met' if ok else 'NOT met'}"
    )
    return ok


_EXTRA = """---
title: "{title}"
publishedDateTime: "{when}"
webUrl: "https://{host}/story-{n}"
type: "article"
provider:
  name: "{name}"
  domain: "{host}"
related:
  - title: "{related}"
    publishedDateTime: "{when}"
    webUrl: "https://other-{host}/story-{n}"
    type: "article"
    provider:
      name: "Other {name}"
      domain: "other-{host}"
---
{title}.
"""


_DATE = re.compile(r'^(\s*publishedDateTime: ")(\d{4}-\d\d-\d\d)', re.M)
_URL = re.compile(r'^(\s*webUrl: ")([^"]*)"', re.M)
_TITLE = re.compile(r'^(\s*(?:- )?title: ")(.*)"$', re.M)


def _new_day(corpus: Path, out: Path, count: int, later: int = 0) -> str:
    """Write ``count`` articles of the corpus into ``out`` as articles of its newest day
    (or of ``later`` days after it), every URL made new (so every item is new) and every
    title given a word (so that no title is seen on one more day): what a user adds day
    by day. Returns the day."""
    import datetime

    files = sorted(corpus.rglob("*.md"))
    texts = {f: f.read_text(encoding="utf-8") for f in random.Random(SEED).sample(files, count)}
    day = max(m.group(2) for f in files for m in _DATE.finditer(f.read_text(encoding="utf-8")))
    day = (datetime.date.fromisoformat(day) + datetime.timedelta(days=later)).isoformat()
    for n, text in enumerate(texts.values()):
        text = _DATE.sub(lambda m: m.group(1) + day, text)
        text = _URL.sub(lambda m: f'{m.group(1)}{m.group(2)}/day-{day}"', text)
        text = _TITLE.sub(lambda m: f'{m.group(1)}{m.group(2)} update"', text)
        (out / f"day-{day}-{n}.md").write_text(text, encoding="utf-8")
    return day


def _run(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds and output of a whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, proc.stdout


#: How many one-file updates ``update_reach`` draws.
REACH_FILES = 40


def update_reach(index: str, files: int = REACH_FILES) -> str:
    """What an update adding one file would cluster again, over ``files`` files drawn at
    random: each an article of the index and the items its related list names, copied
    under new keys (the seeds' shape, in the article's week), weighed by the index's
    kept grouping state without clustering anything
    (:meth:`searchidx.storystate.GroupingState.reach`). Returns the line to print."""
    import statistics

    from searchidx import stories
    from searchidx.engine import index_at

    state = stories.kept_state(index_at(index).snapshot().folder)
    if state is None:
        return "  one added file: no grouping state kept"
    assert state.file is not None
    sizes = dict(state.sizes)
    items = {row[0]: row[2:6] for b in sizes for row in state.file.block_items(b)}
    articles = sorted(k for k, it in items.items() if it[3] and it[0] is not None)
    rng = random.Random(SEED)
    weeks: list[int] = []
    regrouped: list[int] = []
    for n in range(files):
        key = rng.choice(articles)
        time_, norm, gist, listed = items[key]
        named = {k: f"reach{n}-{k}" for k in listed.split() if k in items}
        added = [(f"reach{n}-{key}", (time_, norm, gist, " ".join(named.values())))]
        added += [(new, (*items[k][:3], "")) for k, new in named.items()]
        reach = state.reach(added)
        weeks.append(len(reach))
        regrouped.append(sum(sizes.get(b, 0) for b in reach))
    return (
        f"  one added file ({files} drawn at random): weeks clustered again mean "
        f"{statistics.mean(weeks):.1f}, median {statistics.median(weeks):g}, max {max(weeks)}; "
        f"their items mean {statistics.mean(regrouped):,.0f}, max {max(regrouped):,} "
        f"(of {len(sizes)} weeks, {len(items):,} items)"
    )


def index_steps(size: int, shape: str = "seed") -> bool:
    """The stories command on an index of ``size`` UCI articles (``shape``: "seed", each
    with related items as the seeds have them, or "uci", headlines alone), whole
    processes."""
    import shutil
    import statistics
    import tempfile

    from tests.bench import corpora

    corpus = corpora.uci_seed_corpus(size) if shape == "seed" else corpora.uci_corpus(size)
    cli = [sys.executable, "-m", "searchidx"]
    work = Path(tempfile.mkdtemp(prefix="stories-bench-"))
    try:
        index = str(work / "index")
        extra = work / "extra"
        extra.mkdir()
        wall, _, _ = _run([*cli, "--index", index, "index", str(corpus), str(extra)])
        print(f"index of {size:,} UCI articles ({shape} shape) built in {wall:.0f} s")
        first, first_cpu, _ = _run([*cli, "--index", index, "stories", "-n", "1"])
        reach = update_reach(index)
        day = _new_day(corpus, extra, DAY_ARTICLES)
        _run([*cli, "--index", index, "index", str(corpus), str(extra)])
        added, added_cpu, _ = _run([*cli, "--index", index, "stories", "-n", "1"])
        week = _new_day(corpus, extra, DAY_ARTICLES, later=7)
        _run([*cli, "--index", index, "index", str(corpus), str(extra)])
        new_week, new_week_cpu, _ = _run([*cli, "--index", index, "stories", "-n", "1"])
        (extra / "new.md").write_text(
            _EXTRA.format(
                title="Colorado school lets girl who shaved head for friend with cancer return",
                related="Girl who shaved her head for friend with cancer back at school",
                when="2014-03-27T05:10:00Z",
                host="examplenews.com",
                name="Example News",
                n=1,
            ),
            encoding="utf-8",
        )
        _run([*cli, "--index", index, "index", str(corpus), str(extra)])
        one, one_cpu, _ = _run([*cli, "--index", index, "stories", "-n", "1", "shaved"])
        (extra / "other.md").write_text(
            _EXTRA.format(
                title="What is this",
                related="What was that",
                when="2014-03-27T05:10:00Z",
                host="wordless.com",
                name="Wordless",
                n=2,
            ),
            encoding="utf-8",
        )
        _run([*cli, "--index", index, "index", str(corpus), str(extra)])
        same, same_cpu, _ = _run([*cli, "--index", index, "stories", "-n", "1"])
        cached = [_run([*cli, "--index", index, "stories", "obama"])[:2] for _ in range(3)]
        q_wall = statistics.median(w for w, _ in cached)
        q_cpu = statistics.median(c for _, c in cached)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ok = added < first / 2 and new_week < first / 2 and q_wall < 1.0
    print(f"stories on {size:,} UCI articles, {shape} shape (whole processes; wall, CPU):")
    print(f"  first after the build (all grouped)      {first:7.1f} s  {first_cpu:7.1f} s")
    print(
        f"  after {DAY_ARTICLES} articles of the newest day ({day}) {added:7.1f} s  {added_cpu:7.1f} s"
    )
    print(f"  after as many of a new week ({week})    {new_week:7.1f} s  {new_week_cpu:7.1f} s")
    print(f"  after one added file of an older week     {one:7.1f} s  {one_cpu:7.1f} s")
    print(reach)
    print(f"  after adding items with no words that count {same:5.1f} s  {same_cpu:7.1f} s")
    print(f"  'stories obama', cached (median of 3)     {q_wall:7.2f} s  {q_cpu:7.2f} s")
    print(
        f"targets: a day's articles or a new week's added, well under the first (< 1/2), "
        f"cached query < 1 s "
        f"-> {'met' if ok else 'NOT met'}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.stories_bench")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--stories", type=int, default=1500)
    ap.add_argument("--skip-all", action="store_true")
    ap.add_argument("--skip-index", action="store_true")
    ap.add_argument("--index-size", type=int, default=100_000)
    ap.add_argument("--index-shape", choices=("seed", "uci"), default="seed")
    ap.add_argument("--thresholds", default="")
    ap.add_argument("--_all", dest="all_path", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.all_path:
        _group_all(args.all_path)
        return 0
    shared = shared_dir()
    path = shared / "corpora/uci-news-aggregator/newsCorpora.tsv" if shared else None
    if path is None or not path.exists():
        print("stories benchmark: the UCI corpus is not there; skipped")
        return 2
    stories = 200 if args.quick else args.stories
    d = storycore.DEFAULT_THRESHOLD
    ts = (
        [float(x) for x in args.thresholds.split(",")]
        if args.thresholds
        else [round(d - 0.05, 2), d, round(d + 0.05, 2)]
    )
    print(f"== stories: {stories} whole STORYs drawn at random (seed {SEED}) ==")
    ok = quality(load_rows(path, stories), ts)
    if not args.skip_all and not args.quick:
        ok = everything(path) and ok
    if not args.skip_index:
        ok = index_steps(2_000 if args.quick else args.index_size, args.index_shape) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
