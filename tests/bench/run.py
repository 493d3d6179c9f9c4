"""The benchmark: every figure and ratio, measured in one run, printed as a table.

    python -m tests.bench                 # 10k and 100k UCI articles, 3 runs a figure
    python -m tests.bench --full          # also the 400k build, the duplicate and stories benchmarks
    python -m tests.bench --stories       # the stories benchmark alone (tests.bench.stories_bench)
    python -m tests.bench --quick         # a small smoke run
    python -m tests.bench --shape seed    # one corpus shape only (default: both)
    python -m tests.bench --keep          # keep the indexes built, for a closer look

Two corpus shapes: ``uci`` (the first UCI rows by ID, whose related entries are nearly all
articles of the corpus) and ``seed`` (rows sampled from the whole file, each listing other
publishers' coverage of its story that is mostly not in the corpus, as in the seed files:
3 to 6 items per article).

Corpora are built by ``tests.bench.corpora`` into a cache outside the repository. Each
step runs as its own process; a figure is the median of several runs with their min and
max, its peak memory that of the largest single process of the step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench import corpora

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
CLI = [PY, "-m", "searchidx"]


@dataclass
class Figure:
    name: str
    values: list[float]
    unit: str
    target: str = ""
    ok: bool | None = None
    rss_mb: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.values)


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, fig: Figure) -> Figure:
        self.figures.append(fig)
        print(f"  {fig.name}: {fig.median:.4g} {fig.unit}", flush=True)
        return fig

    def print(self) -> None:
        width = max(len(f.name) for f in self.figures)
        print()
        print(
            f"{'figure':<{width}}  {'median':>10}  {'min':>10}  {'max':>10}  unit       "
            f"{'peak RSS':>9}  target"
        )
        for f in self.figures:
            lo, hi = min(f.values), max(f.values)
            rss = f"{f.rss_mb:.0f} MB" if f.rss_mb is not None else ""
            status = "" if f.ok is None else ("met" if f.ok else "MISSED")
            print(
                f"{f.name:<{width}}  {f.median:>10.4g}  {lo:>10.4g}  {hi:>10.4g}  "
                f"{f.unit:<9}  {rss:>9}  {f.target} {status}".rstrip()
            )
        for note in self.notes:
            print(f"note: {note}")


@dataclass
class Timed:
    """One finished command: wall seconds, CPU seconds of its whole process tree (user +
    system, the waited-for children included), the largest single process's peak RSS
    in MB, and its standard output."""

    seconds: float
    cpu: float
    rss_mb: float
    out: str


def run_timed(cmd: list[str], cwd: Path = ROOT) -> Timed:
    """Run a command and measure it (see :class:`Timed`)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({proc.returncode}): {err.read().decode()[-2000:]}"
            )
        return Timed(
            seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read().decode()
        )


def timed(cmd: list[str], cwd: Path = ROOT) -> tuple[float, float, str]:
    """Run a command; return its wall seconds, its peak RSS in MB (the largest single
    process of its tree, from wait4) and its standard output."""
    t = run_timed(cmd, cwd)
    return t.seconds, t.rss_mb, t.out


def run_step(cmd: list[str]) -> tuple[float, float, dict[str, Any]]:
    seconds, rss, out = timed(cmd)
    return seconds, rss, json.loads(out.strip().splitlines()[-1])


def repeat(
    runs: int, fn: Callable[..., tuple[float, float]], *args: Any
) -> tuple[list[float], float]:
    """Call ``fn(*args)`` ``runs`` times; return its values and the largest peak RSS."""
    values, peak = [], 0.0
    for _ in range(runs):
        value, rss = fn(*args)
        values.append(value)
        peak = max(peak, rss)
    return values, peak


def _wall(cmd: list[str]) -> tuple[float, float]:
    seconds, rss, _ = timed(cmd)
    return seconds, rss


def _build(
    index: Path, corpus: Path, files: int, items: list[int], cpu: list[float]
) -> tuple[float, float]:
    shutil.rmtree(index, ignore_errors=True)
    t = run_timed([*CLI, "--index", str(index), "index", str(corpus)])
    match = re.search(r"\((\d+) items? from", t.out)
    assert match is not None, t.out
    items.append(int(match.group(1)))
    cpu.append(t.cpu / t.seconds)
    return files / t.seconds, t.rss_mb


