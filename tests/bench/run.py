"""The benchmark: every figure and ratio, measured in one run, printed as a table.

    python -m tests.bench                 # 10k and 100k UCI articles, 3 runs a figure
    python -m tests.bench --full          # also the 400k build and the duplicate benchmark
    python -m tests.bench --quick         # a small smoke run

Corpora are built by ``tests.bench.corpora`` into a cache outside the repository. Each
step runs as its own process; a figure is the median of several runs with their min and
max, its peak memory that of the largest single process of the step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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


def timed(cmd: list[str], cwd: Path = ROOT) -> tuple[float, float, str]:
    """Run a command; return its wall seconds, its peak RSS in MB (the largest single
    process of its tree, from wait4) and its standard output."""
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
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


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


def _build(index: Path, corpus: Path, files: int) -> tuple[float, float]:
    shutil.rmtree(index, ignore_errors=True)
    seconds, rss, _ = timed([*CLI, "--index", str(index), "index", str(corpus)])
    return files / seconds, rss


def disk_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bench(sizes: list[int], runs: int, full: bool, work: Path) -> Report:
    report = Report()
    jobs = os.cpu_count() or 1
    print(f"machine: {platform.platform()}, {jobs} CPUs, Python {platform.python_version()}")
    print(f"runs per figure: {runs}; work folder: {work}")

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

    big_index: Path | None = None
    big_corpus: Path | None = None
    big_label = ""
    if full:
        sizes = [*sizes, 422_937]
    for size in sizes:
        # Built in a process of its own: Linux carries a process's peak memory across
        # exec, so the harness stays small to keep the steps' figures their own.
        corpus_src = Path(
            timed([PY, "-m", "tests.bench.corpora", "uci", "--size", str(size)])[2].splitlines()[0]
        )
        corpus = work / f"uci-{size}"
        if not corpus.exists():
            shutil.copytree(corpus_src, corpus)
        files = sum(1 for _ in corpus.rglob("*.md"))
        label = f"{size // 1000}k"

        # --- cold build ------------------------------------------------------------------
        index = work / f"index-{size}"
        build_runs = 1 if size >= 400_000 else runs

        rates, rss = repeat(build_runs, _build, index, corpus, files)
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
            report.add(Figure(f"build {label}: peak RSS", [rss], "MB", "< 1536", rss < 1536))
        report.add(Figure(f"index {label}: size on disk", [disk_size(index) / 2**20], "MiB"))

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
        engine_vals, engine_rss = repeat(runs, _engine, corpus, jobs)
        report.add(
            Figure(f"engine floor {label}: items/s", engine_vals, "items/s", rss_mb=engine_rss)
        )
        ratio = statistics.median(rates) / statistics.median(engine_vals)
        report.add(
            Figure(
                f"build/engine floor {label}",
                [ratio],
                "ratio",
                ">= 0.6" if size == 100_000 else "",
                ratio >= 0.6 if size == 100_000 else None,
            )
        )
        big_index, big_corpus, big_label = index, corpus, label

    if big_index is None or big_corpus is None:
        return report
    label = big_label
    idx = str(big_index)

    # --- incremental ---------------------------------------------------------------------
    mds = sorted(big_corpus.rglob("*.md"))

    def change(paths: list[Path], n: int) -> None:
        for p in paths:
            text = p.read_text(encoding="utf-8")
            p.write_text(text.replace('title: "', f'title: "Changed {n} ', 1), encoding="utf-8")

    for count in (1, 1000):
        vals: list[float] = []
        peak = 0.0
        for n in range(runs):
            chosen = mds[n * count : (n + 1) * count]
            change(chosen, n)
            seconds, rss, out = timed([*CLI, "--index", idx, "index", str(big_corpus)])
            assert f"updated {count}," in out, out
            vals.append(seconds)
            peak = max(peak, rss)
        target = "< 2 s" if count == 1 else ""
        report.add(
            Figure(
                f"incremental {label}: {count} changed file(s)",
                vals,
                "s",
                target,
                statistics.median(vals) < 2 if count == 1 else None,
                peak,
            )
        )

    # --- queries ---------------------------------------------------------------------------
    seconds, rss, q = run_step(
        [PY, "-m", "tests.bench.steps", "queries", idx, "--rounds", str(runs)]
    )
    mix = q["with_similar"]
    report.add(
        Figure(
            f"query p50 ({q['queries']} queries, {label})",
            [mix["p50"] * 1000],
            "ms",
            "<= 20",
            mix["p50"] <= 0.020,
            rss,
        )
    )
    report.add(
        Figure(
            f"query p95 ({q['queries']} queries, {label})",
            [mix["p95"] * 1000],
            "ms",
            "<= 80",
            mix["p95"] <= 0.080,
            rss,
        )
    )
    bare = q["without_similar"]
    report.add(Figure("query p50 without +N similar", [bare["p50"] * 1000], "ms"))
    report.add(Figure("query p95 without +N similar", [bare["p95"] * 1000], "ms"))
    for kind, value in sorted(mix["by_kind"].items()):
        report.add(Figure(f"  median {kind} query", [value * 1000], "ms"))
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

    # --- end to end ------------------------------------------------------------------------
    for name, args, target, limit in (
        ("searchidx search WORD", ["search", "apple"], "<= 0.35 s", 0.35),
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

    # --- SQLite FTS5 -----------------------------------------------------------------------
    seconds, rss, f = run_step(
        [PY, "-m", "tests.bench.steps", "fts5", str(big_corpus), "--rounds", str(runs)]
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
    return report


def _parse(cmd: list[str]) -> tuple[float, float]:
    _, rss, out = run_step(cmd)
    return out["files"] / out["seconds"], rss


def _engine(corpus: Path, jobs: int) -> tuple[float, float]:
    _, rss, out = run_step(
        [PY, "-m", "tests.bench.steps", "engine", str(corpus), "--jobs", str(jobs)]
    )
    return out["items"] / out["seconds"], rss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--full", action="store_true", help="also 400k and the duplicate benchmark")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    args = parser.parse_args(argv)
    if corpora.shared_dir() is None:
        print("the benchmark needs ../shared/corpora next to the repository", file=sys.stderr)
        return 2
    sizes = [2_000, 10_000] if args.quick else [10_000, 100_000]
    runs = 1 if args.quick else args.runs
    work = Path(tempfile.mkdtemp(prefix="searchidx-bench-"))
    try:
        report = bench(sizes, runs, args.full and not args.quick, work)
        report.print()
        if args.full or args.quick:
            from tests.bench import dupes_bench

            print("\n--- duplicate stories ---")
            dupes_bench.main(["--quick"] if args.quick else [])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
