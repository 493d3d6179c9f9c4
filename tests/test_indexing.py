"""Building and updating indexes on disk."""

from __future__ import annotations

import gc
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from searchidx import indexing, store
from searchidx.checking import check_index
from searchidx.documents import item_id, parse_file, url_key
from searchidx.engine import index_at
from searchidx.errors import IndexNotFound, InvalidOption, NotAnIndex, SchemaMismatch
from searchidx.fields import SCHEMA_VERSION
from searchidx.indexing import update_index
from searchidx.items import StoredItem
from searchidx.store import IndexDir, gc_paused
from searchidx.whooshdb import writing
from searchidx.whooshdb.schema import column_reader
from searchidx.whooshdb.storage import open_live
from searchidx.whooshdb.writing import SMALL_SEGMENTS
from tests.conftest import SAMPLES, SEEDS, article, front_matter, related

Write = Callable[..., Path]


def records(index_path: str) -> dict[str, dict[str, Any]]:
    """Every item in the index, by id, as stored."""
    ixdir = IndexDir(index_path)
    ixdir.require()
    with open_live(ixdir).searcher() as searcher:
        return {f["id"]: json.loads(f["data"]) for f in searcher.all_stored_fields()}


def rid(url: str) -> str:
    return item_id(url_key(url))


def errors_of(index_path: str, paths: list[str], **kw: Any) -> tuple[Any, list[str]]:
    seen: list[str] = []
    summary = update_index(index_path, paths, jobs=1, on_error=lambda e: seen.append(str(e)), **kw)
    return summary, seen


def test_sample_corpus_items(sample_index: str) -> None:
    recs = records(sample_index)
    kinds = [r["kind"] for r in recs.values()]
    # 33 from article files; 5 + 4 + 5 from the feeds and the CSV export, of which one
    # row is 001 again and four are stories the article files list as related.
    assert kinds.count("article") == 33 + 5 + 4 + 5 - 1
    assert kinds.count("related") == 8 - 4


def test_publication_times_are_a_column_without_terms(sample_index: str) -> None:
    with open_live(IndexDir(sample_index)).searcher() as searcher:
        reader = searcher.reader()
        dated = [v for v in column_reader(reader, "published") if v]
        assert len(dated) > 20
        assert list(reader.lexicon("published")) == []


def test_shared_related_url_variants_are_one_item(sample_index: str) -> None:
    # 001, 002, 003 and 004 list Bay Chronicle's story under four URL spellings, and
    # Bay Chronicle's RSS feed (032) has it: one item, the feed's article.
    key = "baychronicle.com/news/2024/03/05/port-ellery-flood-barrier-vote.html"
    recs = records(sample_index)
    matching = [r for r in recs.values() if any(url_key(u) == key for u in r["urls"])]
    assert len(matching) == 1
    (item,) = matching
    assert (item["kind"], Path(item["path"]).name, item["line"]) == (
        "article",
        "032-bay-chronicle.rss",
        9,
    )
    assert item["provider"] == "Bay Chronicle"
    citing = [r for r in recs.values() if any(x["id"] == item["id"] for x in r["related"])]
    assert sorted(Path(r["path"]).name[:3] for r in citing) == ["001", "002", "003", "004"]


def test_related_entry_with_an_article_url_is_that_article(sample_index: str) -> None:
    recs = records(sample_index)
    first = next(r for r in recs.values() if Path(r["path"] or "x").name.startswith("001-"))
    assert first["kind"] == "article"
    citing = [r for r in recs.values() if any(x["id"] == first["id"] for x in r["related"])]
    assert sorted(Path(r["path"]).name[:3] for r in citing) == ["002", "003", "005"]


def test_one_outlets_variants_collapse_within_a_list(sample_index: str) -> None:
    recs = records(sample_index)
    by_name = {Path(r["path"]).name: r for r in recs.values() if r["path"]}
    # 015: two Riverside Post headlines with one URL; 018: two Bay Chronicle URLs.
    riverside = [
        x
        for x in by_name["015-school-facial-recognition-parents.md"]["related"]
        if x["provider"] == "Riverside Post"
    ]
    assert len(riverside) == 1
    assert len(riverside[0]["titles"]) == 2
    bay = [
        x
        for x in by_name["018-port-strike-metro-ledger.md"]["related"]
        if x["provider"] == "Bay Chronicle"
    ]
    assert len(bay) == 1
    assert len(bay[0]["urls"]) == 2
    stored = recs[bay[0]["id"]]
    assert set(bay[0]["titles"]) <= set(stored["titles"])


def test_seed_nola_pair_is_one_item(seeds: Path, index_path: str) -> None:
    summary = update_index(index_path, [str(seeds)], jobs=1)
    assert (summary.added, summary.failed, summary.items) == (2, 0, 8)
    nola = [r for r in records(index_path).values() if r["provider"] == "NOLA.com"]
    assert len(nola) == 2  # two different NOLA.com stories; the variant pair is one of them
    pair = next(r for r in nola if len(r["titles"]) == 2)
    assert pair["titles"] == [
        "New Orleans police use facial recognition software, despite official assurances to the contrary",
        "New Orleans police use facial recognition software, despite previous assurances to the contrary",
    ]


