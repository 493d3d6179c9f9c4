"""Benchmark: near-duplicate headlines (``searchidx.copies``) on the UCI News Aggregator.

The UCI file (422,937 headlines, Mar-Aug 2014; see ``SOURCE.txt`` beside it) gives real
headlines with publisher, host, time and the aggregator's STORY id. Titles are normalised
as the index does (``normalize_title(title, publisher, host)``) and compared as
``searchidx.copies.find_dupes`` compares them. One run prints, each against its target:

1. recall of ``candidate_pairs`` (rare-word keys) against exhaustive comparison
   (``rapidfuzz.process.cdist`` on every pair, then the same numbers guard) on a random
   sample of titles, at the default threshold and at 80 and 85 (target >= 0.99);
2. speed on the first 100k titles: ``candidate_pairs`` (without and with the default
   window) against exhaustive comparison, extrapolated from cdist on 5k, 10k and 20k titles
   with a fit t = a*n^2 (target: at most 1/20 of exhaustive);
3. size: every title deduplicated (``candidate_pairs`` + ``star_clusters`` with the
   defaults) in a subprocess, whose own wall time and peak RSS are read with ``os.wait4``
   (targets: under 5 minutes, under 2 GB);
4. a threshold table on the first 100k titles: pairs reported at 80, 82, ..., 100 and the
   share of them that share a STORY or have identical normalised titles, with and without
   the default window; then the numbers behind the window: how far apart in time the
   identical titles filed under different STORY ids are;
5. pairs to judge by eye: 20 random pairs just above and 20 just below the default
   threshold, written to ``pairs-around-threshold.txt``;
6. the cluster-size distribution of star clusters over every title, against connected
   components of the same pairs (which chain).

Timings are medians of several runs (the count is printed). numpy is needed for cdist only
(sections 1 and 2); it is not a dependency of the project, and without it those sections
are skipped with a message. Supporting files go to ``--out`` (default: a folder under
``tests.bench.corpora.cache_dir() / "reports"``), never into the repository.
``--quick`` runs a small version (a 3k sample, a 20k prefix) as a smoke test.

Run: ``python -m tests.bench.dupes_bench [--out DIR] [--quick]``. Exit status: 0 when every
target is met, 1 when one is missed or a section was skipped, 2 when the corpus is absent.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from searchidx.copies import (
    DEFAULT_THRESHOLD,
    DEFAULT_WINDOW_DAYS,
    KEY_TOKENS,
    candidate_pairs,
    star_clusters,
)
from searchidx.titles import normalize_title, numbers
from tests.bench import corpora

NUMPY_MISSING = (
    "numpy is not installed: exhaustive comparison (rapidfuzz.process.cdist) needs it. "
    "It is a benchmark-only tool, not a project dependency: "
    "install it in the virtualenv (pip install numpy) to run this section."
)
RECALL_TARGET = 0.99
SPEED_TARGET = 1 / 20
WALL_TARGET_S = 300.0
RSS_TARGET_BYTES = 2 * 1024**3
RECALL_THRESHOLDS = tuple(sorted({80.0, 85.0, DEFAULT_THRESHOLD}))
TABLE_THRESHOLDS = tuple(float(t) for t in range(80, 101, 2))
WINDOW_DAYS = (1, 2, 3, 5, 7, 14, 30)
SIZE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("2", 2, 2),
    ("3", 3, 3),
    ("4", 4, 4),
    ("5", 5, 5),
    ("6-10", 6, 10),
    ("11-20", 11, 20),
    ("21-50", 21, 50),
    (">50", 51, None),
)
JUDGE_BAND = 3.0
_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000

Pairs = dict[tuple[int, int], float]


@dataclass(frozen=True, slots=True)
class Config:
    """Sizes of one run."""

    quick: bool
    sample: int  # titles in the recall sample
    prefix: int  # first rows for speed, thresholds, judging and the window
    cdist_sizes: tuple[int, ...]  # samples timed with cdist for the n^2 fit
    runs: int  # timing runs (median)
    size_runs: int  # subprocess runs of the size step
    size_limit: int | None  # rows deduplicated in the size step (None: all)
    judge: int = 20  # pairs to judge on each side of the threshold
    seed: int = 20140310


FULL = Config(False, 20_000, 100_000, (5_000, 10_000, 20_000), 3, 3, None)
QUICK = Config(True, 3_000, 20_000, (1_000, 2_000, 3_000), 1, 1, 20_000)


# --- data -------------------------------------------------------------------------------------


def uci_path() -> Path:
    """The UCI file in the shared folder (FileNotFoundError when absent)."""
    shared = corpora.shared_dir()
    path = shared / corpora.UCI_TSV if shared is not None else None
    if path is None or not path.is_file():
        missing = corpora.REPO_ROOT.parent / "shared" / corpora.UCI_TSV
        raise FileNotFoundError(f"{missing} is not present")
    return path


class Corpus:
    """UCI rows by ID (``tests.bench.corpora.read_uci``), titles normalised on demand."""

    def __init__(self, rows: Sequence[corpora.UciRow]) -> None:
        self.rows = rows
        self._norms: list[str | None] = [None] * len(rows)

    def __len__(self) -> int:
        return len(self.rows)

    def norm(self, i: int) -> str:
        n = self._norms[i]
        if n is None:
            r = self.rows[i]
            n = self._norms[i] = normalize_title(r.title, r.publisher, r.host)
        return n

    def time_us(self, i: int) -> int | None:
        ms = self.rows[i].ms
        return ms * 1000 if ms >= 0 else None

    def items(self, rows: Iterable[int]) -> list[int]:
        """The given rows whose normalised title is not empty (what the index compares)."""
        return [i for i in rows if self.norm(i)]

    def order_key(self, i: int) -> tuple[bool, int, int]:
        """Publication order as in ``searchidx.copies.Titles.order_key``."""
        t = self.time_us(i)
        return (t is None, t or 0, self.rows[i].id)


def load_corpus(limit: int | None = None) -> Corpus:
    rows, _ = corpora.read_uci(uci_path(), limit)
    return Corpus(rows)


def to_rows(items: Sequence[int], pairs: Pairs) -> Pairs:
    """Pairs of positions in ``items`` as pairs of row indices."""
    return {(items[i], items[j]): s for (i, j), s in pairs.items()}


def numpy_or_skip() -> Any:
    """numpy, or None once the section has said that it is skipped without it."""
    try:
        return importlib.import_module("numpy")
    except ImportError:
        print(f"  SKIPPED: {NUMPY_MISSING}")
        return None


# --- formatting -------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> str:
    """An aligned text table; ``align`` has one ``l`` or ``r`` per column (default: the
    first column left, the others right)."""
    cells = [[str(h) for h in headers], *([str(v) for v in r] for r in rows)]
    align = align or "l" + "r" * (len(headers) - 1)
    widths = [max(len(r[k]) for r in cells) for k in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(
            v.ljust(w) if a == "l" else v.rjust(w) for v, w, a in zip(r, widths, align, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join(["  " + line(cells[0]), "  " + rule, *("  " + line(r) for r in cells[1:])])


def share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 86 - len(text)), flush=True)


def median_time(fn: Callable[[], Any], runs: int) -> tuple[float, list[float], Any]:
    """Median wall time of ``runs`` calls, every time, and the last call's result."""
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def size_buckets(sizes: Iterable[int]) -> dict[str, int]:
    """How many groups fall in each of ``SIZE_BUCKETS`` (singletons are not counted)."""
    out = dict.fromkeys((label for label, _, _ in SIZE_BUCKETS), 0)
    for s in sizes:
        for label, low, high in SIZE_BUCKETS:
            if s >= low and (high is None or s <= high):
                out[label] += 1
                break
    return out