def disk_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


#: The corpus shapes: today's UCI folders (the first rows by ID; nearly every related
#: entry is another article of the corpus) and the seed files' shape (rows sampled from
#: the whole file; most related entries are no article of the corpus).
SHAPES = {"uci": ("uci", ""), "seed": ("uci-seed", "seed ")}


def bench(sizes: list[int], runs: int, full: bool, work: Path, shapes: list[str]) -> Report:
    report = Report()
    jobs = os.cpu_count() or 1
    print(f"machine: {platform.platform()}, {jobs} CPUs, Python {platform.python_version()}")
    print(f"runs per figure: {runs}; work folder: {work}")
    # As installed: pip compiles a package's modules, and a process that has to compile
    # them itself (an editable install with bytecode writing off) spends about 25 ms of
    # every search doing so.
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "searchidx")], check=True)

    # --- start-up --------------------------------------------------------------------------
    click_vals, _ = repeat(runs * 3, _wall, [PY, "-c", "import click"])
    report.add(Figure("python -c 'import click'", click_vals, "s"))
    for args in (["--version"], ["--help"]):
        vals, rss = repeat(runs * 3, _wall, [*CLI, *args])
        ratio = statistics.median(vals) / statistics.median(click_vals)
        report.add(
            Figure(
                f"searchidx {args[0]} / import click",
                [v / statistics.median(click_vals) for v in vals],
                "ratio",
                "<= 1.5",
                ratio <= 1.5,
                rss,
            )
        )
    for shape in shapes:
        found = builds(report, shape, sizes, runs, full, work, jobs)
        if found is not None:
            index_figures(report, shape, *found, runs)
    return report