def test_incremental_add_change_remove(write: Write, corpus: Path, index_path: str) -> None:
    rel = related("Bay story", "https://baychronicle.com/s1", "Bay Chronicle", "baychronicle.com")
    write("a.md", article("Harbor vote passes", "https://harborwire.com/a", related=[rel]))
    write("b.md", article("Fare rise approved", "https://harborwire.com/b", related=[rel]))
    s = update_index(index_path, [str(corpus)], jobs=1)
    assert (s.added, s.updated, s.removed, s.unchanged, s.items) == (2, 0, 0, 0, 3)

    write("c.md", article("Port strike", "https://harborwire.com/c"))
    s = update_index(index_path, [str(corpus)], jobs=1)
    assert (s.added, s.updated, s.removed, s.unchanged, s.items) == (1, 0, 0, 2, 4)

    write("a.md", article("Harbor vote fails", "https://harborwire.com/a", related=[rel]))
    s = update_index(index_path, [str(corpus)], jobs=1)
    assert (s.added, s.updated, s.removed, s.unchanged) == (0, 1, 0, 2)
    assert records(index_path)[rid("https://harborwire.com/a")]["title"] == "Harbor vote fails"

    os.unlink(corpus / "a.md")
    s = update_index(index_path, [str(corpus)], jobs=1)
    assert (s.added, s.updated, s.removed, s.unchanged, s.items) == (0, 0, 1, 2, 3)
    assert rid("https://baychronicle.com/s1") in records(index_path)  # b.md still cites it

    os.unlink(corpus / "b.md")
    s = update_index(index_path, [str(corpus)], jobs=1)
    assert (s.removed, s.items) == (1, 1)
    assert list(records(index_path)) == [rid("https://harborwire.com/c")]


def an_hour_ago(path: Path) -> None:
    """Date a file's last change an hour back: a file modified just before an update is
    read again at the next (see test_a_file_rewritten_within_one_tick_...)."""
    then = time.time_ns() - 3600 * 10**9
    os.utime(path, ns=(then, then))


def test_unchanged_files_are_not_read(write: Write, corpus: Path, index_path: str) -> None:
    path = write("a.md", article("Original title", "https://harborwire.com/a"))
    an_hour_ago(path)
    update_index(index_path, [str(corpus)], jobs=1)
    st = path.stat()
    path.write_bytes(b"\x00" * st.st_size)  # garbage of the same size, same mtime
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    s, errors = errors_of(index_path, [str(corpus)])
    assert (s.unchanged, s.failed, errors) == (1, 0, [])


def test_touched_files_are_hashed_not_reparsed(write: Write, corpus: Path, index_path: str) -> None:
    path = write("a.md", article("Original title", "https://harborwire.com/a"))
    update_index(index_path, [str(corpus)], jobs=1)
    os.utime(path, ns=(1, 1))
    s = update_index(index_path, [str(corpus)], jobs=1)
    assert (s.unchanged, s.updated) == (1, 0)
    s = update_index(index_path, [str(corpus)], jobs=1)
    assert (s.unchanged, s.updated) == (1, 0)


def manifests(index_path: str) -> list[str]:
    return sorted(n for n in os.listdir(IndexDir(index_path).data_dir()) if "manifest" in n)


def test_an_unchanged_file_with_bad_rows_is_not_read_again_and_its_errors_are_reported(
    write: Write, corpus: Path, index_path: str
) -> None:
    rows = write(
        "b-rows.csv",
        "title,url,date\nOne,https://harborwire.com/1,2024-03-05\n"
        "Two,https://harborwire.com/2,notadate\n",
    )
    an_hour_ago(rows)
    first = [f"{rows}:3: date is not a date: 'notadate'"]
    s, errors = errors_of(index_path, [str(corpus)])
    assert (errors, s.added, s.failed, s.skipped) == (first, 1, 0, 1)
    written = manifests(index_path)
    # Garbage of the same size and mtime: a file read again would fail otherwise.
    st = rows.stat()
    rows.write_bytes(b"\x00" * st.st_size)
    os.utime(rows, ns=(st.st_atime_ns, st.st_mtime_ns))
    s, errors = errors_of(index_path, [str(corpus)])
    assert errors == first
    assert (s.added, s.updated, s.unchanged, s.failed, s.skipped) == (0, 0, 1, 0, 1)
    assert manifests(index_path) == written  # nothing committed
    # Its errors come in path order among those of the files read.
    write("a.md", "---\ntitle: [broken\n---\n")
    write("c.md", "no front matter\n")
    s, errors = errors_of(index_path, [str(corpus)])
    assert errors == [
        f"{corpus / 'a.md'}:2: invalid YAML: did not find expected ',' or ']'",
        *first,
        f"{corpus / 'c.md'}:1: no front matter: the file must start with a '---' line",
    ]
    assert (s.added, s.updated, s.unchanged, s.failed, s.skipped) == (0, 0, 1, 2, 1)
    assert manifests(index_path) == written


