"""``stats``: what an index holds, counted over its live items."""

from __future__ import annotations

from pathlib import Path

from searchidx.fields import SCHEMA_VERSION
from searchidx.stats import stats


def test_stats(sample_index: str) -> None:
    s = stats(sample_index)
    assert (s.items, s.articles, s.related, s.files) == (50, 46, 4, 34)
    assert (s.providers, s.topics, s.schema_version) == (13, 13, SCHEMA_VERSION)
    assert (s.first_published, s.last_published) == ("2023-05-09T13:00:00Z", "2024-06-12T15:00:00Z")
    on_disk = sum(p.stat().st_size for p in Path(sample_index).rglob("*") if p.is_file())
    assert s.size_bytes == on_disk


def test_stats_count_live_items_of_an_updated_index(
    updated_index: tuple[str, dict[str, str]],
) -> None:
    # Edited files left deleted documents behind in older segments: they are not counted.
    index, titles_by_file = updated_index
    s = stats(index)
    assert (s.items, s.articles, s.related, s.files) == (420, 420, 0, 420)
    assert len(titles_by_file) == 420
    assert (s.providers, s.topics) == (5, 0)
    assert (s.first_published, s.last_published) == ("2014-03-01T00:00:00Z", "2014-06-28T23:00:00Z")


def test_undated_items_leave_the_first_and_last_dates_alone(tmp_path: Path) -> None:
    from searchidx.indexing import update_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    dates = {"a": "2024-01-01T00:00:00Z", "b": None, "c": "2024-02-03T04:05:06Z"}
    for name, when in dates.items():
        line = f"publishedDateTime: {when}\n" if when else ""
        (corpus / f"{name}.md").write_text(f"---\ntitle: Story {name}\n{line}---\n", "utf-8")
    index = str(tmp_path / "index")
    update_index(index, [str(corpus)], jobs=1)
    s = stats(index)
    assert s.items == 3
    assert (s.first_published, s.last_published) == ("2024-01-01T00:00:00Z", "2024-02-03T04:05:06Z")
    (corpus / "a.md").unlink()
    (corpus / "c.md").unlink()
    update_index(index, [str(corpus)], jobs=1)
    assert (stats(index).first_published, stats(index).last_published) == (None, None)