def builds(
    report: Report, shape: str, sizes: list[int], runs: int, full: bool, work: Path, jobs: int
) -> tuple[Path, Path, str] | None:
    """Build figures of one corpus shape; return the largest index (not the whole file),
    its corpus and its label."""
    kind, prefix = SHAPES[shape]
    big: tuple[Path, Path, str] | None = None
    if full:
        sizes = [*sizes, 422_937]
    for size in sizes:
        # Built in a process of its own: Linux carries a process's peak memory across
        # exec, so the harness stays small to keep the steps' figures their own.
        corpus_src = Path(
            timed([PY, "-m", "tests.bench.corpora", kind, "--size", str(size)])[2].splitlines()[0]
        )
        corpus = work / f"{kind}-{size}"
        if not corpus.exists():
            shutil.copytree(corpus_src, corpus)
        files = sum(1 for _ in corpus.rglob("*.md"))
        label = f"{prefix}{size // 1000}k"

        # --- cold build ------------------------------------------------------------------
        index = work / f"index-{kind}-{size}"
        build_runs = 1 if size >= 400_000 else runs

        counts: list[int] = []
        busy: list[float] = []
        # The engine floor runs after each build, so that a build and its floor meet the
        # machine in the same state: this machine's speed drifts by 10% within minutes,
        # and a ratio of medians measured minutes apart moved with it.
        engine_cpu: list[float] = []
        engine_vals: list[float] = []
        rates: list[float] = []
        rss = engine_rss = 0.0
        for _ in range(build_runs):
            rate, build_rss = _build(index, corpus, files, counts, busy)
            rates.append(rate)
            rss = max(rss, build_rss)
            if size < 400_000:
                engine, step_rss = _engine(corpus, jobs, engine_cpu)
                engine_vals.append(engine)
                engine_rss = max(engine_rss, step_rss)
        target = ">= 1000" if size == 100_000 else ("< 600 s" if size >= 400_000 else "")
        report.add(
            Figure(
                f"build {label}: articles/s",
                rates,
                "art/s",
                target,
                (statistics.median(rates) >= 1000)
                if size == 100_000
                else (files / statistics.median(rates) < 600 if size >= 400_000 else None),
                rss,
            )
        )
        items = counts[-1]
        report.add(Figure(f"items per article {label} ({items} items)", [items / files], "items"))
        # Both cores busy throughout reads 2.0 (on a machine doing nothing else); a stage
        # where one core works while the other waits pulls it towards 1.0.
        report.add(Figure(f"build {label}: cores busy (CPU / wall)", busy, "cores"))
        per_article = items / files
        report.add(
            Figure(
                f"build {label}: CPU per item (all processes)",
                [1000 * b / (r * per_article) for b, r in zip(busy, rates, strict=True)],
                "ms",
            )
        )
        if size >= 400_000:
            report.add(
                Figure(
                    f"build {label}: seconds",
                    [files / r for r in rates],
                    "s",
                    "< 600",
                    files / statistics.median(rates) < 600,
                    rss,
                )
            )
            report.add(Figure(f"build {label}: peak RSS", [rss], "MB", "< 1024", rss < 1024))
        report.add(Figure(f"index {label}: size on disk", [disk_size(index) / 2**20], "MiB"))
        report.add(Figure(f"index {label}: segments", [_segments(index)], "segments"))

        if size >= 400_000:
            shutil.rmtree(index, ignore_errors=True)
            continue
        # --- floors ----------------------------------------------------------------------
        parse_vals, parse_rss = repeat(
            runs, _parse, [PY, "-m", "tests.bench.steps", "parse", str(corpus), "--jobs", str(jobs)]
        )
        report.add(
            Figure(
                f"parse floor {label}: files/s ({jobs} procs)",
                parse_vals,
                "files/s",
                rss_mb=parse_rss,
            )
        )
        ratio = statistics.median(rates) / statistics.median(parse_vals)
        report.add(Figure(f"build/parse floor {label}", [ratio], "ratio"))
        report.add(
            Figure(f"engine floor {label}: items/s", engine_vals, "items/s", rss_mb=engine_rss)
        )
        report.add(
            Figure(
                f"engine floor {label}: CPU per item",
                [1000 * c for c in engine_cpu],
                "ms",
            )
        )
        # What the writer alone allows: every core writing, nothing else done.
        ceiling = [jobs / (c * per_article) for c in engine_cpu]
        report.add(
            Figure(
                f"engine ceiling {label}: articles/s ({jobs} cores on the writer alone)",
                ceiling,
                "art/s",
            )
        )
        # What a build spends beyond the writer's own work (reading and parsing the
        # files, making the documents and the related items): each build's CPU against
        # that of the floor run after it. The ratio below falls when the writer gets
        # faster and this does not; this figure does not move with the writer's speed.
        report.add(
            Figure(
                f"build {label}: CPU outside the writer, per article",
                [
                    1000 * (b / r - c * per_article)
                    for b, r, c in zip(busy, rates, engine_cpu, strict=True)
                ],
                "ms",
            )
        )
        # Both as items per second: each build's time against that of the engine floor
        # run right after it, for the same items.
        ratios = [
            rate * (items / files) / engine for rate, engine in zip(rates, engine_vals, strict=True)
        ]
        ratio = statistics.median(ratios)
        report.add(
            Figure(
                f"build/engine floor {label} (each build against the floor run after it)",
                ratios,
                "ratio",
                ">= 0.7" if size == 100_000 else "",
                ratio >= 0.7 if size == 100_000 else None,
            )
        )
        big = (index, corpus, label)
    return big


def _segments(index: Path) -> int:
    from whoosh import index as windex

    from searchidx.store import IndexDir

    ix = windex.open_dir(IndexDir(str(index)).data_dir())
    return len(ix._segments())