def test_a_touched_file_with_bad_rows_is_hashed_and_its_errors_reported(
    write: Write, corpus: Path, index_path: str
) -> None:
    rows = write(
        "rows.jsonl",
        '{"title": "One", "webUrl": "https://harborwire.com/1"}\n{"title": ""}\n',
    )
    first = [f"{rows}:2: title is empty"]
    assert errors_of(index_path, [str(corpus)])[1] == first
    os.utime(rows, ns=(1, 1))
    s, errors = errors_of(index_path, [str(corpus)])
    assert (errors, s.updated, s.unchanged, s.skipped) == (first, 0, 1, 1)
    written = manifests(index_path)
    s, errors = errors_of(index_path, [str(corpus)])
    assert (errors, s.updated, s.unchanged, s.skipped) == (first, 0, 1, 1)
    assert manifests(index_path) == written
    # Changed: read again, its errors are the new content's.
    write(
        "rows.jsonl", '{"title": "One", "webUrl": "https://harborwire.com/1"}\n{"title": "Two"}\n'
    )
    s, errors = errors_of(index_path, [str(corpus)])
    assert (errors, s.updated, s.skipped, s.items) == ([], 1, 0, 2)
    s, errors = errors_of(index_path, [str(corpus)])
    assert (errors, s.unchanged, s.skipped) == ([], 1, 0)
    # A rebuild reads it as the first build did.
    write("rows.jsonl", '{"title": ""}\n{"title": "Two"}\n')
    assert errors_of(index_path, [str(corpus)])[1] == [f"{rows}:1: title is empty"]
    s, errors = errors_of(index_path, [str(corpus)], rebuild=True)
    assert (errors, s.added, s.unchanged, s.skipped, s.items) == (
        [f"{rows}:1: title is empty"],
        1,
        0,
        1,
        1,
    )


def test_a_file_that_goes_bad_keeps_its_indexed_content(
    write: Write, corpus: Path, index_path: str
) -> None:
    write("a.md", article("Harbor vote passes", "https://harborwire.com/a"))
    write("b.md", article("Fare rise approved", "https://harborwire.com/b"))
    update_index(index_path, [str(corpus)], jobs=1)
    bad = write("a.md", "---\ntitle: [broken\n---\n")
    write("c.md", article("Port strike", "https://harborwire.com/c"))
    s, errors = errors_of(index_path, [str(corpus)])
    error = (
        f"{bad}:2: invalid YAML: did not find expected ',' or ']' "
        "(the article indexed from this file before is kept; index --rebuild drops it)"
    )
    assert errors == [error]
    assert (s.added, s.updated, s.failed) == (1, 0, 1)
    titles = sorted(r["title"] for r in records(index_path).values())
    assert titles == ["Fare rise approved", "Harbor vote passes", "Port strike"]
    # Still failing next time: reported again, not silently accepted.
    s, errors = errors_of(index_path, [str(corpus)])
    assert (s.failed, errors) == (1, [error])
    # A rebuild drops it, as the error said.
    s, errors = errors_of(index_path, [str(corpus)], rebuild=True)
    assert errors == [f"{bad}:2: invalid YAML: did not find expected ',' or ']'"]
    titles = sorted(r["title"] for r in records(index_path).values())
    assert titles == ["Fare rise approved", "Port strike"]


def test_the_error_of_a_file_that_goes_bad_says_how_many_articles_it_keeps(
    write: Write, corpus: Path, index_path: str
) -> None:
    table = write(
        "t.csv", "title,url\nOne,https://harborwire.com/1\nTwo,https://harborwire.com/2\n"
    )
    lines = write("l.jsonl", '{"title": "Three"}\n{"title": "Four"}\n{"title": "Five"}\n')
    write("a.md", article("Harbor vote passes", "https://harborwire.com/a"))
    update_index(index_path, [str(corpus)], jobs=1)
    write("t.csv", "headline?,url\nOne,https://harborwire.com/1\nTwo,https://harborwire.com/2\n")
    write("l.jsonl", '{"title": ""}\n{"title": 3}\n{"title": "Five", "excerpt": []}\n')
    new = write("new.md", "---\ntitle: [broken\n---\n")
    s, errors = errors_of(index_path, [str(corpus)])
    assert errors == [
        f"{lines}:1: title is empty",
        f"{lines}:2: title must be text, not a number",
        f"{lines}:3: excerpt must be text, not a list "
        "(the 3 articles indexed from this file before are kept; index --rebuild drops them)",
        f"{new}:2: invalid YAML: did not find expected ',' or ']'",
        f"{table}:1: the header names no title column (title or headline): 'headline?', 'url' "
        "(the 2 articles indexed from this file before are kept; index --rebuild drops them)",
    ]
    assert (s.added, s.updated, s.unchanged, s.failed, s.skipped, s.items) == (0, 0, 1, 3, 0, 6)