def components(pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components (union-find) of the graph the pairs form; isolated nodes are
    not listed. Each component is sorted; components come largest first."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = defaultdict(list)
    for x in parent:
        groups[find(x)].append(x)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g[0]))


def fit_quadratic(points: Sequence[tuple[int, float]]) -> float:
    """Least-squares ``a`` of t = a*n^2 through the origin."""
    return sum(t * n * n for n, t in points) / sum(float(n) ** 4 for n, _ in points)


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Bench:
    """One run: the corpus, its sizes, the output folder and shared intermediate results."""

    corpus: Corpus
    cfg: Config
    out: Path
    _prefix_pairs: dict[bool, Pairs] = field(default_factory=dict)
    _size_result: dict[str, Any] | None = None

    def prefix_items(self) -> list[int]:
        return self.corpus.items(range(min(self.cfg.prefix, len(self.corpus))))

    def prefix_pairs(self, windowed: bool) -> Pairs:
        """``candidate_pairs`` at the lowest table threshold over the prefix (row indices)."""
        if windowed not in self._prefix_pairs:
            items = self.prefix_items()
            norms = [self.corpus.norm(i) for i in items]
            times = [self.corpus.time_us(i) for i in items]
            window = DEFAULT_WINDOW_DAYS if windowed else None
            found = candidate_pairs(norms, times, min(TABLE_THRESHOLDS), window)
            self._prefix_pairs[windowed] = to_rows(items, found)
        return self._prefix_pairs[windowed]

    def same_story(self, a: int, b: int) -> bool:
        return self.corpus.rows[a].story == self.corpus.rows[b].story

    def label(self, i: int) -> str:
        r = self.corpus.rows[i]
        return f"[{r.publisher}] {r.title}"


# --- 1. recall ----------------------------------------------------------------------------------


def exhaustive_pairs(np: Any, norms: Sequence[str], low: float) -> tuple[Pairs, dict[str, Any]]:
    """Every pair (i < j) scoring at least ``low`` with the same numbers, by cdist.

    cdist runs in float32 with a cutoff one point below ``low``, and every pair it keeps is
    rescored exactly (float64, as ``candidate_pairs`` scores): float32 rounds e.g.
    89.99999 up to 90.0, which would count pairs the float64 comparison rejects."""
    start = time.perf_counter()
    m = process.cdist(
        norms, norms, scorer=fuzz.ratio, score_cutoff=low - 1, workers=-1, dtype=np.float32
    )
    ii, jj = np.nonzero(m)
    upper = ii < jj
    ii, jj = ii[upper], jj[upper]
    approx = m[ii, jj].tolist()
    del m
    seconds = time.perf_counter() - start
    nums = [numbers(n) for n in norms]
    found: Pairs = {}
    unguarded: Counter[float] = Counter()
    rounded_up: Counter[float] = Counter()
    for i, j, f in zip(ii.tolist(), jj.tolist(), approx, strict=True):
        s = float(fuzz.ratio(norms[i], norms[j]))
        for t in RECALL_THRESHOLDS:
            rounded_up[t] += f >= t > s
            unguarded[t] += s >= t
        if s >= low and nums[i] == nums[j]:
            found[(i, j)] = s
    return found, {"cdist_s": seconds, "unguarded": unguarded, "rounded_up": rounded_up}