def index_figures(
    report: Report, shape: str, index: Path, corpus: Path, label: str, runs: int
) -> None:
    """Update, query and end-to-end figures on one built index."""
    idx = str(index)

    # --- incremental ---------------------------------------------------------------------
    mds = sorted(corpus.rglob("*.md"))

    def change(paths: list[Path], n: int) -> None:
        for p in paths:
            text = p.read_text(encoding="utf-8")
            p.write_text(text.replace('title: "', f'title: "Changed {n} ', 1), encoding="utf-8")

    for count in (1, 1000) if shape == "uci" else (1,):
        vals: list[float] = []
        peak = 0.0
        for n in range(runs):
            chosen = mds[n * count : (n + 1) * count]
            change(chosen, n)
            seconds, rss, out = timed([*CLI, "--index", idx, "index", str(corpus)])
            assert f"updated {count}," in out, out
            vals.append(seconds)
            peak = max(peak, rss)
        target = "< 1.5 s" if count == 1 else ""
        report.add(
            Figure(
                f"incremental {label}: {count} changed file(s)",
                vals,
                "s",
                target,
                statistics.median(vals) < 1.5 if count == 1 else None,
                peak,
            )
        )

    # --- queries ---------------------------------------------------------------------------
    vals, rss = repeat(runs, _first, idx)
    report.add(
        Figure(
            f"first query in a fresh process (open + query, {label})",
            [v * 1000 for v in vals],
            "ms",
            "<= 100",
            statistics.median(vals) <= 0.100,
            rss,
        )
    )
    seconds, rss, q = run_step(
        [PY, "-m", "tests.bench.steps", "queries", idx, "--rounds", str(runs)]
    )
    mix = q["with_similar"]
    report.add(
        Figure(
            f"query p50 ({q['queries']} queries, {label})",
            [mix["p50"] * 1000],
            "ms",
            "<= 10",
            mix["p50"] <= 0.010,
            rss,
        )
    )
    report.add(
        Figure(
            f"query p95 ({q['queries']} queries, {label})",
            [mix["p95"] * 1000],
            "ms",
            "<= 50",
            mix["p95"] <= 0.050,
            rss,
        )
    )
    bare = q["without_similar"]
    report.add(Figure(f"query p50 without +N similar ({label})", [bare["p50"] * 1000], "ms"))
    report.add(Figure(f"query p95 without +N similar ({label})", [bare["p95"] * 1000], "ms"))
    # The mix with no title words' rows kept between queries (as a process's first query
    # finds them), and ranked by Whoosh's collectors (the baseline), in the same run.
    variants = [("words_not_kept", "no title words' rows kept from earlier queries")]
    variants.append(("whoosh_ranking", "ranked by Whoosh's collectors, baseline"))
    for key, what in variants:
        for p in ("p50", "p95"):
            report.add(Figure(f"query {p}, {what} ({label})", [q[key][p] * 1000], "ms"))
            if key == "whoosh_ranking":
                ratio = mix[p] / q[key][p]
                report.add(Figure(f"  ratio of query {p} to the baseline ({label})", [ratio], "x"))
    for kind, value in sorted(mix["by_kind"].items()):
        report.add(Figure(f"  median {kind} query ({label})", [value * 1000], "ms"))
    report.add(
        Figure(
            f"facets provider, all items ({label})",
            [q["facet_provider_all"] * 1000],
            "ms",
            "< 300",
            q["facet_provider_all"] < 0.3,
        )
    )
    report.add(
        Figure(
            f"facets provider, 2-word query ({label})",
            [q["facet_provider_query"] * 1000],
            "ms",
            "< 300",
            q["facet_provider_query"] < 0.3,
        )
    )

    # --- end to end ------------------------------------------------------------------------
    for name, args, target, limit in (
        ("searchidx search WORD", ["search", "apple"], "<= 0.25 s", 0.25),
        ("searchidx facets provider", ["facets", "provider"], "", None),
        ("searchidx dupes", ["dupes", "--limit", "5"], "seconds", None),
    ):
        vals, rss = repeat(runs, _wall, [*CLI, "--index", idx, *args])
        report.add(
            Figure(
                f"{name} ({label}, end to end)",
                vals,
                "s",
                target,
                statistics.median(vals) <= limit if limit else None,
                rss,
            )
        )
    # --- completion: a shell runs searchidx on every TAB ---------------------------------------
    words = f"searchidx --index {idx} search --provider reu"
    completing = ["env", "_SEARCHIDX_COMPLETE=bash_complete", f"COMP_WORDS={words}", "COMP_CWORD=5"]
    for name, cmd, target, limit in (
        ("searchidx --version (start-up, the floor)", [*CLI, "--version"], "", None),
        (f"complete --provider reu<TAB> ({label})", [*completing, *CLI], "< 0.3 s", 0.3),
    ):
        vals, rss = repeat(runs, _wall, cmd)
        report.add(
            Figure(name, vals, "s", target, statistics.median(vals) < limit if limit else None, rss)
        )

    if shape != "uci":
        return

    seconds, rss, lk = run_step([PY, "-m", "tests.bench.steps", "lookup", idx])
    report.add(
        Figure(
            f"+N similar lookup: share of near-duplicates found ({lk['items']} sampled items)",
            [lk["found"] / max(1, lk["pairs"])],
            "ratio",
            rss_mb=rss,
        )
    )
    report.add(Figure("+N similar lookup: time per item", [lk["seconds_per_item"] * 1000], "ms"))
    report.notes.append(
        f"+N similar: {lk['found']} of {lk['pairs']} near-duplicate pairs of the sampled items "
        f"found (comparing each with every item is the reference), {lk['extra']} extra"
    )

    # --- SQLite FTS5 -----------------------------------------------------------------------
    seconds, rss, f = run_step(
        [PY, "-m", "tests.bench.steps", "fts5", str(corpus), "--rounds", str(runs)]
    )
    report.add(
        Figure(
            f"FTS5 build ({label}, same items): items/s",
            [f["items"] / f["build_seconds"]],
            "items/s",
            rss_mb=rss,
        )
    )
    engine = next(x for x in report.figures if x.name.startswith(f"engine floor {label}"))
    report.add(
        Figure(
            "engine floor / FTS5 build",
            [engine.median / (f["items"] / f["build_seconds"])],
            "ratio",
        )
    )
    report.add(Figure(f"FTS5 query p50 ({f['queries']} queries)", [f["p50"] * 1000], "ms"))
    report.add(Figure(f"FTS5 query p95 ({f['queries']} queries)", [f["p95"] * 1000], "ms"))
    report.add(
        Figure("query p50 / FTS5 p50 (searchidx, no +N similar)", [bare["p50"] / f["p50"]], "ratio")
    )
    report.notes.append(
        "FTS5 runs the query mix without fuzzy terms and facets (it has neither); "
        "its build inserts pre-built rows, so compare it with the engine floor"
    )


