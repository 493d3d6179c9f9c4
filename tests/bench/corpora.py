"""Benchmark and test corpora: folders of article files built from public data, cached.

Three builders write article files in the project's input format (YAML front matter, see
``searchidx/samples`` and ``../shared/seeds``) into a cache outside the repository:

* :func:`uci_corpus` - the UCI News Aggregator headlines (422,937 rows, Mar-Aug 2014), one
  file per row; ``related`` lists other coverage of the same STORY;
* :func:`uci_seed_corpus` - UCI rows sampled from the whole file in the shape of the seed
  files: ``related`` lists other publishers' coverage that is mostly not in the corpus;
* :func:`huffpost_corpus` - the 13,456 distinct HuffPost articles of the two prefix files
  of the News Category Dataset;
* :func:`synthetic_corpus` - a seeded generator in the same schema, for any size.

A corpus is built in a hidden temporary sibling folder whose ``.CORPUS.json`` (the build's
description) is written last, then renamed into place, so a folder under :func:`cache_dir`
is always complete. A folder whose ``.CORPUS.json`` matches the request (parameters, source
file sizes and mtimes, and a hash of this module) is reused as it is. Article files are
byte-for-byte deterministic; only ``.CORPUS.json`` (build time) differs between builds.
The description's name starts with a dot because searchidx reads every ``*.json`` file of
a folder as an article, but skips hidden files: the corpus folder can be indexed as it is.

Front matter is written by string formatting: every string is a JSON string (a valid YAML
double-quoted scalar) with the few characters YAML reads differently escaped; see
:func:`yaml_str`.

Run: ``python -m tests.bench.corpora {uci,huffpost,synthetic} [--size N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from searchidx.documents import is_url, url_key

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_ENV = "SEARCHIDX_BENCH_CACHE"
UCI_TSV = Path("corpora") / "uci-news-aggregator" / "newsCorpora.tsv"
HUFFPOST_DIR = Path("corpora") / "huffpost-news-category"
#: The build description in a corpus folder (hidden: searchidx would read a ``*.json`` file
#: as an article).
INFO_NAME = ".CORPUS.json"
#: Article files per subfolder, so that no folder gets large.
FILES_PER_DIR = 1000
#: Most related entries per UCI article.
MAX_RELATED = 5
UCI_CATEGORIES = {
    "b": "business",
    "t": "science and technology",
    "e": "entertainment",
    "m": "health",
}
#: Changes whenever this module changes, so that a cached corpus is never stale.
GENERATOR = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


# --- where things are ---------------------------------------------------------------------


def cache_dir() -> Path:
    """``$SEARCHIDX_BENCH_CACHE`` if set, else ``~/.cache/searchidx-bench``; never a folder
    inside the repository (ValueError)."""
    env = os.environ.get(CACHE_ENV)
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "searchidx-bench"
    path = path.resolve()
    if path == REPO_ROOT or REPO_ROOT in path.parents:
        raise ValueError(f"the corpus cache must be outside the repository, not {path}")
    return path


def shared_dir() -> Path | None:
    """The ``shared`` folder beside the repository (public data sets), or None."""
    path = REPO_ROOT.parent / "shared"
    return path if path.is_dir() else None


def _shared_file(relative: Path) -> Path:
    shared = shared_dir()
    path = shared / relative if shared is not None else None
    if path is None or not path.exists():
        raise FileNotFoundError(f"{REPO_ROOT.parent / 'shared' / relative} is not present")
    return path


# --- writing front matter -------------------------------------------------------------------

# Characters a JSON string may hold raw that YAML does not read back as themselves: C1
# controls and DEL are refused by YAML readers, NEL, LINE and PARAGRAPH SEPARATOR are line
# breaks in YAML 1.1 (folded, eating adjacent spaces), and a BOM, non-characters and lone
# surrogates are refused or dropped.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


# What json.dumps(text, ensure_ascii=False) returns for a str, without building an encoder.
_json_string: Callable[[str], str] = json.encoder.encode_basestring


def _escape_char(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def yaml_str(text: str) -> str:
    """``text`` as a YAML double-quoted scalar that every YAML 1.1 loader reads back exactly:
    ``json.dumps(text, ensure_ascii=False)`` with the characters above escaped."""
    out: str = _json_string(text)
    if _YAML_UNSAFE.search(out) is not None:
        out = _YAML_UNSAFE.sub(_escape_char, out)
    return out


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return yaml_str(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    raise TypeError(f"cannot write {kind.__name__} values")


def _emit(lines: list[str], mapping: Mapping[str, Any], indent: str) -> None:
    """Block YAML for a mapping of strings, ints, bools, mappings and lists of those.
    None values and empty strings, lists and mappings are left out."""
    for key, value in mapping.items():
        if value is None or (not value and type(value) in (str, list, dict)):
            continue
        kind = type(value)
        if kind is dict:
            lines.append(f"{indent}{key}:")
            _emit(lines, value, indent + "  ")
        elif kind is list:
            lines.append(f"{indent}{key}:")
            for item in value:
                if type(item) is dict:
                    start = len(lines)
                    _emit(lines, item, indent + "    ")
                    if len(lines) == start:
                        lines.append(f"{indent}  - {{}}")
                    else:
                        lines[start] = f"{indent}  - {lines[start][len(indent) + 4 :]}"
                else:
                    lines.append(f"{indent}  - {_scalar(item)}")
        else:
            lines.append(f"{indent}{key}: {_scalar(value)}")


def front_matter(fields: Mapping[str, Any], body: str = "") -> bytes:
    """An article file: ``fields`` as YAML front matter, then ``body``."""
    lines = ["---"]
    _emit(lines, fields, "")
    lines.append("---")
    text = "\n".join(lines) + "\n"
    if body:
        text += "\n" + body.rstrip("\n") + "\n"
    return text.encode("utf-8")


def iso_utc(seconds: int) -> str:
    """Epoch seconds as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _bare_domain(host: str) -> str:
    host = host.strip().lower()
    while host.startswith("www."):  # one host is www.www.westkentuckystar.com
        host = host[4:]
    return host