def recall_on(
    b: Bench, np: Any, items: list[int], name: str
) -> tuple[list[list[str]], dict[str, Any], list[str]]:
    """Recall of ``candidate_pairs`` (no window) against exhaustive comparison on some rows:
    table rows, figures by threshold, and the missed pairs as text."""
    norms = [b.corpus.norm(i) for i in items]
    n = len(norms)
    exhaustive, info = exhaustive_pairs(np, norms, min(RECALL_THRESHOLDS))
    rows = []
    figures: dict[str, Any] = {"titles": n, "cdist_s": info["cdist_s"]}
    missed_lines = []
    for t in RECALL_THRESHOLDS:
        want = {p for p, s in exhaustive.items() if s >= t}
        start = time.perf_counter()
        got = candidate_pairs(norms, [None] * n, t, None)
        seconds = time.perf_counter() - start
        hit = len(want & got.keys())
        extra = len(got.keys() - want)
        wrong_score = sum(1 for p, s in got.items() if p in want and s != exhaustive[p])
        recall = hit / len(want) if want else 1.0
        rows.append(
            [
                name,
                f"{t:g}" + (" *" if t == DEFAULT_THRESHOLD else ""),
                f"{info['unguarded'][t]:,}",
                f"{len(want):,}",
                f"{hit:,}",
                f"{len(want) - hit:,}",
                f"{extra:,}",
                f"{recall:.4f}",
                verdict(recall >= RECALL_TARGET),
                f"{seconds:.2f}",
            ]
        )
        figures[f"{t:g}"] = {
            "exhaustive": len(want),
            "found": hit,
            "missed": len(want) - hit,
            "extra": extra,
            "score_mismatch": wrong_score,
            "recall": recall,
            "met": recall >= RECALL_TARGET,
            "float32_rounded_up": info["rounded_up"][t],
        }
        missed_lines.append(f"== {name}, threshold {t:g}: {len(want) - hit} missed ==")
        for i, j in sorted(want - got.keys(), key=lambda p: -exhaustive[p]):
            missed_lines += [
                f"{exhaustive[(i, j)]:6.2f}  {b.label(items[i])}",
                f"        {b.label(items[j])}",
                f"        norms: {norms[i]!r} / {norms[j]!r}",
            ]
        missed_lines.append("")
    return rows, figures, missed_lines


def section_recall(b: Bench) -> dict[str, Any]:
    heading("1. Recall: candidate_pairs against exhaustive comparison")
    np = numpy_or_skip()
    if np is None:
        return {"skipped": NUMPY_MISSING}
    c, cfg = b.corpus, b.cfg
    size = min(cfg.sample, len(c))
    rng = random.Random(cfg.seed)
    random_items = c.items(sorted(rng.sample(range(len(c)), size)))
    rows, figures, missed = recall_on(b, np, random_items, "random")
    # A random sample of 5% of the rows holds few pairs; consecutive rows (one period of
    # the crawl) hold about ten times as many, a harder test of the keys.
    block_rows, block, block_missed = recall_on(b, np, c.items(range(size)), "first rows")
    cdist_s = figures.pop("cdist_s") + block.pop("cdist_s")
    n = figures.pop("titles")
    block.pop("titles")
    print(
        f"  {n:,} titles: a random sample (seed {cfg.seed}) of the {len(c):,}, and the first "
        f"{size:,} rows. No time window. Exhaustive = cdist over all {n * (n - 1) // 2:,} "
        f"pairs of each (float32, workers=-1; {cdist_s:.0f} s for both), each hit rescored "
        f"exactly, then the numbers guard. Target: recall >= {RECALL_TARGET} (random sample)."
    )
    headers = ["sample", "threshold", "cdist", "+numbers guard", "found", "missed", "extra"]
    headers += ["recall", "target", "cand. s"]
    print(table(headers, rows + block_rows, "ll" + "r" * 8))
    print(
        "  * the default threshold. cdist = exhaustive pairs before the numbers guard. "
        "extra = candidate pairs that exhaustive comparison lacks (must be 0).\n"
        "  float32 cdist scores that reach a threshold the exact score misses: "
        + ", ".join(
            f"{figures[f'{t:g}']['float32_rounded_up'] + block[f'{t:g}']['float32_rounded_up']}"
            f" at {t:g}"
            for t in RECALL_THRESHOLDS
        )
        + f" (both samples). key_tokens = {KEY_TOKENS}."
    )
    path = b.out / "recall-missed.txt"
    path.write_text("\n".join(missed + block_missed), encoding="utf-8")
    print(f"  missed pairs: {path}")
    return {
        "titles": n,
        "seed": cfg.seed,
        "by_threshold": figures,
        "first_rows": block,
        "recall_default": figures[f"{DEFAULT_THRESHOLD:g}"]["recall"],
        "met": all(v["met"] for v in figures.values()),
    }