@pytest.mark.parametrize(
    ("name", "before", "after"),
    [
        ("t.csv", "title,url\nOne,https://harborwire.com/1\n", "title,url\n"),
        ("l.json", '[{"title": "One", "url": "https://harborwire.com/1"}]', "[]"),
        (
            "f.xml",
            '<rss version="2.0"><channel><title>Harbor Wire</title><item><title>One</title>'
            "<link>https://harborwire.com/1</link></item></channel></rss>",
            '<rss version="2.0"><channel><title>Harbor Wire</title></channel></rss>',
        ),
    ],
)
def test_a_file_read_without_error_that_has_no_items_any_more_drops_its_items(
    write: Write, corpus: Path, index_path: str, name: str, before: str, after: str
) -> None:
    """A CSV cut to its header, an empty JSON list, a feed with no entries: the file says
    there are no items, and no error says otherwise. Its earlier items went on being
    found, and the update counted the file nowhere."""
    write(name, before)
    write("a.md", article("Harbor vote passes", "https://harborwire.com/a"))
    update_index(index_path, [str(corpus)], jobs=1)
    assert sorted(r["title"] for r in records(index_path).values()) == ["Harbor vote passes", "One"]
    write(name, after)
    s, errors = errors_of(index_path, [str(corpus)])
    assert errors == []
    assert (s.added, s.updated, s.unchanged, s.failed, s.files, s.items) == (0, 1, 1, 0, 2, 1)
    assert [r["title"] for r in records(index_path).values()] == ["Harbor vote passes"]
    s, errors = errors_of(index_path, [str(corpus)])  # then unchanged, not read again
    assert (s.updated, s.unchanged, s.items, errors) == (0, 2, 1, [])


def test_a_new_file_of_no_items_is_added_with_none(
    write: Write, corpus: Path, index_path: str
) -> None:
    write("t.csv", "title,url\n")
    s, errors = errors_of(index_path, [str(corpus)])
    assert (s.added, s.failed, s.files, s.items, errors) == (1, 0, 1, 0, [])
    s, errors = errors_of(index_path, [str(corpus)])
    assert (s.added, s.unchanged, errors) == (0, 1, [])


def test_failed_counts_files_that_gave_nothing_and_skipped_the_bad_records_of_the_rest(
    write: Write, corpus: Path, index_path: str
) -> None:
    write("good.md", article("Harbor vote passes", "https://harborwire.com/a"))
    rows = write(
        "rows.csv",
        "title,url\nOne,https://harborwire.com/1\nTwo,https://harborwire.com/2\n"
        ",https://harborwire.com/3\nFour,notaurl\n",
    )
    bad = write("bad.md", "no front matter\n")
    all_bad = write("all-bad.csv", "title,url\n,https://harborwire.com/5\n")
    s, errors = errors_of(index_path, [str(corpus)])
    assert errors == [
        f"{all_bad}:2: title is empty",
        f"{bad}:1: no front matter: the file must start with a '---' line",
        f"{rows}:4: title is empty",
        f"{rows}:5: url is not a URL: 'notaurl'",
    ]
    assert (s.added, s.updated, s.unchanged, s.failed, s.skipped) == (2, 0, 0, 2, 2)
    assert (s.files, s.items) == (2, 3)


def test_removing_an_article_exposes_the_related_item(
    write: Write, corpus: Path, index_path: str
) -> None:
    target = "https://coastaldaily.com/story"
    write(
        "a.md",
        article(
            "Harbor vote passes",
            "https://harborwire.com/a",
            related=[related("Coastal take", target, "Coastal Daily", "coastaldaily.com")],
        ),
    )
    write(
        "b.md",
        article("Coastal's own story", target, provider="Coastal Daily", domain="coastaldaily.com"),
    )
    update_index(index_path, [str(corpus)], jobs=1)
    assert records(index_path)[rid(target)]["kind"] == "article"
    os.unlink(corpus / "b.md")
    update_index(index_path, [str(corpus)], jobs=1)
    rec = records(index_path)[rid(target)]
    assert (rec["kind"], rec["title"]) == ("related", "Coastal take")
    write(
        "b.md",
        article("Coastal's own story", target, provider="Coastal Daily", domain="coastaldaily.com"),
    )
    update_index(index_path, [str(corpus)], jobs=1)
    assert records(index_path)[rid(target)]["kind"] == "article"


def test_same_url_in_two_files_is_one_item(write: Write, corpus: Path, index_path: str) -> None:
    url = "https://harborwire.com/a"
    write("a.md", article("First copy", url))
    write("b.md", article("Second copy", url + "/"))
    update_index(index_path, [str(corpus)], jobs=1)
    assert [r["title"] for r in records(index_path).values()] == ["First copy"]
    os.unlink(corpus / "a.md")
    update_index(index_path, [str(corpus)], jobs=1)
    assert [r["title"] for r in records(index_path).values()] == ["Second copy"]