# URLs that searchidx.documents.is_url certainly accepts, checked without urlsplit.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:[/?#][^ ]*)?")


def _clean_url(url: str) -> str:
    """The URL if the project accepts it, else "" (left out rather than written invalid)."""
    url = url.strip()
    return url if _PLAIN_URL.fullmatch(url) is not None or is_url(url) else ""


# --- building into the cache ----------------------------------------------------------------


@dataclass(slots=True)
class BuildStats:
    files: int = 0
    related: int = 0


def _source_info(path: Path) -> dict[str, Any]:
    st = path.stat()
    shared = shared_dir()
    name = str(path.relative_to(shared)) if shared and path.is_relative_to(shared) else path.name
    return {"file": name, "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


_IDENTITY_KEYS = ("name", "kind", "parameters", "sources", "generator")


def read_info(folder: Path) -> dict[str, Any] | None:
    """A corpus folder's build description (INFO_NAME), or None when missing or unreadable."""
    try:
        info = json.loads((folder / INFO_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _matches(folder: Path, identity: Mapping[str, Any]) -> bool:
    info = read_info(folder)
    return info is not None and all(info.get(k) == identity[k] for k in _IDENTITY_KEYS)


def _build(
    name: str,
    kind: str,
    parameters: dict[str, Any],
    sources: Sequence[Path],
    write: Callable[[Path], BuildStats],
    rebuild: bool = False,
) -> Path:
    """Return ``cache_dir()/name``, building it with ``write(folder)`` unless a matching
    build is there already."""
    root = cache_dir()
    final = root / name
    identity: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "parameters": parameters,
        "sources": [_source_info(p) for p in sources],
        "generator": GENERATOR,
    }
    if not rebuild and _matches(final, identity):
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=root))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private
        start = time.perf_counter()
        stats = write(tmp)
        info = {
            **identity,
            "files": stats.files,
            "related_entries": stats.related,
            "mean_related": round(stats.related / stats.files, 4) if stats.files else 0.0,
            "build_seconds": round(time.perf_counter() - start, 3),
        }
        text = json.dumps(info, indent=2, ensure_ascii=False) + "\n"
        (tmp / INFO_NAME).write_text(text, encoding="utf-8")
        _install(tmp, final, identity, replace=rebuild)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _install(tmp: Path, final: Path, identity: Mapping[str, Any], replace: bool) -> None:
    """Rename a finished build into place, replacing an old or foreign folder there."""
    try:
        os.rename(tmp, final)
        return
    except OSError:
        if not final.is_dir():
            raise
    if not replace and _matches(final, identity):  # built meanwhile by another process
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
    os.rename(final, old / final.name)
    os.rename(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


class _Writer:
    """Writes numbered article files into subfolders of at most FILES_PER_DIR files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stats = BuildStats()
        self._dir = root

    def add(self, stem: str, data: bytes, related: int) -> None:
        n = self.stats.files
        if n % FILES_PER_DIR == 0:
            self._dir = self.root / f"{n // FILES_PER_DIR:04d}"
            self._dir.mkdir()
        with open(self._dir / f"{stem}.md", "wb") as fh:
            fh.write(data)
        self.stats.files += 1
        self.stats.related += related


# --- UCI News Aggregator ------------------------------------------------------------------


class UciRow(NamedTuple):
    """One usable row of newsCorpora.tsv, unescaped."""

    id: int
    title: str
    url: str  # "" when not a valid http(s) URL
    publisher: str
    category: str
    story: str
    host: str
    ms: int  # TIMESTAMP, epoch milliseconds (-1 when unreadable)


_BACKSLASH = re.compile(r"\\(.)")


def _unescape(text: str) -> str:
    return _BACKSLASH.sub(r"\1", text) if "\\" in text else text


def _uci_row(line: str) -> UciRow:
    id_, title, url, publisher, category, story, host, stamp = line.rstrip("\r").split("\t")
    return UciRow(
        int(id_),
        _unescape(title),
        _clean_url(_unescape(url)),
        _unescape(publisher).strip(),
        category.strip(),
        sys.intern(story),
        _unescape(host),
        int(stamp) if stamp.isdigit() else -1,
    )


def read_uci(
    path: Path, limit: int | None = None, sample: str | None = None
) -> tuple[list[UciRow], list[UciRow]]:
    """The first ``limit`` usable rows of the UCI file by ID (all when None), or with
    ``sample`` (a seed) ``limit`` rows drawn at random from all usable rows, in ID order;
    and every usable row of their STORYs (by ID). A row is usable when it has 8 fields,
    a numeric ID and a title that is not blank."""
    with path.open(encoding="utf-8", newline="\n") as fh:
        lines = fh.read().split("\n")
    # A light pass over every line; only the rows needed are taken apart in full.
    usable: list[tuple[int, int, str]] = []  # ID, line index, STORY
    for i, line in enumerate(lines):
        if line.count("\t") != 7:
            continue
        id_, title, _ = line.split("\t", 2)
        if id_.isdigit() and _unescape(title).strip():
            usable.append((int(id_), i, line.rsplit("\t", 3)[1]))
    usable.sort()
    if limit is None or limit >= len(usable):
        selected = usable
    elif sample is None:
        selected = usable[:limit]
    else:
        selected = sorted(random.Random(sample).sample(usable, limit))
    stories = {story for _, _, story in selected}
    rows = {i: _uci_row(lines[i]) for _, i, story in usable if story in stories}
    return [rows[i] for _, i, _ in selected], list(rows.values())


def _nearest(group: Sequence[UciRow], pos: int) -> Iterator[UciRow]:
    """The other rows of a time-sorted group, nearest in time to ``group[pos]`` first
    (the earlier one on a tie)."""
    ms = group[pos].ms
    lo, hi, n = pos - 1, pos + 1, len(group)
    while lo >= 0 or hi < n:
        if hi >= n or (lo >= 0 and ms - group[lo].ms <= group[hi].ms - ms):
            yield group[lo]
            lo -= 1
        else:
            yield group[hi]
            hi += 1


class _UciRelated:
    """Chooses each article's related entries among all rows of its STORY."""

    def __init__(self, rows: Iterable[UciRow]) -> None:
        groups: dict[str, list[UciRow]] = defaultdict(list)
        for row in rows:
            groups[row.story].append(row)
        self.position: dict[int, tuple[list[UciRow], int]] = {}
        for group in groups.values():
            group.sort(key=lambda r: (r.ms, r.id))
            for i, row in enumerate(group):
                self.position[row.id] = (group, i)
        self._keys: dict[int, str] = {}

    def _key(self, row: UciRow) -> str:
        key = self._keys.get(row.id)
        if key is None:
            key = f"row:{row.id}"
            if row.url:
                with contextlib.suppress(ValueError):  # a URL urlsplit cannot take apart
                    key = url_key(row.url)
            self._keys[row.id] = key
        return key

    def choose(self, row: UciRow, limit: int = MAX_RELATED) -> list[UciRow]:
        """Up to ``limit`` other rows of the story, nearest in time first, preferring one
        row per other publisher, then other rows of other publishers, then the article's
        own publisher. Rows with the article's URL, or one already chosen, are skipped."""
        group, pos = self.position[row.id]
        chosen: list[UciRow] = []
        urls = {self._key(row)}
        publishers = {row.publisher}
        later: list[UciRow] = []
        for other in _nearest(group, pos):
            if other.publisher in publishers:
                later.append(other)
            elif self._key(other) not in urls:
                chosen.append(other)
                publishers.add(other.publisher)
                urls.add(self._key(other))
                if len(chosen) == limit:
                    return chosen
        for same_publisher in (False, True):
            for other in later:
                if (other.publisher == row.publisher) == same_publisher:
                    key = self._key(other)
                    if key not in urls:
                        chosen.append(other)
                        urls.add(key)
                        if len(chosen) == limit:
                            return chosen
        return chosen


def _uci_provider(row: UciRow) -> dict[str, str]:
    return {"name": row.publisher, "domain": _bare_domain(row.host)}


def uci_document(row: UciRow, related: Sequence[UciRow]) -> bytes:
    """One UCI row as an article file."""
    category = UCI_CATEGORIES.get(row.category, row.category)
    fields = {
        "category": category,
        "title": row.title,
        "publishedDateTime": iso_utc(row.ms // 1000) if row.ms >= 0 else None,
        "webUrl": row.url,
        "type": "article",
        "provider": _uci_provider(row),
        "topics": [category],
        "related": [
            {
                "title": r.title,
                "publishedDateTime": iso_utc(r.ms // 1000) if r.ms >= 0 else None,
                "webUrl": r.url,
                "type": "article",
                "provider": _uci_provider(r),
                "uciId": r.id,
            }
            for r in related
        ],
        "uciId": row.id,
        "uciStory": row.story,
    }
    return front_matter(fields)


def uci_corpus(size: int, *, rebuild: bool = False) -> Path:
    """The first ``size`` usable rows of the UCI News Aggregator file, one article file each
    (all usable rows when there are fewer), in ``cache_dir()/uci-<size>``.

    Files are ``NNNN/IIIIII.md`` (``I`` the UCI ID); ``uciId`` and ``uciStory`` are kept
    in the front matter (the project ignores unknown keys), ``uciId`` in related entries.
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, not {size}")
    tsv = _shared_file(UCI_TSV)

    def write(folder: Path) -> BuildStats:
        rows, story_rows = read_uci(tsv, size)
        related = _UciRelated(story_rows)
        out = _Writer(folder)
        for row in rows:
            chosen = related.choose(row)
            out.add(f"{row.id:06d}", uci_document(row, chosen), len(chosen))
        return out.stats

    return _build(f"uci-{size}", "uci", {"size": size}, [tsv], write, rebuild)


#: The seed-shaped corpora blur each row's TIMESTAMP by up to this much either way.
SEED_BLUR_MS = 24 * 3600 * 1000


def blurred(row: UciRow) -> UciRow:
    """The row with its time shifted by a random amount within +-SEED_BLUR_MS, the same
    for a row wherever it appears (drawn from a generator seeded with its ID). TIMESTAMP
    is when the aggregator fetched a row, and it fetched a story's rows in one go:
    unblurred, a story's coverage falls within seconds and in ID order, which real
    coverage does not."""
    if row.ms < 0:
        return row
    shift = random.Random(f"searchidx-uci-seed:{row.id}").randint(-SEED_BLUR_MS, SEED_BLUR_MS)
    return row._replace(ms=row.ms + shift)


class _SeedRelated(_UciRelated):
    """Related entries as in the seed files: other publishers' coverage of the story,
    rows that are not articles of the corpus first."""

    def __init__(self, rows: Iterable[UciRow], articles: set[int]) -> None:
        super().__init__(rows)
        self.articles = articles

    def choose(self, row: UciRow, limit: int = MAX_RELATED) -> list[UciRow]:
        """Up to ``limit`` rows of the story from other publishers, one per publisher,
        nearest in time first; rows that are no article of the corpus before those that
        are. Rows with the article's URL, or one already chosen, are skipped."""
        group, pos = self.position[row.id]
        outside: list[UciRow] = []
        inside: list[UciRow] = []
        publishers = {row.publisher}
        for other in _nearest(group, pos):
            if other.publisher not in publishers:
                publishers.add(other.publisher)
                (inside if other.id in self.articles else outside).append(other)
        chosen: list[UciRow] = []
        urls = {self._key(row)}
        for other in outside + inside:
            key = self._key(other)
            if key not in urls:
                chosen.append(other)
                urls.add(key)
                if len(chosen) == limit:
                    break
        return chosen


def uci_seed_corpus(size: int, *, rebuild: bool = False) -> Path:
    """``size`` rows sampled (fixed seed) from all usable rows of the UCI file, in the
    shape of the seed files, in ``cache_dir()/uci-seed-<size>`` (every usable row when
    there are fewer).

    Each article lists up to MAX_RELATED rows of its STORY from other publishers,
    preferring rows not sampled, so most related entries are no article of the corpus
    (with the whole file, every row is an article). Times are blurred (:func:`blurred`).
    Files are ``NNNN/IIIIII.md`` in ID order, with ``uciId`` and ``uciStory`` as in
    :func:`uci_corpus`.
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, not {size}")
    tsv = _shared_file(UCI_TSV)

    def write(folder: Path) -> BuildStats:
        rows, story_rows = read_uci(tsv, size, sample=f"searchidx-uci-seed:{size}")
        articles = [blurred(row) for row in rows]
        related = _SeedRelated(map(blurred, story_rows), {row.id for row in rows})
        out = _Writer(folder)
        for row in articles:
            chosen = related.choose(row)
            out.add(f"{row.id:06d}", uci_document(row, chosen), len(chosen))
        return out.stats

    return _build(f"uci-seed-{size}", "uci-seed", {"size": size}, [tsv], write, rebuild)


# --- HuffPost News Category Dataset ---------------------------------------------------------


def huffpost_files() -> list[Path]:
    """The HuffPost JSON Lines files, by name."""
    folder = _shared_file(HUFFPOST_DIR)
    files = sorted(folder.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no *.json files in {folder}")
    return files


def read_huffpost(files: Iterable[Path]) -> list[dict[str, Any]]:
    """Every distinct link's first record (files in order) with a non-empty headline,
    newest date first (file order among one date)."""
    seen: set[str] = set()
    records: list[dict[str, Any]] = []
    for path in files:
        with path.open(encoding="utf-8", newline="\n") as fh:
            for line in fh:
                if not line.strip():
                    continue
                record = json.loads(line)
                link = str(record.get("link") or "")
                if link in seen or not str(record.get("headline") or "").strip():
                    continue
                seen.add(link)
                records.append(record)
    records.sort(key=lambda r: str(r.get("date") or ""), reverse=True)
    return records


def huffpost_document(record: Mapping[str, Any]) -> bytes:
    """One HuffPost record as an article file; the authors are the body."""
    category = str(record.get("category") or "").strip()
    date = str(record.get("date") or "").strip()
    fields = {
        "category": category,
        "title": str(record["headline"]),
        "excerpt": str(record.get("short_description") or ""),
        "publishedDateTime": f"{date}T00:00:00Z" if date else None,
        "webUrl": _clean_url(str(record.get("link") or "")),
        "type": "article",
        "provider": {"name": "HuffPost", "domain": "huffpost.com"},
        "topics": [category] if category else [],
    }
    authors = " ".join(str(record.get("authors") or "").split())
    return front_matter(fields, f"By {authors}" if authors else "")


def huffpost_corpus(*, rebuild: bool = False) -> Path:
    """Every distinct article of the HuffPost files, in ``cache_dir()/huffpost``."""
    files = huffpost_files()

    def write(folder: Path) -> BuildStats:
        out = _Writer(folder)
        for i, record in enumerate(read_huffpost(files)):
            out.add(f"{i:06d}", huffpost_document(record), 0)
        return out.stats

    return _build("huffpost", "huffpost", {}, files, write, rebuild)


# --- synthetic ------------------------------------------------------------------------------

# Ordered roughly by how common the words are in headlines: rank r is drawn with weight
# 1 / r**ZIPF_S (repeats within a headline are dropped). The rare end holds tokens that
# test quoting and tokenising.
VOCABULARY = """
new says after over report first year state could government plan city police court deal
market price people school health world election vote bill law company shares stocks rise
fall record season team game win loss storm flood fire water climate energy oil gas power
bank rates inflation jobs workers strike union housing rent tax budget council mayor
governor president minister leader party campaign debate poll survey study research
scientists doctors hospital patients virus vaccine drug trial judge jury lawsuit
investigation charges arrest crash accident bridge road traffic train rail airport flight
airline travel tourism hotel film movie music album concert festival star actor singer
show series streaming book author museum art exhibit restaurant food farm farmers crop
drought heat wave coast harbor river lake park forest wildlife species ocean fishing port
shipping trade tariffs exports imports factory plant steel cars electric battery solar
wind grid outage internet data privacy software app phone chip startup funding investors
merger acquisition profit revenue earnings quarter forecast growth economy recession debt
loan mortgage consumers retail sales holiday shopping online security cyber attack hackers
breach military troops border talks summit treaty sanctions protest rally march crowd
students teachers university college exam scholarship children parents family women men
youth seniors community neighborhood church announces launches warns faces wins loses
approves rejects delays expands cuts raises opens closes builds moves seeks backs blocks
signs hits drops jumps surges slumps returns ends begins reveals confirms denies calls
urges considers unveils reports major local national global federal regional rural urban
early late big small long short high low strong weak top key final annual historic rare
old young public private free open secret hidden best worst fast slow million billion
percent week month day night morning summer winter spring autumn north south east west
central island valley mountain desert snow rain ice hurricane earthquake wildfire smoke
air pollution emissions carbon recycling waste plastic transit bus bike robot AI quantum
space rocket satellite moon Mars telescope discovery fossil ancient history archive
library language culture fashion design sports football soccer basketball tennis golf
Olympics coach player fans stadium league championship tournament medal marathon
insurance pension wages payroll layoffs hiring ceo board lawmakers senate congress
parliament ministers agency regulators ban rules standards safety recall inspection
warning alert evacuation rescue shelter aid donation charity volunteers homeless
affordable income poverty benefits welfare clinic nurses surgery cancer heart diabetes
mental therapy nutrition diet fitness sleep screen gaming console esports platform
subscribers advertising media newspaper broadcast radio podcast journalists interview
memoir biography novel poetry theater opera ballet gallery auction collector painting
sculpture architecture tower skyline downtown suburb village county province region
nation continent Europe Asia Africa America Pacific Atlantic Arctic glacier volcano
tsunami tornado lightning thunder fog frost cold record-breaking long-awaited
Q&A: “Exclusive” café São $3.5B #1 — 2024: 'We 100% C++ naïve Zürich 🚀 AT&T 50/50
"""

TOPICS = (
    "Politics",
    "Elections",
    "Economy",
    "Markets",
    "Technology",
    "AI",
    "Cybersecurity",
    "Climate",
    "Weather",
    "Energy",
    "Health",
    "Science",
    "Space",
    "Education",
    "Crime",
    "Courts",
    "Transportation",
    "Housing",
    "Environment",
    "Agriculture",
    "Sports",
    "Football",
    "Basketball",
    "Entertainment",
    "Film",
    "Music",
    "Books",
    "Arts",
    "Food",
    "Travel",
    "Business",
    "Startups",
    "Real Estate",
    "Labor",
    "Immigration",
    "World",
    "Europe",
    "Asia",
    "Local News",
    "Opinion",
)

_PLACES = [
    "Northfield",
    "Harbor",
    "Lakeside",
    "Pinecrest",
    "Riverside",
    "Summit",
    "Granite",
    "Bayview",
    "Cedar",
    "Ironwood",
    "Maple",
    "Westbrook",
    "Eastgate",
    "Silverton",
    "Oakridge",
    "Clearwater",
    "Highland",
    "Fairview",
    "Zürich",
    "O'Hara",
]
_OUTLETS = [
    "Times",
    "Herald",
    "Gazette",
    "Post",
    "Tribune",
    "Journal",
    "Wire",
    "Dispatch",
    "Chronicle",
    "Ledger",
    "Observer",
    "Courier",
    "Sentinel",
    "Register",
    "Daily",
]
_TLDS = (".com", ".com", ".com", ".net", ".org", ".co.uk", ".news")
_SUFFIXES = (" - update", " (video)", " | live", ": what we know", " — analysis")

ZIPF_S = 0.95
SYNTH_START = 1_609_459_200  # 2021-01-01T00:00:00Z
SYNTH_SPAN = 3 * 365 * 86_400
NEAR_DUPLICATE_RATE = 0.1
BODY_RATE = 0.5
INTERNAL_RELATED_RATE = 0.5
URL_VARIANT_RATE = 0.2
RELATED_COUNT_WEIGHTS = (20, 25, 20, 15, 12, 8)  # 0..5 entries, mean 1.98
TOPIC_COUNT_WEIGHTS = (2, 4, 3, 1)  # 0..3 topics


def _zipf_cum(n: int, s: float = ZIPF_S) -> list[float]:
    return list(itertools.accumulate(1 / (rank**s) for rank in range(1, n + 1)))


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


class _Provider(NamedTuple):
    name: str
    domain: str
    title_case: bool


def synthetic_providers() -> list[_Provider]:
    """The ~300 synthetic outlets, most frequent first (the same for every seed)."""
    names = [f"{place} {outlet}" for place in _PLACES for outlet in _OUTLETS]
    random.Random("searchidx-synthetic-providers").shuffle(names)
    return [
        _Provider(name, _slug(name).replace("-", "") + _TLDS[i % len(_TLDS)], i % 3 == 0)
        for i, name in enumerate(names)
    ]


class _Item(NamedTuple):
    title: str
    seconds: int
    provider: int
    url: str


class _Synthetic:
    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.rng = random.Random(f"searchidx-synthetic:{size}:{seed}")
        self.words = VOCABULARY.split()
        self.word_cum = _zipf_cum(len(self.words))
        self.providers = synthetic_providers()
        self.provider_cum = _zipf_cum(len(self.providers))
        self.topic_cum = _zipf_cum(len(TOPICS), 0.8)
        self.items: list[_Item] = []
        for i in range(size):
            self.items.append(self._item(i))
        self.outside = [self._item(-1 - k) for k in range(max(20, size // 3))]

    def _pick_provider(self) -> int:
        return self.rng.choices(range(len(self.providers)), cum_weights=self.provider_cum)[0]

    def _text(self, low: int, high: int) -> list[str]:
        return self.rng.choices(
            self.words, cum_weights=self.word_cum, k=self.rng.randint(low, high)
        )

    def _headline(self, title_case: bool) -> str:
        words = list(dict.fromkeys(self._text(6, 16)))[: self.rng.randint(4, 11)]
        if title_case:
            words = [w[:1].upper() + w[1:] for w in words]
        else:
            words[0] = words[0][:1].upper() + words[0][1:]
        if len(words) > 4 and self.rng.random() < 0.15:
            words[1] += ":"
        return " ".join(words)

    def _variant(self, title: str) -> str:
        """A near-duplicate of a headline, as another outlet would run it."""
        rng = self.rng
        op = rng.random()
        words = title.split()
        if op < 0.3 or len(words) < 3:
            return title
        if op < 0.6:
            words[rng.randrange(1, len(words))] = self._text(1, 1)[0]
        elif op < 0.75:
            words.pop()
        elif op < 0.85:
            return title.upper() if rng.random() < 0.2 else title.title()
        else:
            return title + rng.choice(_SUFFIXES)
        return " ".join(words)

    def _item(self, i: int) -> _Item:
        """Article ``i`` (an outside article when negative): headline, date, outlet, URL."""
        rng = self.rng
        provider = self._pick_provider()
        if i > 0 and rng.random() < NEAR_DUPLICATE_RATE:
            base = self.items[rng.randrange(max(0, i - 500), i)]
            for _ in range(5):
                if provider != base.provider:
                    break
                provider = self._pick_provider()
            title = self._variant(base.title)
            seconds = base.seconds + rng.randrange(2 * 86_400)
        else:
            title = self._headline(self.providers[provider].title_case)
            seconds = SYNTH_START + rng.randrange(SYNTH_SPAN)
        domain = self.providers[provider].domain
        day = time.strftime("%Y/%m/%d", time.gmtime(seconds))
        slug = "-".join(_slug(title).split("-")[:8]) or "story"
        if i >= 0:
            url = f"https://www.{domain}/{day}/{slug}-{i}"
        else:
            url = f"https://{domain}/story/{slug}-x{-1 - i}"
        return _Item(title, seconds, provider, url)

    def _url_variant(self, url: str) -> str:
        """The same article's URL as another site links it (the project's URL identity
        ignores these differences)."""
        choice = self.rng.randrange(4)
        if choice == 0:
            return url + "?amp"
        if choice == 1:
            return url.replace("https://www.", "http://", 1)
        if choice == 2:
            return url + "/"
        return url + "?utm_source=feed"

    def _related(self, i: int) -> list[dict[str, Any]]:
        rng = self.rng
        count = rng.choices(range(len(RELATED_COUNT_WEIGHTS)), RELATED_COUNT_WEIGHTS)[0]
        entries: list[dict[str, Any]] = []
        seen: set[int] = set()
        for _ in range(count):
            if self.size > 1 and rng.random() < INTERNAL_RELATED_RATE:
                j = rng.randrange(self.size)
                if j == i or j in seen:
                    continue
                seen.add(j)
                item = self.items[j]
                url = item.url
                if rng.random() < URL_VARIANT_RATE:
                    url = self._url_variant(url)
            else:
                k = rng.randrange(len(self.outside))
                if -1 - k in seen:
                    continue
                seen.add(-1 - k)
                item = self.outside[k]
                url = item.url
            provider = self.providers[item.provider]
            entries.append(
                {
                    "title": item.title,
                    "publishedDateTime": iso_utc(item.seconds),
                    "webUrl": url,
                    "type": "article",
                    "provider": {"name": provider.name, "domain": provider.domain},
                    "quality": rng.randint(0, 100),
                }
            )
        return entries

    def _sentence(self, low: int, high: int) -> str:
        text = " ".join(self._text(low, high))
        return text[:1].upper() + text[1:] + "."

    def document(self, i: int) -> tuple[bytes, int]:
        rng = self.rng
        item = self.items[i]
        provider = self.providers[item.provider]
        n_topics = rng.choices(range(len(TOPIC_COUNT_WEIGHTS)), TOPIC_COUNT_WEIGHTS)[0]
        topics: list[str] = []
        for _ in range(3 * n_topics):
            if len(topics) == n_topics:
                break
            topic = rng.choices(TOPICS, cum_weights=self.topic_cum)[0]
            if topic not in topics:
                topics.append(topic)
        images = []
        if rng.random() < 0.6:
            width = rng.choice((640, 800, 1200, 1600))
            images.append(
                {
                    "url": f"https://img.{provider.domain}/{i}.jpg",
                    "width": width,
                    "height": width * 9 // 16,
                    "isCached": rng.random() < 0.5,
                }
            )
        related = self._related(i)
        fields = {
            "category": "news",
            "title": item.title,
            "excerpt": self._sentence(12, 30),
            "publishedDateTime": iso_utc(item.seconds),
            "webUrl": item.url,
            "type": "article",
            "quality": rng.randint(0, 100),
            "heat": -1 if rng.random() < 0.2 else rng.randint(0, 100),
            "published": rng.random() < 0.8,
            "provider": {"name": provider.name, "domain": provider.domain},
            "topics": topics,
            "images": images,
            "related": related,
        }
        body = ""
        if rng.random() < BODY_RATE:
            paragraphs = (
                " ".join(self._sentence(6, 18) for _ in range(rng.randint(2, 4)))
                for _ in range(rng.randint(1, 3))
            )
            body = "\n\n".join(paragraphs)
        return front_matter(fields, body), len(related)


def synthetic_corpus(size: int, seed: int = 0, *, rebuild: bool = False) -> Path:
    """``size`` generated articles, deterministic for (size, seed), in
    ``cache_dir()/synthetic-<size>-seed<seed>``.

    Headlines are drawn from VOCABULARY with Zipf frequencies; outlets from ~300 with Zipf
    frequencies; 0-3 of 40 topics; dates over 2021-2023; about 10% of headlines are
    near-duplicates of a recent one from another outlet; 0-5 related entries, half
    pointing to other articles of the corpus (a fifth of those by a URL variant), half to
    a shared pool of outside articles.
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, not {size}")

    def write(folder: Path) -> BuildStats:
        gen = _Synthetic(size, seed)
        out = _Writer(folder)
        for i in range(size):
            data, related = gen.document(i)
            out.add(f"{i:06d}", data, related)
        return out.stats

    name = f"synthetic-{size}-seed{seed}"
    return _build(name, "synthetic", {"size": size, "seed": seed}, [], write, rebuild)


# --- command line ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.corpora",
        description="Build (or reuse) a benchmark corpus in the cache and print its path.",
    )
    parser.add_argument("kind", choices=("uci", "uci-seed", "huffpost", "synthetic"))
    parser.add_argument("--size", type=int, help="number of articles (default 10000)")
    parser.add_argument("--seed", type=int, help="synthetic only (default 0)")
    parser.add_argument("--rebuild", action="store_true", help="build even if cached")
    args = parser.parse_args(argv)
    if args.kind == "huffpost" and args.size is not None:
        parser.error("huffpost takes no --size: it is every distinct article")
    if args.kind != "synthetic" and args.seed is not None:
        parser.error("--seed is for synthetic corpora only")
    if args.size is not None and args.size < 1:
        parser.error("--size must be at least 1")
    size = 10_000 if args.size is None else args.size
    seed = 0 if args.seed is None else args.seed
    start = time.perf_counter()
    try:
        if args.kind == "uci":
            path = uci_corpus(size, rebuild=args.rebuild)
        elif args.kind == "uci-seed":
            path = uci_seed_corpus(size, rebuild=args.rebuild)
        elif args.kind == "huffpost":
            path = huffpost_corpus(rebuild=args.rebuild)
        else:
            path = synthetic_corpus(size, seed, rebuild=args.rebuild)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    print(path)
    print(json.dumps(read_info(path), indent=2, ensure_ascii=False))
    print(f"({elapsed:.1f} s in this run)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