# --- 2. speed -----------------------------------------------------------------------------------


def section_speed(b: Bench) -> dict[str, Any]:
    heading("2. Speed: candidate_pairs against exhaustive comparison")
    np = numpy_or_skip()
    if np is None:
        return {"skipped": NUMPY_MISSING}
    c, cfg = b.corpus, b.cfg
    items = b.prefix_items()
    norms = [c.norm(i) for i in items]
    times = [c.time_us(i) for i in items]
    n = len(norms)
    rng = random.Random(cfg.seed + 1)
    points: list[tuple[int, float]] = []
    runs_by_size: dict[int, list[float]] = {}
    for size in cfg.cdist_sizes:
        sample = rng.sample(norms, min(size, n))

        def exhaustive(sample: list[str] = sample) -> None:
            process.cdist(
                sample,
                sample,
                scorer=fuzz.ratio,
                score_cutoff=DEFAULT_THRESHOLD,
                workers=-1,
                dtype=np.float32,
            )

        med, all_runs, _ = median_time(exhaustive, cfg.runs)
        points.append((len(sample), med))
        runs_by_size[len(sample)] = all_runs
    a = fit_quadratic(points)
    print(
        f"  Exhaustive: process.cdist(titles, titles, scorer=fuzz.ratio, score_cutoff="
        f"{DEFAULT_THRESHOLD:g}, workers=-1 [{os.cpu_count()} CPUs], dtype=float32) on random "
        f"samples of the first {n:,} titles; median of {cfg.runs} run(s); fit t = a*n^2."
    )
    print(
        table(
            ["titles", "median s", "runs s", "a*n^2 s", "residual"],
            [
                [
                    f"{size:,}",
                    f"{t:.2f}",
                    " ".join(f"{x:.2f}" for x in runs_by_size[size]),
                    f"{a * size * size:.2f}",
                    f"{(t - a * size * size) / (a * size * size):+.1%}",
                ]
                for size, t in points
            ],
        )
    )
    full_n = len(c)
    exh_prefix = a * n * n
    exh_full = a * full_n * full_n
    print(
        f"  a = {a:.3e} s per title^2 -> {n:,} titles: {exh_prefix:.1f} s; "
        f"{full_n:,} titles: {exh_full / 60:.1f} min"
    )
    rows = []
    figures: dict[str, Any] = {
        "titles": n,
        "runs": cfg.runs,
        "fit_a": a,
        "fit_points": points,
        "exhaustive_s": exh_prefix,
        "exhaustive_full_s": exh_full,
    }
    for label, window in (
        ("no window", None),
        (f"window {DEFAULT_WINDOW_DAYS:g} d", DEFAULT_WINDOW_DAYS),
    ):
        med, all_runs, found = median_time(
            functools.partial(candidate_pairs, norms, times, DEFAULT_THRESHOLD, window), cfg.runs
        )
        ratio = med / exh_prefix
        key = "window" if window is not None else "no_window"
        figures[key] = {"seconds": med, "runs_s": all_runs, "pairs": len(found), "ratio": ratio}
        rows.append(
            [
                f"candidate_pairs, {label}",
                f"{len(found):,}",
                f"{med:.2f}",
                " ".join(f"{x:.2f}" for x in all_runs),
                f"1/{1 / ratio:.0f}",
                verdict(ratio <= SPEED_TARGET),
            ]
        )
    rows.append(["exhaustive (extrapolated)", "", f"{exh_prefix:.1f}", "", "1/1", ""])
    print(
        f"  On the first {n:,} titles at threshold {DEFAULT_THRESHOLD:g}, median of "
        f"{cfg.runs} run(s) (candidate_pairs uses one core, cdist all). "
        f"Target: <= 1/{1 / SPEED_TARGET:.0f} of exhaustive."
    )
    print(table(["", "pairs", "median s", "runs s", "share", "target"], rows))
    figures["met"] = all(figures[k]["ratio"] <= SPEED_TARGET for k in ("no_window", "window"))
    return figures


# --- 3. size ------------------------------------------------------------------------------------


_ESCAPE = re.compile(r"\\(.)")


def _unescape(text: str) -> str:
    return _ESCAPE.sub(r"\1", text) if "\\" in text else text


def _usable(line: str) -> list[str] | None:
    """The fields of a usable UCI line (as ``read_uci`` decides), or None."""
    line = line.rstrip("\n").rstrip("\r")
    if line.count("\t") != 7:
        return None
    fields = line.split("\t")
    return fields if fields[0].isdigit() and _unescape(fields[1]).strip() else None