def test_same_url_in_two_files_indexes_only_the_first_files_related_list(
    write: Write, corpus: Path, tmp_path: Path
) -> None:
    # Each copy lists other coverage: only the indexed copy's list is indexed, so that
    # every related item is cited by an article of the index (check) and an update
    # ends where a rebuild does, whichever file wins.
    url = "https://harborwire.com/a"

    def copy(name: str, title: str, other: str) -> None:
        listed = related(other, f"https://{name}.example/a", f"Outlet {name}", f"{name}.example")
        write(f"{name}.md", article(title, url, related=[listed]))

    copy("a", "First copy", "Coverage listed by a")
    copy("b", "Second copy", "Coverage listed by b")
    inc = str(tmp_path / "inc")

    def state(index: str) -> list[tuple[str, str]]:
        assert check_index(index).problems == []
        return sorted((r["kind"], r["title"]) for r in records(index).values())

    update_index(inc, [str(corpus)], jobs=1)
    assert state(inc) == [("article", "First copy"), ("related", "Coverage listed by a")]
    copy("b", "Second copy", "Coverage b lists now")  # the other copy changes
    update_index(inc, [str(corpus)], jobs=1)
    assert state(inc) == [("article", "First copy"), ("related", "Coverage listed by a")]
    os.unlink(corpus / "a.md")  # the other copy is the article now, and its list counts
    update_index(inc, [str(corpus)], jobs=1)
    assert state(inc) == [("article", "Second copy"), ("related", "Coverage b lists now")]
    copy("a", "First copy", "Coverage listed by a")  # back: it wins again
    update_index(inc, [str(corpus)], jobs=1)
    assert state(inc) == [("article", "First copy"), ("related", "Coverage listed by a")]
    full = str(tmp_path / "full")
    update_index(full, [str(corpus)], jobs=1)
    assert records(inc) == records(full)


def test_one_url_on_two_lines_of_a_feed_file_is_the_first_lines_item(
    write: Write, corpus: Path, index_path: str
) -> None:
    url = "https://harborwire.com/x"
    other = related("Other", "https://other.example/y", "Other", "other.example")
    lines = [article("First", url), article("Second", url, related=[other])]
    write("feed.jsonl", "\n".join(json.dumps(fields) for fields in lines) + "\n")
    update_index(index_path, [str(corpus)], jobs=1)
    assert [r["title"] for r in records(index_path).values()] == ["First"]
    assert check_index(index_path).problems == []


def test_incremental_updates_end_where_a_rebuild_does(samples: Path, tmp_path: Path) -> None:
    inc, full = str(tmp_path / "inc"), str(tmp_path / "full")
    update_index(inc, [str(samples)], jobs=1)
    # Remove an article that others cite, rewrite one, add one citing a shared item.
    os.unlink(samples / "001-flood-barrier-approved.md")
    text = (samples / "017-port-strike-begins.md").read_text(encoding="utf-8")
    (samples / "017-port-strike-begins.md").write_text(
        text.replace("Dockworkers", "Dock workers", 1), encoding="utf-8"
    )
    shutil.copy(samples / "002-flood-barrier-coastal-daily.md", samples / "099-copy.md")
    update_index(inc, [str(samples)], jobs=1)
    update_index(full, [str(samples)], jobs=1)
    assert records(inc) == records(full)


def test_parallel_parsing_gives_the_same_index(write: Write, corpus: Path, tmp_path: Path) -> None:
    shared = related(
        "Shared", "https://baychronicle.com/shared", "Bay Chronicle", "baychronicle.com"
    )
    for i in range(80):
        write(
            f"{i:03}.md",
            article(f"Story number {i}", f"https://harborwire.com/{i}", related=[shared]),
        )
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    update_index(one, [str(corpus)], jobs=1)
    update_index(two, [str(corpus)], jobs=2)
    assert records(one) == records(two)
    assert len(records(two)) == 81


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.md")) + sorted(SEEDS.glob("*.txt")))
def test_stored_record_and_related_lines_are_plain_json(path: Path) -> None:
    # A worker encodes each related entry once and splices it into both.
    (doc,) = indexing.load_file((str(path), None, 90.0)).docs
    articles, _ = parse_file(str(path), path.read_bytes())
    item = indexing.article_doc(articles[0], 90.0).item
    assert item is not None
    assert doc.whoosh()["data"] == json.dumps(
        asdict(item), ensure_ascii=False, separators=(",", ":")
    )
    assert StoredItem.from_json(doc.whoosh()["data"]) == item
    assert [json.loads(line) for line in doc.related_lines] == [
        [r["id"], item.id, r] for r in item.related
    ]
    assert all(line.endswith("]\n") and line.count("\n") == 1 for line in doc.related_lines)