def _first(index: str) -> tuple[float, float]:
    _, rss, out = run_step([PY, "-m", "tests.bench.steps", "first", index])
    return out["seconds"], rss


def _parse(cmd: list[str]) -> tuple[float, float]:
    _, rss, out = run_step(cmd)
    return out["files"] / out["seconds"], rss


def _engine(corpus: Path, jobs: int, cpu: list[float]) -> tuple[float, float]:
    _, rss, out = run_step(
        [PY, "-m", "tests.bench.steps", "engine", str(corpus), "--jobs", str(jobs)]
    )
    cpu.append(out["cpu"] / out["items"])
    return out["items"] / out["seconds"], rss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument(
        "--full", action="store_true", help="also 400k, the duplicate and stories benchmarks"
    )
    parser.add_argument(
        "--stories",
        action="store_true",
        help="only the stories benchmark: quality against UCI STORY ids beside the baseline, "
        "the guard, every headline grouped (time, peak memory), the command on 100k",
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(n) for n in text.split(",")],
        help="corpus sizes, comma-separated (default 10000,100000)",
    )
    parser.add_argument(
        "--shape",
        choices=["both", *SHAPES],
        default="both",
        help="corpus shape: today's UCI folders, the seed files' shape, or both (default)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the work folder (corpora copies and indexes) and print its path",
    )
    args = parser.parse_args(argv)
    if corpora.shared_dir() is None:
        print("the benchmark needs ../shared/corpora next to the repository", file=sys.stderr)
        return 2
    if args.stories:
        from tests.bench import stories_bench

        return stories_bench.main(["--quick"] if args.quick else [])
    sizes = [2_000, 10_000] if args.quick else (args.sizes or [10_000, 100_000])
    runs = 1 if args.quick else args.runs
    work = Path(tempfile.mkdtemp(prefix="searchidx-bench-"))
    try:
        shapes = list(SHAPES) if args.shape == "both" else [args.shape]
        report = bench(sizes, runs, args.full and not args.quick, work, shapes)
        report.print()
        if args.full or args.quick:
            from tests.bench import dupes_bench

            print("\n--- duplicate stories ---")
            dupes_bench.main(["--quick"] if args.quick else [])
            from tests.bench import stories_bench

            print("\n--- stories ---")
            stories_bench.main(["--quick"] if args.quick else [])
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