def stream_titles(
    limit: int | None,
) -> tuple[list[int], list[str], list[int | None], list[int]]:
    """Row indices, normalised titles, times (us) and IDs of the first ``limit`` UCI titles
    (all when None), read a line at a time, keeping only what deduplication needs (what an
    index's columns hold). Rows are numbered as ``tests.bench.corpora.read_uci`` numbers
    them: usable rows by ID. Two passes: IDs first, then the chosen rows."""
    path = uci_path()
    ids: list[tuple[int, int]] = []  # ID, line number
    with path.open(encoding="utf-8", newline="\n") as fh:
        for number, line in enumerate(fh):
            fields = _usable(line)
            if fields is not None:
                ids.append((int(fields[0]), number))
    ids.sort()
    chosen = ids[:limit] if limit is not None else ids
    row_of = {number: row for row, (_, number) in enumerate(chosen)}
    del ids, chosen
    found: list[tuple[int, int, str, int | None]] = []  # row, ID, norm, time
    with path.open(encoding="utf-8", newline="\n") as fh:
        for number, line in enumerate(fh):
            row = row_of.get(number)
            fields = _usable(line) if row is not None else None
            if row is None or fields is None:
                continue
            ident, title, _, publisher, _, _, host, stamp = fields
            norm = normalize_title(_unescape(title), _unescape(publisher).strip(), _unescape(host))
            ms = int(stamp) if stamp.isdigit() else -1
            if norm:
                found.append((row, int(ident), norm, ms * 1000 if ms >= 0 else None))
    found.sort()
    return (
        [r[0] for r in found],
        [r[2] for r in found],
        [r[3] for r in found],
        [r[1] for r in found],
    )


def size_child(result: Path, limit: int | None) -> int:
    """The size step, run in its own process: read, normalise, dedup, write the result."""
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    items, norms, times, ids = stream_titles(limit)
    loaded = time.perf_counter()
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pairs = candidate_pairs(norms, times, DEFAULT_THRESHOLD, DEFAULT_WINDOW_DAYS)
    paired = time.perf_counter()
    order = sorted(range(len(items)), key=lambda k: (times[k] is None, times[k] or 0, ids[k]))
    clusters = star_clusters(order, pairs)
    clustered = time.perf_counter()
    data = {
        "titles": len(items),
        "load_s": loaded - start,
        "pairs_s": paired - loaded,
        "clusters_s": clustered - paired,
        "rss_start": rss_start * _RSS_UNIT,
        "rss_loaded": rss_loaded * _RSS_UNIT,
        "pairs": [[items[i], items[j], s] for (i, j), s in pairs.items()],
        "clusters": [[items[k] for k, _ in cl] for cl in clusters if len(cl) > 1],
        "cluster_count": len(clusters),
        "vmhwm": own_peak_rss(),
    }
    result.write_text(json.dumps(data), encoding="utf-8")
    return 0


_RSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else KiB


# Runs its arguments as a command, reaps it with os.wait4 and prints its exit status, wall
# time and ru_maxrss. Linux carries a process's peak RSS over exec (and vfork): a subprocess
# of this (large) process would report at least this process's peak, so the size step is
# started by this small launcher and its figure is its own.
_LAUNCHER = """\
import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
proc.returncode = os.waitstatus_to_exitcode(status)
wall = time.perf_counter() - start
print(json.dumps([proc.returncode, wall, usage.ru_maxrss]))
"""


def run_size_child(result: Path, limit: int | None) -> tuple[float, int]:
    """Wall time and peak RSS (bytes) of one size step in a subprocess."""
    argv = [sys.executable, "-m", "tests.bench.dupes_bench", "--size-child", str(result)]
    if limit is not None:
        argv += ["--limit", str(limit)]
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *argv],
        cwd=corpora.REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        status, wall, maxrss = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        status, wall, maxrss = done.returncode or -1, 0.0, 0
    if done.returncode != 0 or status != 0:
        raise RuntimeError(f"the size step failed ({status}): {done.stderr.strip()[-2000:]}")
    return float(wall), int(maxrss) * _RSS_UNIT


