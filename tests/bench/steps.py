"""Benchmark steps, each run as its own process by ``tests.bench.run`` so that its peak
memory is its own. Each prints one JSON object of figures on its last line.

    python -m tests.bench.steps parse CORPUS --jobs N
    python -m tests.bench.steps engine CORPUS --jobs N
    python -m tests.bench.steps queries INDEX --rounds R
    python -m tests.bench.steps first INDEX
    python -m tests.bench.steps fts5 CORPUS --rounds R
    python -m tests.bench.steps lookup INDEX --rounds R
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import pickle
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from searchidx.documents import iter_article_files, parse_file, read_file
from searchidx.indexing import BIG_BUILD, load_file, merged_related
from searchidx.query import Filters, parse_date_option
from searchidx.searching import search
from searchidx.whooshdb.writing import BIG_WRITER, WRITER, BatchWriter, document, write_batch

# A fixed mix of queries over UCI headlines (March-August 2014): single words, AND,
# phrases, fuzzy terms, provider and date filters, sorting by date, and facets.
QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    ("word", "apple", {}),
    ("word", "google", {}),
    ("word", "ebola", {}),
    ("word", "bitcoin", {}),
    ("word", "ukraine", {}),
    ("word", "fed", {}),
    ("word", "samsung", {}),
    ("word", "oscars", {}),
    ("word", "recall", {}),
    ("word", "earnings", {}),
    ("and", "apple iphone", {}),
    ("and", "gm recall ignition", {}),
    ("and", "fed interest rates", {}),
    ("and", "malaysia airlines plane", {}),
    ("and", "stocks dow record", {}),
    ("and", "microsoft windows xp", {}),
    ("phrase", '"climate change"', {}),
    ("phrase", '"world cup"', {}),
    ("phrase", '"game of thrones"', {}),
    ("phrase", '"net neutrality"', {}),
    ("fuzzy", "samsnug~", {}),
    ("fuzzy", "micrsoft~ office", {}),
    ("fuzzy", "ebloa~", {}),
    ("provider", "apple", {"providers": ("Reuters",)}),
    ("provider", "recall", {"providers": ("Los Angeles Times", "USA TODAY")}),
    ("provider", "stocks", {"providers": ("Forbes",)}),
    ("date", "ukraine", {"since": "2014-03-15", "until": "2014-03-31"}),
    ("date", "earnings", {"since": "2014-04"}),
    ("sort", "google", {"sort": "newest"}),
    ("sort", "apple iphone", {"sort": "oldest"}),
    ("facet", "", {"facet": "provider"}),
    ("facet", "apple iphone", {"facet": "provider"}),
]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def _load(task: tuple[str, str | None, float]) -> int:
    try:
        data, _ = read_file(task[0])
    except Exception:
        return 0
    articles, _ = parse_file(task[0], data)
    return len(articles)


def step_parse(corpus: str, jobs: int) -> dict[str, Any]:
    """The parse floor: read and parse the files (same loader, same processes)."""
    paths = sorted(os.path.abspath(p) for p in iter_article_files([corpus]))
    tasks = [(p, None, 0.0) for p in paths]
    started = time.perf_counter()
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            articles = sum(pool.imap(_load, tasks, chunksize=16))
    else:
        articles = sum(map(_load, tasks))
    seconds = time.perf_counter() - started
    return {"files": len(paths), "articles": articles, "seconds": seconds}


def _prebuilt(corpus: str) -> list[dict[str, Any]]:
    """The Whoosh field dicts of every item of a corpus, made once and cached under a
    digest of the code that makes them (so a changed schema is not measured stale)."""
    import hashlib

    import searchidx
    from tests.bench.corpora import cache_dir

    package = Path(searchidx.__file__).parent
    code = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):  # the whole package: it moves between modules
        code.update(path.read_bytes())
    cache = cache_dir() / "prebuilt" / f"{Path(corpus).name}-{code.hexdigest()[:12]}.pickle"
    if cache.exists():
        with open(cache, "rb") as fh:
            docs: list[dict[str, Any]] = pickle.load(fh)
        return docs
    docs, seen = [], set()
    citations: dict[str, list[tuple[str, Any]]] = {}
    for path in sorted(os.path.abspath(p) for p in iter_article_files([corpus])):
        for doc in load_file((path, None, 90.0)).docs:
            for line in doc.related_lines:
                item, citing, entry = json.loads(line)
                citations.setdefault(item, []).append((citing, entry))
            if doc.id not in seen:
                seen.add(doc.id)
                docs.append(doc.whoosh())
    for item, cites in citations.items():
        if item not in seen:
            docs.append(document(merged_related(item, cites)))
    cache.parent.mkdir(parents=True, exist_ok=True)
    for old in cache.parent.glob(f"{Path(corpus).name}-*.pickle"):
        old.unlink()
    with open(cache, "wb") as fh:
        pickle.dump(docs, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return docs


def step_engine(corpus: str, jobs: int) -> dict[str, Any]:
    """The engine floor: the Whoosh writer alone, with the same schema and writer
    settings as a build, adding pre-built field dicts. In a big build the documents
    reach the sub-writers as batch files, written before the clock starts, so that the
    timed part is the sub-writers' alone, as in a build whose parsing processes write
    the batches (this process handing every document to the writer itself was a
    serial stage of its own, and the floor then read slower than the build)."""
    from whoosh import index as windex

    from searchidx.store import IndexDir
    from searchidx.whooshdb.storage import create

    docs = _prebuilt(corpus)
    items = len(docs)
    folder = tempfile.mkdtemp(prefix="searchidx-engine-")
    try:
        ix = windex.open_dir(IndexDir(folder).new_data_dir({}, create))
        if jobs > 1 and items >= BIG_BUILD:
            writer: Any = BatchWriter(ix, procs=jobs, **BIG_WRITER)
            batches = _batch_files(writer.temp_storage().folder, docs)
            del docs
            cpu_before = _cpu()
            started = time.perf_counter()
            for name, count in batches:
                writer.add_batch(name, count)
            writer.commit(mergetype=None)
        else:
            writer = ix.writer(**WRITER)
            cpu_before = _cpu()
            started = time.perf_counter()
            for fields in docs:
                writer.add_document(**fields)
            writer.commit()
        seconds = time.perf_counter() - started
        cpu = _cpu() - cpu_before
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"items": items, "seconds": seconds, "cpu": cpu}


def _batch_files(
    folder: str, docs: list[dict[str, Any]], size: int = 1000
) -> list[tuple[str, int]]:
    """Write documents to batch files in ``folder`` the way a build's parsing processes
    do; return their names and sizes."""
    batches = []
    for number, start in enumerate(range(0, len(docs), size)):
        name = f"floor-{number}.doclist"
        count = write_batch(os.path.join(folder, name), docs[start : start + size])
        batches.append((name, count))
    return batches


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the writer's
    sub-writers end with its commit)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def step_queries(index: str, rounds: int) -> dict[str, Any]:
    """In-process latency of the query mix, after one warm-up round."""
    from searchidx.facets import facet_counts

    def run(kind: str, text: str, opts: dict[str, Any], similar: bool) -> None:
        if kind == "facet":
            facet_counts(index, opts["facet"], text or None)
            return
        filters = Filters(
            providers=opts.get("providers", ()),
            since=parse_date_option(opts["since"]) if "since" in opts else None,
            until=parse_date_option(opts["until"], True) if "until" in opts else None,
        )
        search(index, text, filters, sort=opts.get("sort", "relevance"), similar=similar)

    from searchidx.engine import index_at
    from searchidx.whooshdb import ranking

    def forget_words() -> None:
        """Drop the title words' rows the snapshot keeps between pages, so that a query
        finds none of an earlier one's (as the first query of a process)."""
        snap = index_at(index).snapshot()
        for name in ("_word_rows", "_word_counts"):
            getattr(snap, name).clear()
        snap._word_rows_size = 0  # type: ignore[attr-defined]

    out: dict[str, Any] = {"queries": len(QUERIES)}
    variants = [("with_similar", True, True, False), ("without_similar", False, True, False)]
    variants.append(("words_not_kept", True, True, True))
    variants.append(("whoosh_ranking", True, False, False))  # ranked by Whoosh's collectors
    for key, similar, in_bulk, forget in variants:
        ranking.IN_BULK = in_bulk
        times: list[float] = []
        by_kind: dict[str, list[float]] = {}
        for round_no in range(rounds + 1):
            for kind, text, opts in QUERIES:
                if forget:
                    forget_words()
                started = time.perf_counter()
                run(kind, text, opts, similar)
                elapsed = time.perf_counter() - started
                if round_no:  # round 0 warms up
                    times.append(elapsed)
                    by_kind.setdefault(kind, []).append(elapsed)
        ranking.IN_BULK = True
        out[key] = {
            "p50": _percentile(times, 0.5),
            "p95": _percentile(times, 0.95),
            "by_kind": {k: statistics.median(v) for k, v in by_kind.items()},
        }
    facet_all = [_time(lambda: facet_counts(index, "provider")) for _ in range(rounds)]
    facet_q = [
        _time(lambda: facet_counts(index, "provider", "apple iphone")) for _ in range(rounds)
    ]
    out["facet_provider_all"] = statistics.median(facet_all)
    out["facet_provider_query"] = statistics.median(facet_q)
    return out