def test_gc_paused_gives_the_collector_back_as_it_was() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_big_build_keeps_the_first_claimant_of_a_url(
    write: Write, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parsing processes hand Whoosh whole batch files (of LOAD_CHUNK files); a batch
    # holding a URL already claimed, by an earlier batch or within itself, is sifted.
    monkeypatch.setattr(indexing, "BIG_BUILD", 50)
    monkeypatch.setattr(indexing, "LOAD_CHUNK", 32)  # 000-030 and 005b, 031-062, ...
    for i in range(100):
        write(f"{i:03}.md", article(f"Story number {i}", f"https://harborwire.com/{i}"))
    write("005b.md", article("Copy of five, same batch", "https://harborwire.com/5"))
    write("070b.md", article("Copy of ten, later batch", "https://harborwire.com/10"))
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    update_index(one, [str(corpus)], jobs=1)
    update_index(two, [str(corpus)], jobs=2)
    assert records(one) == records(two)
    assert len(records(two)) == 100
    assert records(two)[rid("https://harborwire.com/5")]["title"] == "Story number 5"
    assert records(two)[rid("https://harborwire.com/10")]["title"] == "Story number 10"
    assert [n for n in os.listdir(tmp_path / "two") if "data-" in n] == ["data-1"]
    leftovers = [n for _, _, names in os.walk(tmp_path / "two") for n in names if "batch" in n]
    assert leftovers == []


def test_big_build_writes_seed_shaped_related_items_in_parallel(
    write: Write, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in the seed files, most related entries are other outlets' articles that are
    # not in the collection: each is an item, made once every file is read and handed to
    # the sub-writers in batch files (here of 7 items) like the articles.
    monkeypatch.setattr(indexing, "BIG_BUILD", 50)
    monkeypatch.setattr(indexing, "LOAD_CHUNK", 16)
    monkeypatch.setattr(writing.BatchWriter.add_batches, "__defaults__", (7,))
    for i in range(80):
        entries = [
            related(f"Outside take {i} by {o}", f"https://{o}.com/{i}", o.title(), f"{o}.com")
            for o in ("baychronicle", "rivertimes", "lakepost")
        ]
        # Every file also cites the next article, and the story all files cover.
        entries.append(
            related(
                f"Story number {i + 1}",
                f"https://harborwire.com/{i + 1}",
                "Harbor Wire",
                "harborwire.com",
            )
        )
        entries.append(
            related(f"Shared story seen by {i}", "https://wire.org/shared", "The Wire", "wire.org")
        )
        write(
            f"{i:03}.md",
            article(f"Story number {i}", f"https://harborwire.com/{i}", related=entries),
        )
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    update_index(one, [str(corpus)], jobs=1)
    summary = update_index(two, [str(corpus)], jobs=2)
    recs = records(two)
    assert recs == records(one)
    assert summary.items == len(recs) == 80 + 80 * 3 + 1 + 1  # 080 is cited, not read
    kinds = [r["kind"] for r in recs.values()]
    assert (kinds.count("article"), kinds.count("related")) == (80, 242)
    assert recs[rid("https://harborwire.com/5")]["kind"] == "article"
    assert recs[rid("https://harborwire.com/80")]["kind"] == "related"
    shared = recs[rid("https://wire.org/shared")]
    first = min(range(80), key=lambda i: rid(f"https://harborwire.com/{i}"))  # by citing id
    assert len(shared["titles"]) == 80 and shared["title"] == f"Shared story seen by {first}"
    leftovers = [n for _, _, names in os.walk(tmp_path / "two") for n in names if "doclist" in n]
    assert leftovers == []


def test_files_from_other_roots_are_kept(write: Write, tmp_path: Path, index_path: str) -> None:
    write("x/a.md", article("In x", "https://harborwire.com/x"))
    write("y/b.md", article("In y", "https://harborwire.com/y"))
    update_index(index_path, [str(tmp_path / "corpus" / "x")], jobs=1)
    s = update_index(index_path, [str(tmp_path / "corpus" / "y")], jobs=1)
    assert (s.added, s.removed, s.files) == (1, 0, 2)


def test_rebuild_starts_over(write: Write, tmp_path: Path, index_path: str) -> None:
    write("x/a.md", article("In x", "https://harborwire.com/x"))
    write("y/b.md", article("In y", "https://harborwire.com/y"))
    update_index(index_path, [str(tmp_path / "corpus" / "x")], jobs=1)
    s = update_index(index_path, [str(tmp_path / "corpus" / "y")], rebuild=True, jobs=1)
    assert (s.added, s.files, s.items) == (1, 1, 1)
    assert sorted(os.listdir(index_path)) == ["CURRENT", "data-2", "write.lock"]


def test_a_failure_to_say_an_index_was_created_keeps_it(tmp_path: Path) -> None:
    # As when the command's output is a pipe that has been closed: the index was live
    # before it could be said, and a failure then left CURRENT naming a deleted folder.
    def closed_pipe(message: str) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    index = str(tmp_path / "index")
    with pytest.raises(BrokenPipeError):
        update_index(index, [str(SAMPLES)], jobs=1, on_notice=closed_pipe)
    assert sorted(os.listdir(index)) == ["CURRENT", "data-1", "write.lock"]
    report = check_index(index)
    assert (report.ok, report.items) == (True, 50)


def test_variant_threshold_needs_a_rebuild_to_change(
    write: Write, corpus: Path, index_path: str
) -> None:
    write("a.md", article("A", "https://harborwire.com/a"))
    update_index(index_path, [str(corpus)], jobs=1)
    with pytest.raises(InvalidOption, match="built with --variant-threshold 90; add --rebuild"):
        update_index(index_path, [str(corpus)], variant_threshold=80)
    assert update_index(index_path, [str(corpus)], variant_threshold=80, rebuild=True).files == 1


def test_folder_that_is_not_an_index_is_left_alone(
    write: Write, corpus: Path, tmp_path: Path
) -> None:
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("keep me")
    with pytest.raises(NotAnIndex, match="is not a searchidx index"):
        update_index(str(other), [str(corpus)])
    assert os.listdir(other) == ["todo.txt"]


def test_missing_index_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(
        IndexNotFound, match=r"create one with: searchidx --index \S+ index PATH\.\.\."
    ):
        IndexDir(str(tmp_path / "nothing")).require()


def test_schema_version_mismatch_says_to_rebuild(
    write: Write, corpus: Path, index_path: str
) -> None:
    write("a.md", article("A", "https://harborwire.com/a"))
    update_index(index_path, [str(corpus)], jobs=1)
    ixdir = IndexDir(index_path)
    meta_path = Path(ixdir.data_dir()) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "schema_version": 0}))
    with pytest.raises(
        SchemaMismatch,
        match=rf"schema version 0, but this searchidx uses version {SCHEMA_VERSION}; rebuild it with: searchidx index --rebuild",
    ):
        ixdir.require()
    with pytest.raises(SchemaMismatch):
        update_index(index_path, [str(corpus)])
    assert update_index(index_path, [str(corpus)], rebuild=True).items == 1