def own_peak_rss() -> int | None:
    """This process's own peak RSS (VmHWM, Linux), in bytes; None elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def section_size(b: Bench) -> dict[str, Any]:
    heading("3. Size: every title deduplicated in a subprocess")
    cfg = b.cfg
    result = b.out / "size-step.json"
    walls, peaks, steps, loads = [], [], [], []
    data: dict[str, Any] = {}
    for _ in range(cfg.size_runs):
        wall, peak = run_size_child(result, cfg.size_limit)
        data = json.loads(result.read_text(encoding="utf-8"))
        walls.append(wall)
        peaks.append(peak)
        steps.append(data["pairs_s"] + data["clusters_s"])
        loads.append(data["load_s"])
    # The subprocess numbers rows as the corpus here does: check a few of its pairs.
    for i, j, score in random.Random(cfg.seed).sample(data["pairs"], min(200, len(data["pairs"]))):
        if float(fuzz.ratio(b.corpus.norm(i), b.corpus.norm(j))) != score:
            raise RuntimeError(f"the size step's rows {i}, {j} are not this corpus's")
    b._size_result = data
    wall, step, peak = statistics.median(walls), statistics.median(steps), max(peaks)
    mib = 1024**2

    def runs(values: Sequence[float], unit: float = 1.0, fmt: str = ".1f") -> str:
        return " ".join(f"{v / unit:{fmt}}" for v in values) if len(values) > 1 else ""

    print(
        f"  {data['titles']:,} titles; candidate_pairs(threshold {DEFAULT_THRESHOLD:g}, window "
        f"{DEFAULT_WINDOW_DAYS:g} d) + star_clusters in a subprocess that streams the TSV and "
        f"keeps only normalised titles, times and IDs; {cfg.size_runs} run(s): median times, "
        f"largest peak RSS (ru_maxrss from os.wait4)."
    )
    rows = [
        ["stream + normalise", f"{statistics.median(loads):.1f} s", runs(loads), "", ""],
        ["candidate_pairs + star_clusters", f"{step:.1f} s", runs(steps), "", ""],
        [
            "whole subprocess (wall)",
            f"{wall:.1f} s",
            runs(walls),
            f"< {WALL_TARGET_S / 60:.0f} min",
            verdict(wall < WALL_TARGET_S),
        ],
        ["peak RSS after imports", f"{data['rss_start'] / mib:,.0f} MiB", "", "", ""],
        ["peak RSS after normalising", f"{data['rss_loaded'] / mib:,.0f} MiB", "", "", ""],
        [
            "VmHWM (check, /proc)",
            f"{data['vmhwm'] / mib:,.0f} MiB" if data["vmhwm"] else "-",
            "",
            "",
            "",
        ],
        [
            "peak RSS of the subprocess",
            f"{peak / mib:,.0f} MiB",
            runs(peaks, mib, ",.0f"),
            f"< {RSS_TARGET_BYTES / mib:,.0f} MiB",
            verdict(peak < RSS_TARGET_BYTES),
        ],
    ]
    print(table(["step", "value", "runs", "target", "verdict"], rows))
    print(
        f"  {len(data['pairs']):,} pairs, {data['cluster_count']:,} clusters "
        f"({len(data['clusters']):,} of 2 or more titles); pairs {data['pairs_s']:.1f} s, "
        f"clusters {data['clusters_s']:.1f} s (last run)"
    )
    return {
        "titles": data["titles"],
        "runs": cfg.size_runs,
        "wall_s": wall,
        "step_s": step,
        "load_s": statistics.median(loads),
        "peak_rss": peak,
        "rss_start": data["rss_start"],
        "rss_loaded": data["rss_loaded"],
        "pairs": len(data["pairs"]),
        "met": wall < WALL_TARGET_S and peak < RSS_TARGET_BYTES,
    }


# --- 4. thresholds and the window ---------------------------------------------------------------


def threshold_rows(b: Bench, pairs: Pairs) -> tuple[list[list[str]], dict[str, Any]]:
    rows = []
    figures = {}
    for k, t in enumerate(TABLE_THRESHOLDS):
        upper = TABLE_THRESHOLDS[k + 1] if k + 1 < len(TABLE_THRESHOLDS) else None
        above = band = story = ident = either = band_either = 0
        for (i, j), s in pairs.items():
            if s < t:
                continue
            same = b.same_story(i, j)
            equal = b.corpus.norm(i) == b.corpus.norm(j)
            above += 1
            story += same
            ident += equal
            either += same or equal
            if upper is None or s < upper:
                band += 1
                band_either += same or equal
        figures[f"{t:g}"] = {
            "pairs": above,
            "same_story": story,
            "identical": ident,
            "either": either,
        }
        rows.append(
            [
                f"{t:g}" + (" *" if t == DEFAULT_THRESHOLD else ""),
                f"{above:,}",
                share(story, above),
                share(ident, above),
                share(either, above),
                f"{band:,}",
                share(band_either, band),
            ]
        )
    return rows, figures


def section_thresholds(b: Bench) -> dict[str, Any]:
    n = len(b.prefix_items())
    heading(f"4. Threshold table: first {n:,} titles, candidate_pairs at 80, then filtered")
    headers = [
        "threshold",
        "pairs",
        "same STORY",
        "identical",
        "either",
        "in band",
        "band either",
    ]
    figures: dict[str, Any] = {"titles": n}
    for windowed in (True, False):
        rows, figures["window" if windowed else "no_window"] = threshold_rows(
            b, b.prefix_pairs(windowed)
        )
        what = f"default window ({DEFAULT_WINDOW_DAYS:g} days)" if windowed else "no window"
        print(
            f"  {n:,} titles, {what}. Pairs scoring >= threshold; share sharing a STORY id, "
            f"with identical normalised titles, either; 'band' = [t, next t)."
        )
        print(table(headers, rows))
    print(f"  * the default threshold ({DEFAULT_THRESHOLD:g})")
    return figures


def section_window(b: Bench) -> dict[str, Any]:
    heading("Window: how far apart in time are identical titles?")
    c = b.corpus
    by_norm: dict[str, list[int]] = defaultdict(list)
    for i in b.prefix_items():
        by_norm[c.norm(i)].append(i)
    cross: list[float] = []  # days apart, identical titles under different STORY ids
    within: list[float] = []  # the same, same STORY id (contrast)
    for group in by_norm.values():
        for k, i in enumerate(group):
            for j in group[k + 1 :]:
                ti, tj = c.rows[i].ms, c.rows[j].ms
                if ti < 0 or tj < 0:
                    continue
                days = abs(ti - tj) / _DAY_MS
                (within if b.same_story(i, j) else cross).append(days)
    rows = [
        [
            f"<= {d} d",
            share(sum(x <= d for x in cross), len(cross)),
            share(sum(x <= d for x in within), len(within)),
        ]
        for d in WINDOW_DAYS
    ]
    print(
        f"  Pairs of identical normalised titles among the first {len(b.prefix_items()):,}: "
        f"{len(cross):,} under different STORY ids, {len(within):,} under the same one. "
        f"Share within:"
    )
    print(table(["within", "different STORY", "same STORY"], rows))
    window = DEFAULT_WINDOW_DAYS * _DAY_MS
    kinds = ("same STORY", "identical, other STORY", "neither")
    counts = {"near": Counter[str](), "far": Counter[str]()}
    for (i, j), s in b.prefix_pairs(False).items():
        if s < DEFAULT_THRESHOLD:
            continue
        if b.same_story(i, j):
            kind = kinds[0]
        elif c.norm(i) == c.norm(j):
            kind = kinds[1]
        else:
            kind = kinds[2]
        counts["far" if abs(c.rows[i].ms - c.rows[j].ms) > window else "near"][kind] += 1
    print(
        f"  Pairs >= {DEFAULT_THRESHOLD:g} among the same titles without a window, by time "
        f"apart (the window drops those further apart than {DEFAULT_WINDOW_DAYS:g} days):"
    )
    print(
        table(
            ["time apart", "pairs", *kinds],
            [
                [
                    label,
                    f"{counts[key].total():,}",
                    *(share(counts[key][k], counts[key].total()) for k in kinds),
                ]
                for key, label in (
                    ("near", f"<= {DEFAULT_WINDOW_DAYS:g} d"),
                    ("far", f"> {DEFAULT_WINDOW_DAYS:g} d"),
                )
            ],
        )
    )
    far, far_linked = counts["far"].total(), counts["far"][kinds[0]] + counts["far"][kinds[1]]
    return {
        "different_story_pairs": len(cross),
        "same_story_pairs": len(within),
        "within_days": {
            str(d): (sum(x <= d for x in cross) / len(cross) if cross else None)
            for d in WINDOW_DAYS
        },
        "outside_window": far,
        "outside_window_linked": far_linked,
    }


# --- 5. pairs to judge --------------------------------------------------------------------------


def section_judge(b: Bench) -> dict[str, Any]:
    heading("5. Pairs to judge around the default threshold")
    c, cfg = b.corpus, b.cfg
    pairs = b.prefix_pairs(True)
    d = DEFAULT_THRESHOLD
    bands = (("A", d, d + JUDGE_BAND, "above"), ("B", d - JUDGE_BAND, d, "below"))
    rng = random.Random(cfg.seed + 2)
    n = len(b.prefix_items())
    lines = [
        f"Pairs around the default threshold ({d:g}): the first {n:,} UCI titles, "
        f"candidate_pairs with the default window ({DEFAULT_WINDOW_DAYS:g} days), "
        f"{cfg.judge} random pairs per band (seed {cfg.seed + 2}).",
        "Judge each: the same story (one event, one report) or not?",
        "",
    ]
    figures: dict[str, Any] = {}
    for tag, low, high, name in bands:
        population = sorted(p for p, s in pairs.items() if low <= s < high)
        chosen = rng.sample(population, min(cfg.judge, len(population)))
        same = sum(b.same_story(i, j) for i, j in chosen)
        figures[name] = {"band": [low, high], "pairs": len(population), "same_story": same}
        lines += [
            f"== {tag}: score in [{low:g}, {high:g}) - {len(chosen)} of {len(population):,} "
            f"pairs; {same} share a STORY id ==",
            "",
        ]
        for k, (i, j) in enumerate(chosen, 1):
            ri, rj = c.rows[i], c.rows[j]
            hours = abs(ri.ms - rj.ms) / _HOUR_MS
            when = datetime.fromtimestamp(min(ri.ms, rj.ms) / 1000, UTC).strftime("%Y-%m-%d")
            lines += [
                f"{tag}{k:02d}  score {pairs[(i, j)]:.2f}   same STORY: "
                f"{'yes' if ri.story == rj.story else 'no '}   {hours:.2f} h apart   ({when})",
                f"     1: [{ri.publisher}] {ri.title}",
                f"     2: [{rj.publisher}] {rj.title}",
                "",
            ]
    path = b.out / "pairs-around-threshold.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    print(
        table(
            ["band", "pairs", "sampled", "same STORY"],
            [
                [
                    f"[{v['band'][0]:g}, {v['band'][1]:g})",
                    f"{v['pairs']:,}",
                    f"{min(cfg.judge, v['pairs'])}",
                    f"{v['same_story']}",
                ]
                for v in figures.values()
            ],
        )
    )
    print(f"  written to {path}")
    figures["path"] = str(path)
    return figures


# --- 6. clusters --------------------------------------------------------------------------------


def section_clusters(b: Bench) -> dict[str, Any]:
    heading("6. Cluster sizes: star clusters against connected components")
    data = b._size_result
    if data is None:
        print("  SKIPPED: the size step did not run")
        return {"skipped": "no size step"}
    c = b.corpus
    stars = sorted(data["clusters"], key=lambda g: (-len(g), c.order_key(g[0])))
    comps = components((i, j) for i, j, _ in data["pairs"])
    star_sizes = size_buckets(len(g) for g in stars)
    comp_sizes = size_buckets(len(g) for g in comps)
    print(
        f"  {data['titles']:,} titles, defaults (threshold {DEFAULT_THRESHOLD:g}, window "
        f"{DEFAULT_WINDOW_DAYS:g} d), {len(data['pairs']):,} pairs. Groups of 2 or more titles:"
    )
    print(
        table(
            ["size", "star clusters", "components"],
            [[k, f"{star_sizes[k]:,}", f"{comp_sizes[k]:,}"] for k in star_sizes]
            + [
                [
                    "groups",
                    f"{len(stars):,}",
                    f"{len(comps):,}",
                ],
                [
                    "titles in them",
                    f"{sum(map(len, stars)):,}",
                    f"{sum(map(len, comps)):,}",
                ],
                [
                    "largest",
                    f"{len(stars[0]) if stars else 0:,}",
                    f"{len(comps[0]) if comps else 0:,}",
                ],
            ],
        )
    )
    members = sum(len(g) - 1 for g in stars)
    agree = sum(b.same_story(g[0], i) for g in stars for i in g[1:])
    print(
        f"  Star-cluster members sharing their leader's STORY id: {share(agree, members)} "
        f"of {members:,}"
    )
    figures: dict[str, Any] = {
        "star": star_sizes,
        "components": comp_sizes,
        "largest_star": len(stars[0]) if stars else 0,
        "largest_component": len(comps[0]) if comps else 0,
        "leader_story_share": agree / members if members else None,
    }
    for name, groups in (("star cluster", stars), ("component", comps)):
        if not groups:
            continue
        g = sorted(groups[0], key=c.order_key)
        stories = Counter(c.rows[i].story for i in g)
        print(
            f"  Largest {name}: {len(g)} titles, {len(stories)} STORY ids, "
            f"{len({c.norm(i) for i in g})} distinct normalised titles; 5 of them:"
        )
        for i in g[:: max(1, len(g) // 5)][:5]:
            print(f"    {b.label(i)}")
    return figures


# --- driver -------------------------------------------------------------------------------------


def default_out(quick: bool) -> Path:
    return corpora.cache_dir() / "reports" / ("dupes-quick" if quick else "dupes")


def check_out(out: Path) -> Path:
    out = out.expanduser().resolve()
    if out == corpora.REPO_ROOT or corpora.REPO_ROOT in out.parents:
        raise ValueError(f"--out must be outside the repository, not {out}")
    out.mkdir(parents=True, exist_ok=True)
    return out


def targets(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    out = []
    recall = results.get("recall", {})
    for t, v in recall.get("by_threshold", {}).items():
        out.append((f"recall at {t}", f"{v['recall']:.4f}", f">= {RECALL_TARGET}", v["met"]))
    speed = results.get("speed", {})
    for key, label in (("no_window", "no window"), ("window", "window")):
        if key in speed:
            r = speed[key]["ratio"]
            out.append(
                (
                    f"speed, {label}",
                    f"1/{1 / r:.0f}",
                    f"<= 1/{1 / SPEED_TARGET:.0f}",
                    r <= SPEED_TARGET,
                )
            )
    size = results.get("size", {})
    if "wall_s" in size:
        wall, peak = size["wall_s"], size["peak_rss"]
        out.append(("size, wall", f"{wall:.0f} s", "< 300 s", wall < WALL_TARGET_S))
        out.append(
            ("size, peak RSS", f"{peak / 1024**2:,.0f} MiB", "< 2,048 MiB", peak < RSS_TARGET_BYTES)
        )
    return [(a, b, c, verdict(d)) for a, b, c, d in out]


def run_all(out_dir: Path | None = None, quick: bool = False) -> dict[str, Any]:
    """Every section, printed; returns their figures (also written to ``dupes-bench.json``)."""
    cfg = QUICK if quick else FULL
    out = check_out(out_dir if out_dir is not None else default_out(quick))
    started = time.perf_counter()
    corpus = load_corpus()
    b = Bench(corpus, cfg, out)
    print(
        f"searchidx dupes benchmark{' (quick)' if quick else ''}: {len(corpus):,} UCI rows "
        f"loaded in {time.perf_counter() - started:.1f} s; threshold {DEFAULT_THRESHOLD:g}, "
        f"window {DEFAULT_WINDOW_DAYS:g} d, key tokens {KEY_TOKENS}; output in {out}"
    )
    results: dict[str, Any] = {"quick": quick, "out": str(out)}
    for name, section in (
        ("recall", section_recall),
        ("speed", section_speed),
        ("size", section_size),
        ("thresholds", section_thresholds),
        ("window", section_window),
        ("judge", section_judge),
        ("clusters", section_clusters),
    ):
        results[name] = section(b)
    results["targets"] = targets(results)
    results["skipped"] = [k for k, v in results.items() if isinstance(v, dict) and "skipped" in v]
    results["seconds"] = time.perf_counter() - started
    heading("Targets")
    print(table(["figure", "value", "target", "verdict"], results["targets"]))
    for name in results["skipped"]:
        print(f"  {name}: SKIPPED - {results[name]['skipped']}")
    print(f"  total {results['seconds']:.0f} s")
    (out / "dupes-bench.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.dupes_bench",
        description="Recall, speed, size and thresholds of near-duplicate detection on UCI.",
    )
    parser.add_argument("--out", type=Path, help="folder for the supporting files")
    parser.add_argument("--quick", action="store_true", help="a small smoke-test run")
    parser.add_argument("--size-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.size_child is not None:
        return size_child(args.size_child, args.limit)
    try:
        results = run_all(args.out, args.quick)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    missed = any(t[3] != "MET" for t in results["targets"])
    return 1 if missed or results["skipped"] else 0


if __name__ == "__main__":
    sys.exit(main())