def step_first(index: str) -> dict[str, Any]:
    """The first query of a fresh process: opening the index and running one word query
    with "+N similar" (the modules are imported before the clock starts)."""
    started = time.perf_counter()
    search(index, "apple", Filters())
    return {"seconds": time.perf_counter() - started}


def _time(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


FTS_QUERIES = [
    (text.replace("~", ""), opts)
    for kind, text, opts in QUERIES
    if kind in {"word", "and", "phrase", "provider", "date", "sort"}
]


def step_fts5(corpus: str, rounds: int) -> dict[str, Any]:
    """SQLite FTS5 holding the same items and text fields: build and query."""
    docs = _prebuilt(corpus)
    folder = tempfile.mkdtemp(prefix="searchidx-fts5-")
    try:
        db = sqlite3.connect(os.path.join(folder, "fts.db"))
        db.execute(
            "CREATE VIRTUAL TABLE items USING fts5(title, alt_titles, excerpt, body, "
            "provider UNINDEXED, published UNINDEXED, tokenize='porter unicode61 remove_diacritics 2')"
        )
        started = time.perf_counter()
        db.executemany(
            "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)",
            (
                (
                    d["title"],
                    d.get("alt_titles", ""),
                    d.get("excerpt", ""),
                    d.get("body", ""),
                    d.get("provider", ""),
                    d["published"].isoformat() if "published" in d else "",
                )
                for d in docs
            ),
        )
        db.commit()
        build = time.perf_counter() - started
        times: list[float] = []
        for round_no in range(rounds + 1):
            for text, opts in FTS_QUERIES:
                sql = "SELECT rowid, title FROM items WHERE items MATCH ?"
                args: list[Any] = [text]
                if "providers" in opts:
                    sql += f" AND provider IN ({','.join('?' * len(opts['providers']))})"
                    args += [p.casefold() for p in opts["providers"]]
                if "since" in opts:
                    sql += " AND published >= ?"
                    args.append(opts["since"])
                if "until" in opts:
                    sql += " AND published <= ?"
                    args.append(opts["until"] + "T23:59:59")
                order = {"newest": "published DESC", "oldest": "published ASC"}
                sql += f" ORDER BY {order.get(opts.get('sort', ''), 'rank')} LIMIT 10"
                started = time.perf_counter()
                db.execute(sql, args).fetchall()
                if round_no:
                    times.append(time.perf_counter() - started)
        db.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "items": len(docs),
        "build_seconds": build,
        "queries": len(FTS_QUERIES),
        "p50": _percentile(times, 0.5),
        "p95": _percentile(times, 0.95),
    }


