"""Shared fixtures: small corpora written to tmp_path and real on-disk indexes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "searchidx" / "samples"
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"


def front_matter(fields: dict[str, Any], body: str = "") -> str:
    """An article file's text: YAML front matter, then an optional body."""
    text = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True)
    return f"---\n{text}---\n{body}"


def article(
    title: str,
    url: str | None = None,
    provider: str | None = "Harbor Wire",
    domain: str = "harborwire.com",
    published: str | None = "2024-03-05T09:00:00Z",
    **extra: Any,
) -> dict[str, Any]:
    """Fields of a typical article."""
    fields: dict[str, Any] = {"title": title}
    if url:
        fields["webUrl"] = url
    if published:
        fields["publishedDateTime"] = published
    if provider is not None:
        fields["provider"] = {"name": provider, "domain": domain}
    fields.update(extra)
    return fields


def related(title: str, url: str, provider: str, domain: str, **extra: Any) -> dict[str, Any]:
    """Fields of one related entry."""
    return {
        "title": title,
        "webUrl": url,
        "provider": {"name": provider, "domain": domain},
        **extra,
    }


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write an article file under tmp_path/corpus and return its path."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)

    def _write(name: str, fields: dict[str, Any] | str | bytes, body: str = "") -> Path:
        path = corpus / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(fields, bytes):
            path.write_bytes(fields)
        elif isinstance(fields, str):
            path.write_text(fields, encoding="utf-8")
        else:
            path.write_text(front_matter(fields, body), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def index_path(tmp_path: Path) -> str:
    return str(tmp_path / "index")


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """A private copy of the bundled sample corpus."""
    dest = tmp_path / "samples"
    shutil.copytree(SAMPLES, dest)
    return dest


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An index of the bundled samples, built once and only read by tests."""
    from searchidx.indexing import update_index

    path = str(tmp_path_factory.mktemp("sample-index") / "index")
    summary = update_index(path, [str(SAMPLES)], jobs=1)
    assert (summary.failed, summary.skipped) == (0, 0)
    return path


def sample_articles() -> list[dict[str, Any]]:
    """The sample articles read straight from their files, without searchidx: the
    independent side of brute-force checks."""
    import csv
    import json
    from xml.etree import ElementTree

    atom = "{http://www.w3.org/2005/Atom}"
    out: list[dict[str, Any]] = []
    for path in sorted(SAMPLES.iterdir()):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".rss":
            out += [
                {"title": i.findtext("title"), "topics": [c.text for c in i.iter("category")]}
                for i in ElementTree.fromstring(text).iter("item")
            ]
        elif path.suffix == ".atom":
            out += [
                {
                    "title": e.findtext(f"{atom}title"),
                    "topics": [c.get("label") for c in e.iter(f"{atom}category")],
                }
                for e in ElementTree.fromstring(text).iter(f"{atom}entry")
            ]
        elif path.suffix == ".csv":
            out += [
                {"title": row["title"], "topics": [t.strip() for t in row["topics"].split(";")]}
                for row in csv.DictReader(text.splitlines())
            ]
        elif path.suffix == ".jsonl":
            out += [json.loads(line) for line in text.splitlines() if line.strip()]
        elif path.suffix == ".json":
            out.append(json.loads(text))
        else:
            out.append(yaml.safe_load(text.split("---\n")[1]))
    return out


@pytest.fixture
def seeds() -> Path:
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not present")
    return SEEDS


# --- an index updated several times -------------------------------------------------

VOCABULARY = ["apple", "samsung", "google", "market", "court", "vote", "storm", "bank", "deal"]
FILLER = ["shares", "report", "talks", "plan", "rise", "fall", "week", "chief", "new", "says"]


def _headline(rng: object, n: int) -> str:
    import random

    assert isinstance(rng, random.Random)
    words = rng.sample(VOCABULARY, rng.randint(1, 3)) + rng.sample(FILLER, 3)
    rng.shuffle(words)
    return f"{' '.join(words).capitalize()} {n}"


@pytest.fixture(scope="module")
def updated_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """An index built from 300 articles, then updated three times (new files and edited
    ones), so that it holds several segments with deletions; and every live title by file."""
    import random

    from searchidx.indexing import update_index
    from searchidx.store import IndexDir
    from searchidx.whooshdb.storage import open_live

    rng = random.Random(7)
    base = tmp_path_factory.mktemp("updated")
    corpus, index = base / "corpus", str(base / "index")
    corpus.mkdir()
    titles_by_file: dict[str, str] = {}

    def put(n: int) -> None:
        title = _headline(rng, n)
        kind = "article"
        fields = article(
            title,
            f"https://news{n % 7}.example/{n}",
            provider=f"Outlet {n % 5}",
            domain=f"outlet{n % 5}.example",
            published=f"2014-0{3 + n % 4}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
            type=kind,
        )
        (corpus / f"{n:04d}.md").write_text(front_matter(fields), encoding="utf-8")
        titles_by_file[f"{n:04d}.md"] = title

    for n in range(300):
        put(n)
    assert update_index(index, [str(corpus)], jobs=1).failed == 0
    for step in range(3):
        for n in range(300 + 40 * step, 340 + 40 * step):
            put(n)
        for n in rng.sample(range(300), 15):  # edited: the old document is deleted
            put(n)
        assert update_index(index, [str(corpus)], jobs=1).failed == 0
    with open_live(IndexDir(index)).reader() as reader:
        assert len(reader.leaf_readers()) > 1
    return index, titles_by_file