@pytest.mark.parametrize("small", [1, SMALL_SEGMENTS, 3])
def test_updates_keep_few_segments(
    write: Write, corpus: Path, index_path: str, small: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from searchidx.whooshdb import writing

    monkeypatch.setattr(writing, "SMALL_SEGMENTS", small)
    for i in range(100):
        write(f"{i:03}.md", article(f"Story {i}", f"https://harborwire.com/{i}"))
    update_index(index_path, [str(corpus)], jobs=1)
    counts = []
    for n in range(8):
        write(f"{n:03}.md", article(f"Story {n} revised", f"https://harborwire.com/{n}"))
        update_index(index_path, [str(corpus)], jobs=1)
        with open_live(IndexDir(index_path)).reader() as reader:
            counts.append(len(list(reader.leaf_readers())))
    # Without merging there would be 9 segments. Each update adds one; the first and
    # up to SMALL_SEGMENTS small ones are kept, then the small ones (every later
    # segment here stays under 1/8 of the first) merge into the new one.
    assert counts == [2 + n % (small + 1) for n in range(8)]
    assert len(records(index_path)) == 100


@pytest.mark.parametrize(
    "roots",
    [["real", "link"], ["link", "real"], ["link"], ["real"], ["real", "real/inner-link"]],
    ids=["both", "link-first", "link-only", "real-only", "nested-link"],
)
def test_a_file_reached_by_two_paths_is_one_file(tmp_path: Path, roots: list[str]) -> None:
    """Through a linked folder, a link to a file, or both: one file, under its real path,
    whichever paths reach it, across updates."""
    real = tmp_path / "real"
    shutil.copytree(SAMPLES, real)
    (tmp_path / "link").symlink_to(real)
    (real / "zz-again.md").symlink_to("001-flood-barrier-approved.md")
    (real / "inner-link").symlink_to(real)  # a folder link inside a root is not walked
    index = str(tmp_path / "index")
    files = sorted(str(p) for p in real.iterdir() if not p.is_symlink())
    first = update_index(index, [str(real)], jobs=1)
    assert first.failed == 0
    assert (first.added, first.files) == (len(files), len(files))
    for _ in range(2):
        again = update_index(index, [str(tmp_path / r) for r in roots], jobs=1)
        assert (again.added, again.removed, again.failed) == (0, 0, 0)
        assert (again.unchanged, again.files, again.items) == (len(files), len(files), first.items)
    entries = IndexDir(index).read_manifest(
        IndexDir(index).data_dir(), open_live(IndexDir(index)).latest_generation()
    )
    assert sorted(entries.files) == files
    # Changed through the link: updated once, under its real path.
    link_file = tmp_path / "link" / "002-flood-barrier-coastal-daily.md"
    link_file.write_text(link_file.read_text(encoding="utf-8").replace("Coastal", "Coast"))
    changed = update_index(index, [str(tmp_path / "link"), str(real)], jobs=1)
    assert (changed.updated, changed.added, changed.removed) == (1, 0, 0)
    assert changed.files == len(files)


def write_seed_shaped(path: Path, n: int, title: str) -> None:
    """An article listing two other outlets' coverage, one of them shared with the
    next article."""
    fields = article(
        title,
        f"https://wire.example/{n}",
        related=[
            related(f"Coverage {n}", f"https://bay.example/{n}", "Bay Chronicle", "bay.example"),
            related(f"Shared {n // 2}", f"https://port.example/{n // 2}", "Port", "port.example"),
        ],
    )
    path.write_text(front_matter(fields, f"Body of story {n}."), encoding="utf-8")


@pytest.mark.parametrize("delta_min", [3, 10_000], ids=["folded-now-and-then", "never-folded"])
def test_an_index_updated_many_times_lists_its_files_as_a_fresh_build_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delta_min: int
) -> None:
    """Updates write the manifest as changes beside the last full one, which they write
    anew once the changes pile up; either way it reads back as the files indexed."""
    monkeypatch.setattr(store, "DELTA_MIN", delta_min)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(20):
        write_seed_shaped(corpus / f"{n:03}.md", n, f"Harbor story {n}")
    index = str(tmp_path / "index")
    update_index(index, [str(corpus)], jobs=1)
    bases = set()
    for n in range(6):
        write_seed_shaped(corpus / f"{n:03}.md", n, f"Changed {n} Harbor story {n}")
        write_seed_shaped(corpus / f"{100 + n:03}.md", 100 + n, f"New story {n}")
        (corpus / f"{19 - n:03}.md").unlink()
        summary = update_index(index, [str(corpus)], jobs=1)
        assert (summary.updated, summary.added, summary.removed, summary.failed) == (1, 1, 1, 0)
        ixdir = IndexDir(index)
        manifest = ixdir.read_manifest(ixdir.data_dir(), open_live(ixdir).latest_generation())
        bases.add(manifest.base)
        names = sorted(x for x in os.listdir(ixdir.data_dir()) if x.startswith("manifest-"))
        assert names == sorted(manifest.file_names())
        report = check_index(index)
        assert (report.problems, report.notes) == ([], [])
    clean = str(tmp_path / "clean")
    update_index(clean, [str(corpus)], jobs=1)
    fresh = IndexDir(clean).read_manifest(IndexDir(clean).data_dir(), 1)
    assert manifest.files == fresh.files
    assert records(index) == records(clean)
    assert len(records(index)) == 20 + 20 + 10  # articles, own coverage, shared coverage
    # Folded now and then: written in full at times and as changes at others.
    assert bases == ({1, None, 3, 5} if delta_min == 3 else {1})


