"""The near-duplicate benchmark (tests/bench/dupes_bench.py): its helpers, and a tiny run of
its sections on the first UCI rows (skipped without the shared corpus or numpy)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.bench import corpora
from tests.bench import dupes_bench as db


def test_table_aligns_columns() -> None:
    text = db.table(["name", "n"], [["a", "1"], ["longer", "1,000"]])
    lines = text.splitlines()
    assert lines[0] == "  name        n"
    assert lines[2] == "  a           1"
    assert lines[3] == "  longer  1,000"
    assert len({len(line) for line in lines}) == 1


def test_size_buckets() -> None:
    got = db.size_buckets([2, 2, 3, 5, 6, 10, 11, 20, 21, 50, 51, 400])
    assert got == {
        "2": 2,
        "3": 1,
        "4": 0,
        "5": 1,
        "6-10": 2,
        "11-20": 2,
        "21-50": 2,
        ">50": 2,
    }


def test_components_chain_where_pairs_do() -> None:
    # 1-2-3-4 chain, 7-8 apart; node 5 has no pair and is not listed.
    assert db.components([(3, 4), (1, 2), (8, 7), (2, 3)]) == [[1, 2, 3, 4], [7, 8]]
    assert db.components([]) == []


def test_fit_quadratic_recovers_a() -> None:
    assert db.fit_quadratic([(n, 3e-8 * n * n) for n in (100, 200, 400)]) == pytest.approx(3e-8)


def _corpus_present() -> bool:
    return corpora.shared_dir() is not None and (corpora.shared_dir() / corpora.UCI_TSV).is_file()


needs_corpus = pytest.mark.skipif(
    not _corpus_present() or importlib.util.find_spec("numpy") is None,
    reason="needs ../shared/corpora/uci-news-aggregator and numpy (benchmark only)",
)

TINY = db.Config(
    quick=True,
    sample=1_500,
    prefix=2_000,
    cdist_sizes=(200, 400),
    runs=1,
    size_runs=1,
    size_limit=800,
    judge=3,
)


@needs_corpus
def test_sections_on_the_first_rows(tmp_path: Path) -> None:
    corpus = db.load_corpus(TINY.prefix)
    bench = db.Bench(corpus, TINY, db.check_out(tmp_path))

    recall = db.section_recall(bench)
    for figures in (*recall["by_threshold"].values(), *recall["first_rows"].values()):
        assert figures["extra"] == 0  # never a pair exhaustive comparison lacks
        assert figures["score_mismatch"] == 0
    assert recall["first_rows"]["80"]["exhaustive"] > 0

    table = db.section_thresholds(bench)
    counts = [table["window"][f"{t:g}"]["pairs"] for t in db.TABLE_THRESHOLDS]
    assert counts == sorted(counts, reverse=True)

    judged = db.section_judge(bench)
    text = Path(judged["path"]).read_text(encoding="utf-8")
    assert "score in [90, 93)" in text and "score in [87, 90)" in text

    size = db.section_size(bench)
    assert size["titles"] == len(corpus.items(range(TINY.size_limit or 0)))
    assert 0 < size["peak_rss"] < db.RSS_TARGET_BYTES
    clusters = db.section_clusters(bench)
    assert clusters["largest_component"] >= clusters["largest_star"]
    assert json.loads((tmp_path / "size-step.json").read_text(encoding="utf-8"))["pairs"]


@needs_corpus
def test_streamed_titles_number_rows_as_the_corpus_does() -> None:
    corpus = db.load_corpus(300)
    rows, norms, times, ids = db.stream_titles(300)
    assert rows == corpus.items(range(300))
    for row, norm, us, ident in zip(rows, norms, times, ids, strict=True):
        assert (norm, us, ident) == (corpus.norm(row), corpus.time_us(row), corpus.rows[row].id)
