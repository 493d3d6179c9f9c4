"""Benchmark corpora (tests/bench/corpora.py): every file parses, builds are deterministic,
cached outside the repository, and the front matter writer round-trips any string."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from searchidx.documents import (
    Article,
    decode_text,
    iter_article_files,
    load_front_matter,
    parse_file,
    url_key,
)
from tests.bench import corpora
from tests.conftest import ROOT

TRICKY = [
    "plain words",
    "",
    r"back\slash \n \u0041 \\ end\\",
    "say \"hi\" and 'bye'",
    "# not a comment",
    "a # b",
    "key: value",
    "ends with colon:",
    "- leading dash",
    "---",
    "...",
    "? question",
    "&anchor *alias !tag %directive @at `tick` | > [list] {map: 1}",
    "true",
    "null",
    "~",
    "0x1F",
    "1e3",
    "2024-03-05T09:00:00Z",
    "  padded  ",
    "tab\there",
    "line\nbreak and\r\ncrlf and \rcr",
    "NEL \x85 here",
    " \x85 ",
    "line sep \u2028 and para sep \u2029",
    " \u2028 ",
    "\u2028",
    "bom \ufeff inside",
    "\ufeffleading bom",
    "DEL \x7f C1 \x9b",
    "non-characters \ufffe \uffff",
    "NUL \x00 BEL \x07 ESC \x1b",
    "non-BMP 😀 𝄞 \U0010fffd",
    "typographic “quotes” — ‘dashes’ … ½",
    "Zürich São Paulo 北京 Кириллица עברית",
    "x" * 5000,
]


def front(value: str) -> bytes:
    """An article file holding ``value`` in every kind of string field."""
    title = value if value.strip() else f"title {value!r}"
    return corpora.front_matter(
        {
            "title": title,
            "excerpt": value,
            "provider": {"name": value, "domain": "example.com"},
            "topics": [value],
            "related": [{"title": title, "excerpt": value}],
            "raw": value,
        }
    )


def assert_round_trip(value: str) -> None:
    if not value:  # front_matter leaves empty fields out
        assert "raw" not in load_front_matter("t.md", decode_text("t.md", front(value)))[0]
        return
    data = front(value)
    text = decode_text("t.md", data)
    title = value if value.strip() else f"title {value!r}"
    # The project's YAML loading reads every string back exactly ...
    mapping, _ = load_front_matter("t.md", text)
    assert mapping["raw"] == value
    assert mapping["excerpt"] == value
    assert mapping["provider"]["name"] == value
    assert mapping["topics"] == [value]
    assert mapping["related"] == [{"title": title, "excerpt": value}]
    # ... as do PyYAML's safe loaders, with and without libyaml ...
    yaml_text = text.split("\n---\n")[0].removeprefix("---\n")
    loaders: list[type[yaml.SafeLoader] | type[yaml.CSafeLoader]] = [yaml.SafeLoader]
    if yaml.__with_libyaml__:
        loaders.append(yaml.CSafeLoader)
    for loader in loaders:
        assert yaml.load(yaml_text, Loader=loader) == mapping, loader
    # ... and the parser takes the file, normalising as it always does.
    articles, errors = parse_file("t.md", data)
    assert errors == []
    (article,) = articles
    assert article.title == " ".join(title.split())
    assert article.excerpt == value.strip()


@pytest.mark.parametrize("value", TRICKY, ids=range(len(TRICKY)))
def test_front_matter_strings_round_trip(value: str) -> None:
    assert_round_trip(value)
    written = corpora.yaml_str(value)
    assert "\n" not in written and "\r" not in written
    if corpora._YAML_UNSAFE.search(value) is None:
        assert written == json.dumps(value, ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_round_trips(value: str) -> None:
    assert_round_trip(value)


def test_plain_json_strings_are_not_enough() -> None:
    # Why yaml_str escapes more than json.dumps: YAML 1.1 folds these line breaks.
    for value in ["a \u2028 b", "a \x85 b"]:
        loaded = yaml.safe_load("v: " + json.dumps(value, ensure_ascii=False))["v"]
        assert loaded != value
        assert yaml.safe_load("v: " + corpora.yaml_str(value))["v"] == value


# --- cache ----------------------------------------------------------------------------------


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv(corpora.CACHE_ENV, str(path))
    return path


def test_cache_dir_is_outside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(corpora.CACHE_ENV, str(tmp_path / "c"))
    assert corpora.cache_dir() == (tmp_path / "c").resolve()
    monkeypatch.delenv(corpora.CACHE_ENV)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert corpora.cache_dir() == tmp_path.resolve() / ".cache" / "searchidx-bench"
    for inside in (ROOT, ROOT / "tests" / "cache"):
        monkeypatch.setenv(corpora.CACHE_ENV, str(inside))
        with pytest.raises(ValueError, match="outside the repository"):
            corpora.cache_dir()


def test_files_are_spread_over_small_folders(tmp_path: Path) -> None:
    writer = corpora._Writer(tmp_path)
    for i in range(2 * corpora.FILES_PER_DIR + 1):
        writer.add(f"{i:06d}", b"---\ntitle: x\n---\n", 1)
    counts = {d.name: len(list(d.iterdir())) for d in sorted(tmp_path.iterdir())}
    assert counts == {"0000": 1000, "0001": 1000, "0002": 1}
    assert (writer.stats.files, writer.stats.related) == (2001, 2001)


def article_files(folder: Path) -> dict[str, bytes]:
    """Every article file under a corpus folder, by relative path."""
    return {
        str(Path(p).relative_to(folder)): Path(p).read_bytes()
        for p in iter_article_files([str(folder)])
    }


def parse_corpus(folder: Path) -> Iterator[tuple[str, bytes, Article]]:
    files = article_files(folder)
    assert files, folder
    for name, data in files.items():
        articles, errors = parse_file(name, data)
        assert errors == [], name
        (article,) = articles
        yield name, data, article


# --- synthetic ------------------------------------------------------------------------------


def test_synthetic_corpus(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = corpora.synthetic_corpus(200)
    assert folder == cache / "synthetic-200-seed0"
    info = corpora.read_info(folder)
    assert info is not None
    assert (info["files"], info["parameters"]) == (200, {"size": 200, "seed": 0})

    parsed = list(parse_corpus(folder))
    assert len(parsed) == 200
    articles = [a for _, _, a in parsed]
    assert sum(len(a.related) for a in articles) == info["related_entries"]
    assert len({a.provider for a in articles}) > 40
    assert all(0 <= len(a.topics) <= 3 and len(a.related) <= 5 for a in articles)
    years = {a.published.year for a in articles if a.published}
    assert years <= {2021, 2022, 2023, 2024} and len(years) >= 3
    # Related entries point partly into the corpus (also by URL variants), partly outside.
    keys = {url_key(a.url) for a in articles}
    related_urls = [r.url for a in articles for r in a.related]
    inside = [u for u in related_urls if url_key(u) in keys]
    assert 0.3 < len(inside) / len(related_urls) < 0.7
    assert any(url_key(u) in keys and u not in {a.url for a in articles} for u in inside)
    # Some headlines recur across outlets.
    by_title: dict[str, set[str]] = {}
    for a in articles:
        by_title.setdefault(a.title.lower(), set()).add(a.provider)
    assert any(len(providers) > 1 for providers in by_title.values())

    # Deterministic: the same bytes in another cache; another seed differs.
    monkeypatch.setenv(corpora.CACHE_ENV, str(tmp_path / "other"))
    assert article_files(corpora.synthetic_corpus(200)) == article_files(folder)
    assert article_files(corpora.synthetic_corpus(200, seed=1)) != article_files(folder)


def test_a_matching_build_is_reused_and_a_stale_one_replaced(cache: Path) -> None:
    folder = corpora.synthetic_corpus(30)
    marker = folder / "marker.txt"
    marker.write_text("kept while the build matches")
    assert corpora.synthetic_corpus(30) == folder and marker.exists()

    info = corpora.read_info(folder)
    assert info is not None
    (folder / corpora.INFO_NAME).write_text(json.dumps({**info, "generator": "older"}))
    assert corpora.synthetic_corpus(30) == folder
    assert not marker.exists()
    rebuilt = corpora.read_info(folder)
    assert rebuilt is not None
    assert (rebuilt["generator"], rebuilt["files"]) == (corpora.GENERATOR, 30)
    assert [p.name for p in cache.iterdir()] == ["synthetic-30-seed0"]  # no leftovers


def test_command_line(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert corpora.main(["synthetic", "--size", "5", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    path, summary = out.split("\n", 1)
    assert path == str(cache / "synthetic-5-seed3")
    assert json.loads(summary)["files"] == 5
    with pytest.raises(SystemExit) as exc:
        corpora.main(["huffpost", "--size", "5"])
    assert exc.value.code == 2


# --- real data ------------------------------------------------------------------------------


def shared_file(relative: Path) -> Path:
    shared = corpora.shared_dir()
    if shared is None or not (shared / relative).exists():
        pytest.skip(f"../shared/{relative} is not present")
    return shared / relative


def test_uci_corpus(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tsv = shared_file(corpora.UCI_TSV)
    folder = corpora.uci_corpus(300)
    assert folder == cache / "uci-300"
    info = corpora.read_info(folder)
    assert info is not None and info["files"] == 300

    ids: dict[int, list[int]] = {}  # article uciId -> related uciIds
    articles: dict[int, Article] = {}
    for name, data, article in parse_corpus(folder):
        mapping, _ = load_front_matter(name, decode_text(name, data))
        uci_id = mapping["uciId"]
        assert name.endswith(f"{uci_id:06d}.md")
        related_ids = [r["uciId"] for r in mapping.get("related", [])]
        assert len(related_ids) == len(article.related) <= corpora.MAX_RELATED
        assert uci_id not in related_ids and len(set(related_ids)) == len(related_ids)
        ids[uci_id] = related_ids
        articles[uci_id] = article
    assert sorted(ids) == list(range(1, 301))  # the first rows by ID (none is unusable)
    assert sum(map(len, ids.values())) == info["related_entries"]

    # Re-read the TSV independently: related rows are other rows of the same STORY.
    wanted = set(ids) | {i for rel in ids.values() for i in rel}
    rows: dict[int, list[str]] = {}
    with tsv.open(encoding="utf-8", newline="\n") as fh:
        for line in fh:
            head = line.split("\t", 1)[0]
            if int(head) in wanted:
                fields = line.rstrip("\n").split("\t")
                rows[int(head)] = [re.sub(r"\\(.)", r"\1", f) for f in fields]
    for uci_id, related_ids in ids.items():
        fields = rows[uci_id]
        article = articles[uci_id]
        assert article.title == " ".join(fields[1].split())
        assert (article.provider, article.domain) == (fields[3], fields[6].removeprefix("www."))
        assert article.category == corpora.UCI_CATEGORIES[fields[4]]
        assert article.published is not None
        assert int(article.published.timestamp()) == int(fields[7]) // 1000
        for rid, entry in zip(related_ids, article.related, strict=True):
            assert rows[rid][5] == fields[5], (uci_id, rid)
            assert entry.title == " ".join(rows[rid][1].split())
            assert entry.url == rows[rid][2]
    # Other publishers come first.
    for uci_id, related_ids in ids.items():
        own = rows[uci_id][3]
        same = [rows[r][3] == own for r in related_ids]
        assert same == sorted(same)

    # Deterministic: the same bytes when built into another cache.
    monkeypatch.setenv(corpora.CACHE_ENV, str(tmp_path / "other"))
    assert article_files(corpora.uci_corpus(300)) == article_files(folder)


def test_uci_seed_corpus(cache: Path) -> None:
    tsv = shared_file(corpora.UCI_TSV)
    folder = corpora.uci_seed_corpus(300)
    assert folder == cache / "uci-seed-300"
    info = corpora.read_info(folder)
    assert info is not None and info["files"] == 300

    listed: dict[int, list[int]] = {}
    articles: dict[int, Article] = {}
    for name, data, article in parse_corpus(folder):
        mapping, _ = load_front_matter(name, decode_text(name, data))
        listed[mapping["uciId"]] = [r["uciId"] for r in mapping.get("related", [])]
        articles[mapping["uciId"]] = article
    assert len(listed) == 300 and max(listed) > 300_000  # sampled from the whole file
    assert sum(map(len, listed.values())) == info["related_entries"] > 4 * 300

    wanted = set(listed) | {i for rel in listed.values() for i in rel}
    rows: dict[int, list[str]] = {}
    with tsv.open(encoding="utf-8", newline="\n") as fh:
        for line in fh:
            head = line.split("\t", 1)[0]
            if int(head) in wanted:
                rows[int(head)] = line.rstrip("\n").split("\t")
    shifts: list[float] = []
    for uci_id, related_ids in listed.items():
        fields = rows[uci_id]
        assert len(related_ids) <= corpora.MAX_RELATED
        # Other publishers' rows of the story, one per publisher, none an article here.
        assert {rows[r][5] for r in related_ids} <= {fields[5]}
        publishers = [rows[r][3] for r in [uci_id, *related_ids]]
        assert len(set(publishers)) == len(publishers)
        assert not set(related_ids) & set(listed)
        times = [articles[uci_id].published, *(e.published for e in articles[uci_id].related)]
        for rid_, when in zip([uci_id, *related_ids], times, strict=True):
            assert when is not None
            shift = when.timestamp() - int(rows[rid_][7]) // 1000
            assert abs(shift) <= 24 * 3600
            shifts.append(shift)
    # Blurred over the whole range, not by a constant.
    assert min(shifts) < -12 * 3600 and max(shifts) > 12 * 3600


def test_huffpost_records() -> None:
    shared_file(corpora.HUFFPOST_DIR)
    records = corpora.read_huffpost(corpora.huffpost_files())
    assert len(records) == len({r["link"] for r in records}) == 13_456
    dates = [r["date"] for r in records]
    assert dates == sorted(dates, reverse=True)
    for i, record in enumerate(records[:: len(records) // 200]):
        name = f"{i}.md"
        articles, errors = parse_file(name, corpora.huffpost_document(record))
        assert errors == [], record
        (a,) = articles
        assert a.title == " ".join(record["headline"].split())
        assert a.excerpt == record["short_description"].strip()
        assert (a.provider, a.domain, a.topics) == (
            "HuffPost",
            "huffpost.com",
            [record["category"]],
        )
        assert a.url == record["link"]
        assert a.published is not None and a.published.date().isoformat() == record["date"]
        authors = " ".join(record["authors"].split())
        assert a.body == (f"By {authors}" if authors else "")