def _listed(**values: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "r1",
        "title": "Levee vote delayed",
        "titles": ["Levee vote delayed"],
        "urls": ["https://a.example/1"],
        "url": "https://a.example/1",
        "excerpt": "",
        "provider": "Coastal Daily",
        "domain": "a.example",
        "published": "2024-03-01T10:00:00Z",
        "type": "",
        "quality": None,
    }
    return entry | values


@pytest.mark.parametrize(
    "entry",
    [
        _listed(),
        _listed(excerpt="Council delays the levee vote", type="story", quality=0.5),
        _listed(titles=["A", "B", "A"], urls=["u1", "u2", "u1"], url="u1", published=None),
        _listed(urls=[], url="", provider="", domain=""),
    ],
)
def test_a_related_item_cited_once_is_what_one_citation_of_many_would_make(
    entry: dict[str, Any],
) -> None:
    once = indexing.merged_related("r1", [("a1", entry)])  # type: ignore[list-item]
    twice = indexing.merged_related("r1", [("a1", entry), ("a2", entry)])  # type: ignore[list-item]
    assert once == twice
    assert once.kind == "related" and once.title == entry["title"]


def test_a_related_item_has_the_images_its_entries_list(
    write: Write, corpus: Path, index_path: str
) -> None:
    image = {"url": "https://img.example/1.jpg", "width": 600, "height": 400}
    listed = [
        related("Levee vote delayed", "https://a.example/1", "Coastal Daily", "a.example"),
        related("Quay St. closes", "https://b.example/2", "Bay Chronicle", "b.example"),
    ]
    listed[0]["images"] = [image, image]
    write("a.md", article("Harbor vote passes", "https://harborwire.com/a", related=listed))
    listed[0]["images"] = [image]  # another article lists the same item with fewer
    write("b.md", article("Harbor vote, day two", "https://harborwire.com/b", related=listed))
    update_index(index_path, [str(corpus)], jobs=1)
    snap = index_at(index_path).snapshot()
    images = {}
    for url in ("https://a.example/1", "https://b.example/2"):
        row = snap.row_of(item_id(url_key(url)))
        assert row is not None
        images[url] = snap.item(row).images
    assert images == {"https://a.example/1": 2, "https://b.example/2": 0}
    # Related records stored by versions before images were read have none.
    without = _listed()
    assert "images" not in without
    assert indexing.merged_related("r1", [("a1", without)]).images == 0  # type: ignore[list-item]


def test_a_file_rewritten_within_one_tick_of_the_clock_is_read_again(
    write: Write, corpus: Path, index_path: str
) -> None:
    """A file rewritten to the same size within one tick of the file system's clock
    keeps its modification time (a second or two on some file systems): taken as
    unchanged by its size and time, its new title was never indexed."""
    path = write("a.md", article("Harbor vote passes", "https://harborwire.com/a"))
    update_index(index_path, [str(corpus)], jobs=1)
    before = os.stat(path)
    write("a.md", article("Harbor vote failed", "https://harborwire.com/a"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size
    s = update_index(index_path, [str(corpus)], jobs=1)
    assert (s.updated, s.unchanged) == (1, 0)
    assert [r["title"] for r in records(index_path).values()] == ["Harbor vote failed"]
    # Read again with the same content, it is unchanged.
    s = update_index(index_path, [str(corpus)], jobs=1)
    assert (s.updated, s.unchanged) == (0, 1)