def step_lookup(index: str, sample: int = 2000) -> dict[str, Any]:
    """The "+N similar" lookup against comparing with every item: of the near-duplicates
    of sampled items (same threshold, numbers and window), the share the lookup finds,
    and its time per item (pages of 10 items share one lookup, as in a search)."""
    from rapidfuzz import fuzz, process

    from searchidx.copies import (
        DEFAULT_THRESHOLD,
        DEFAULT_WINDOW_DAYS,
        Lookup,
        _in_window,
        _window_us,
        load_titles,
        near_duplicates,
    )
    from searchidx.engine import index_at
    from searchidx.titles import numbers

    snap = index_at(index).snapshot()
    titles = load_titles(snap, snap.live())
    chosen = random.Random(5).sample(range(len(titles.rows)), min(sample, len(titles.rows)))
    window = _window_us(DEFAULT_WINDOW_DAYS)
    truth: dict[int, set[int]] = {}
    for i in chosen:
        mine = numbers(titles.norms[i])
        found = process.extract(
            titles.norms[i],
            titles.norms,
            scorer=fuzz.ratio,
            score_cutoff=DEFAULT_THRESHOLD,
            limit=None,
        )
        truth[titles.rows[i]] = {
            titles.rows[k]
            for _, _, k in found
            if k != i
            and numbers(titles.norms[k]) == mine
            and _in_window(titles.times[i], titles.times[k], window)
        }
    docs = list(truth)
    started = time.perf_counter()
    got: dict[int, set[int]] = {}
    for start in range(0, len(docs), 10):
        lookup = Lookup(snap)
        for d in docs[start : start + 10]:
            got[d] = {x for x, _ in near_duplicates(snap, d, lookup=lookup)}
    seconds = time.perf_counter() - started
    pairs = sum(len(v) for v in truth.values())
    return {
        "items": len(docs),
        "pairs": pairs,
        "found": sum(len(got[d] & truth[d]) for d in docs),
        "extra": sum(len(got[d] - truth[d]) for d in docs),
        "seconds_per_item": seconds / max(1, len(docs)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.steps")
    parser.add_argument("step", choices=["parse", "engine", "queries", "first", "fts5", "lookup"])
    parser.add_argument("path")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.step == "parse":
        result = step_parse(args.path, args.jobs)
    elif args.step == "engine":
        result = step_engine(args.path, args.jobs)
    elif args.step == "queries":
        result = step_queries(args.path, args.rounds)
    elif args.step == "first":
        result = step_first(args.path)
    elif args.step == "lookup":
        result = step_lookup(args.path)
    else:
        result = step_fts5(args.path, args.rounds)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
