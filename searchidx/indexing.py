"""Building and updating an index from article files.

Items and their identity
    Each article becomes an item whose id is derived from its URL (normalised by
    :func:`~searchidx.documents.url_key`), or from its file when it has none. Each entry
    of an article's ``related`` list becomes an item of kind ``related`` with the id of
    its URL. One outlet's near-identical headline variants within a list are one item
    (:func:`~searchidx.dedup.collapse_variants`). When an indexed article file has the
    URL of a related entry, that item is the article; when several files list the same
    related URL, their entries merge into one item.

What is stored where
    The article document holds the article and every related entry it lists, so related
    items are derived data: rebuilt from the articles that cite them (``cites:ID``)
    whenever one of those changes. The manifest records, per file, its size, mtime,
    content hash, the ids it claims and the ids it cites.

Updates
    Files are compared by size and mtime, then by content hash; only new and changed
    files are read. Parsing runs in worker processes and overlaps with writing; in a big
    first build the workers write each chunk's documents to a batch file that Whoosh's
    sub-writers read, so documents do not pass through the main process. A file that
    fails keeps what was indexed from it before. Everything is committed at once.
"""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import pickle
import signal
import stat
import sys
import time
import warnings
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from whoosh.codec import whoosh3
from whoosh.multiproc import MpWriter
from whoosh.writing import SegmentWriter

from searchidx.dedup import RELATED_VARIANT_THRESHOLD, collapse_variants, normalize_title
from searchidx.documents import (
    Article,
    RelatedEntry,
    content_digest,
    item_id,
    iter_article_files,
    os_reason,
    path_key,
    read_file,
    url_key,
)
from searchidx.errors import IndexWriteError, InvalidOption, ParseError, printable
from searchidx.feeds import parse_any_file
from searchidx.schema import GIST_CHARS, WORD_FIELDS, provider_key, topic_key
from searchidx.store import READ_FAILURES, FileEntry, IndexDir, Manifest, damage, gc_paused, opened

Record = dict[str, Any]

#: From this many files, a fresh build uses Whoosh's multi-process writer.
BIG_BUILD = 2000
#: Small segments an index may keep before an update merges them.
SMALL_SEGMENTS = 2
#: Files handed to a parsing process at a time.
LOAD_CHUNK = 100
#: Whoosh writer settings of a big first build (one sub-writer per process, each writing
#: a segment of its own) and of every other run. Segments are kept as separate files
#: rather than one compound file: Whoosh copies a compound file's parts into memory
#: when a reader opens them, which made opening a 100k index cost more than a query.
BIG_WRITER: dict[str, Any] = {"multisegment": True, "limitmb": 128, "compound": False}
WRITER: dict[str, Any] = {"limitmb": 256, "compound": False}
#: Tasks of a parsing process: (path, digest indexed before, variant threshold).
Task = tuple[str, str | None, float]


_NO_COLUMN = object()


def _cached_column_reader(self: Any, fieldname: str, column: Any) -> Any:
    """Whoosh's per-document reader keeps the column readers it opened, but not the
    answer that a column does not exist, which it asks the file system again on every
    call. Writing a segment asks for a field's length column at every posting, so each
    posting of a field without lengths (ids, keys, dates, numbers) cost a stat call:
    about a fifth of a seed-shaped build's writing. A written segment's files do not
    change, so the answer is kept as well."""
    reader = self._readers.get(fieldname, _NO_COLUMN)
    if reader is _NO_COLUMN:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
    return reader


whoosh3.W3PerDocReader._cached_reader = _cached_column_reader


class _Spill:
    """Related entries of a fresh build whose item may still turn out to be an article
    file read later, kept in a temporary file in the data folder rather than in memory."""

    def __init__(self, folder: str) -> None:
        self.path = os.path.join(folder, f"related.tmp-{os.getpid()}")
        self.fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed in unresolved

    def add(self, line: str) -> None:
        """Keep one ``[item, citing article, entry]`` JSON line."""
        self.fh.write(line)

    def unresolved(self, articles: set[str]) -> dict[str, list[str]]:
        """The lines of the entries whose item is no article, grouped by item (in the
        order they were kept); the file is removed."""
        self.fh.close()
        groups: dict[str, list[str]] = defaultdict(list)
        try:
            with open(self.path, encoding="utf-8") as fh:
                for line in fh:
                    item = line[2 : line.index('"', 2)]  # a line starts ["<item id>",
                    if item not in articles:
                        groups[item].append(line)
        finally:
            os.unlink(self.path)
        return groups


def related_fields(item: str, lines: list[str]) -> dict[str, Any]:
    """The Whoosh document of a related item that is no article, from its spill lines."""
    cites: list[tuple[str, Record]] = []
    for line in lines:
        _, citing, record = json.loads(line)
        cites.append((citing, record))
    return whoosh_fields(merged_related(item, cites))


@dataclass(slots=True)
class IndexSummary:
    """The outcome of one ``index`` run."""

    index: str
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: int = 0
    seconds: float = 0.0
    files: int = 0
    items: int = 0


@dataclass(slots=True)
class ArticleDoc:
    """An article ready to index: its display record, its body text, and (made in the
    worker that parsed it) its Whoosh fields."""

    record: Record
    body: str = ""
    fields: dict[str, Any] | None = None
    #: Each related entry as a JSON line ``[item, citing article, entry]``.
    related_lines: list[str] = field(default_factory=list)

    def whoosh(self) -> dict[str, Any]:
        if self.fields is None:
            self.fields = whoosh_fields(self.record, self.body)
        return self.fields

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def order(self) -> tuple[str, int]:
        """Which of several files with one URL wins: the first by path, then line."""
        return (str(self.record["path"]), self.record["line"] or 0)


@dataclass(slots=True)
class Loaded:
    """What a worker made of one file."""

    path: str
    size: int = 0
    mtime_ns: int = 0
    digest: str = ""
    same_content: bool = False
    docs: list[ArticleDoc] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)


@dataclass(slots=True)
class Chunk:
    """Files a worker loaded together, in path order. In a big build the worker writes
    their items' fields to a batch file for Whoosh's sub-writers (``batch``, in the
    writer's temporary folder) instead of sending them through this process."""

    files: list[Loaded]
    batch: str | None = None
    count: int = 0


class BatchWriter(MpWriter):  # type: ignore[misc]
    """Whoosh's multi-process writer, also taking whole batch files from parsing
    processes, and letting its sub-writers finish their segments early."""

    closed = False

    def add_batch(self, name: str, count: int) -> None:
        """Hand the sub-writers a batch file of ``count`` documents, written the way
        Whoosh writes its own (see ``MpWriter._enqueue``), which they read and delete."""
        if len(self.tasks) < self.procs:
            self._new_task()
        self.jobqueue.put((name, count))
        self._added_sub = True

    def add_batches(self, folder: str, docs: Iterable[dict[str, Any]], size: int = 1000) -> None:
        """Hand the sub-writers ``docs`` in batch files of ``size`` documents written
        here (in ``folder``, the writer's temporary folder). The job queue is short, so
        this goes at the pace of the sub-writers and the files do not pile up."""
        docs = iter(docs)
        number = 0
        while batch := list(islice(docs, size)):
            name = f"related-{number}.doclist"
            number += 1
            with open(os.path.join(folder, name), "wb") as fh:
                for fields in batch:
                    pickle.dump((0, fields), fh, 2)
            with _sigint_deferred():
                self.add_batch(name, len(batch))

    def close_batches(self) -> None:
        """Tell the sub-writers that no more batches come, so they write their segments
        while this process goes on; documents added from now on go to its own segment.
        (Commit sends the sub-writers' end marks once more, which nobody reads.)"""
        if self.docbuffer:
            self._enqueue()
        for _ in self.tasks:
            self.jobqueue.put(None)
        self.closed = True

    def add_document(self, **fields: Any) -> None:
        if self.closed:
            SegmentWriter.add_document(self, **fields)
        else:
            super().add_document(**fields)


# --- records -----------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def related_record(group: list[RelatedEntry]) -> Record:
    """One related item as an article lists it: the first variant, plus every variant's
    title and URL."""
    first = group[0]
    titles = list(dict.fromkeys(e.title for e in group))
    urls = list(dict.fromkeys(e.url for e in group if e.url))
    key = url_key(urls[0]) if urls else f"title:{provider_key(first.provider)}:{first.title}"
    return {
        "id": item_id(key),
        "title": first.title,
        "titles": titles,
        "urls": urls,
        "url": urls[0] if urls else "",
        "excerpt": next((e.excerpt for e in group if e.excerpt), ""),
        "provider": first.provider,
        "domain": first.domain,
        "published": _iso(next((e.published for e in group if e.published), None)),
        "type": first.type,
        "quality": next((e.quality for e in group if e.quality is not None), None),
    }


def article_doc(article: Article, variant_threshold: float) -> ArticleDoc:
    """Build the indexable form of an article, collapsing its related list."""
    url = article.url
    own_id = item_id(url_key(url) if url else path_key(article.path, article.line))
    related: list[Record] = []
    for group in collapse_variants(article.related, variant_threshold):
        rec = related_record(group)
        if rec["id"] != own_id and all(r["id"] != rec["id"] for r in related):
            related.append(rec)
    record: Record = {
        "id": own_id,
        "kind": "article",
        "title": article.title,
        "titles": [article.title],
        "urls": [u for u in dict.fromkeys((article.web_url, article.original_url)) if u],
        "url": url,
        "excerpt": article.excerpt,
        "provider": article.provider,
        "domain": article.domain,
        "topics": article.topics,
        "category": article.category,
        "type": article.type,
        "published": _iso(article.published),
        "quality": article.quality,
        "heat": article.heat,
        "is_published": article.is_published,
        "images": article.image_count,
        "path": article.path,
        "line": article.line,
        "related": related,
    }
    return ArticleDoc(record=record, body=article.body)


def merged_related(item: str, citations: list[tuple[str, Record]]) -> Record:
    """The related item ``item`` as the union of what its citing articles say about it.
    Citations are ordered by citing article id, so the result does not depend on the
    order files were read in."""
    recs = [rec for _, rec in sorted(citations, key=lambda c: (c[0], c[1]["title"]))]
    first = recs[0]
    urls = list(dict.fromkeys(u for r in recs for u in r["urls"]))

    def first_set(key: str) -> Any:
        return next((r[key] for r in recs if r[key] not in (None, "")), first[key])

    return {
        "id": item,
        "kind": "related",
        "title": first["title"],
        "titles": list(dict.fromkeys(t for r in recs for t in r["titles"])),
        "urls": urls,
        "url": urls[0] if urls else "",
        "excerpt": first_set("excerpt"),
        "provider": first_set("provider"),
        "domain": first_set("domain"),
        "topics": [],
        "category": "",
        "type": first_set("type"),
        "published": first_set("published"),
        "quality": first_set("quality"),
        "heat": None,
        "is_published": None,
        "images": 0,
        "path": "",
        "line": None,
        "related": [],
    }


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def record_json(record: Record, related: list[str] | None = None) -> str:
    """A record as stored (``data``). ``related`` may give its related entries already
    encoded; they are spliced in as the last key, which is where the record has them."""
    if related is None:
        return _json(record)
    assert next(reversed(record)) == "related"
    head = _json({k: v for k, v in record.items() if k != "related"})
    return f'{head[:-1]},"related":[{",".join(related)}]}}'


def whoosh_fields(
    record: Record, body: str = "", related_json: list[str] | None = None
) -> dict[str, Any]:
    """The Whoosh document for a record (see :mod:`searchidx.schema`)."""
    doc: dict[str, Any] = {
        "id": record["id"],
        "kind": record["kind"],
        "title": record["title"],
        "data": record_json(record, related_json),
    }
    norm = normalize_title(record["title"], record["provider"], record["domain"])
    if norm:
        doc["norm"] = norm
    alt = [t for t in record["titles"] if t != record["title"]]
    if alt:
        doc["alt_titles"] = "\n".join(alt)
    if record["excerpt"]:
        doc["excerpt"] = record["excerpt"]
    if body:
        doc["body"] = body
    for name, twin in WORD_FIELDS.items():  # unstemmed, for wildcards
        if name in doc:
            doc[twin] = doc[name]
    if record["topics"]:
        doc["topic"] = ",".join(topic_key(t) for t in record["topics"])
    if record["provider"]:
        doc["provider"] = provider_key(record["provider"])
        doc["provider_name"] = record["provider"]
    for key in ("domain", "category"):
        if record[key]:
            doc[key] = record[key]
    if record["published"]:
        when = datetime.fromisoformat(record["published"])
        doc["published"] = when.replace(tzinfo=None)
        doc["oldest"] = -int(when.timestamp() * 1_000_000)
        doc["month"] = record["published"][:7]
    for key in ("quality", "heat"):
        if record[key] is not None:
            doc[key] = max(-(2**31) + 1, min(2**31 - 1, round(record[key])))
    if record["is_published"] is not None:
        doc["is_published"] = record["is_published"]
    if record["related"]:
        doc["cites"] = ",".join(r["id"] for r in record["related"])
        doc["links"] = " ".join(r["id"] for r in record["related"]).encode("utf-8")
    if record["excerpt"]:
        doc["gist"] = normalize_title(record["excerpt"])[:GIST_CHARS].encode("utf-8")
    return doc


# --- reading files (in worker processes) -------------------------------------------------


def load_file(task: Task) -> Loaded:
    """Read, hash and (unless its content is as before) parse one file. Whatever goes
    wrong with it is the file's error, which the rest of the run goes on without."""
    try:
        return _load_file(task)
    except Exception as exc:  # a failure the parser does not foresee: still the file's
        return Loaded(path=task[0], errors=[ParseError(task[0], f"cannot be read: {exc!r}")])


def _load_file(task: Task) -> Loaded:
    path, old_digest, variant_threshold = task
    try:
        data, st = read_file(path)
    except ParseError as exc:
        return Loaded(path=path, errors=[exc])
    loaded = Loaded(
        path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, digest=content_digest(data)
    )
    if loaded.digest == old_digest:
        loaded.same_content = True
        return loaded
    articles, loaded.errors = parse_any_file(path, data)
    loaded.docs = [article_doc(a, variant_threshold) for a in articles]
    for doc in loaded.docs:
        # The fields hold the whole record; the writer needs only its identity and the
        # related entries, which travel as JSON lines ready for the spill file. Each
        # entry is encoded once, for both. (Ids are hex digits: no escaping.)
        related = doc.record["related"]
        encoded = [_json(r) for r in related]
        doc.fields = whoosh_fields(doc.record, doc.body, encoded)
        doc.related_lines = [
            f'["{r["id"]}","{doc.id}",{e}]\n' for r, e in zip(related, encoded, strict=True)
        ]
        doc.record = {k: doc.record[k] for k in ("id", "path", "line")}
        doc.record["related_ids"] = [r["id"] for r in related]
        doc.body = ""
    return loaded


def _load_chunk(number: int, tasks: list[Task], batch_folder: str | None) -> Chunk:
    chunk = Chunk([load_file(task) for task in tasks])
    if batch_folder is not None:
        chunk.batch = f"batch-{number}.doclist"
        with open(os.path.join(batch_folder, chunk.batch), "wb") as fh:
            for loaded in chunk.files:
                for doc in loaded.docs:
                    pickle.dump((0, doc.fields), fh, 2)
                    doc.fields = None
                    chunk.count += 1
    return chunk


def load_files(tasks: list[Task], jobs: int, batch_folder: str | None = None) -> Iterator[Chunk]:
    """Load files in order, in ``jobs`` processes when that pays off. A few chunks are
    in flight at a time: the workers stay busy, and parsed files cannot pile up while
    the writer catches up. With ``batch_folder`` (only in processes), each chunk's
    fields go to a batch file there. A worker that dies (killed, out of memory) ends
    the run with IndexWriteError; nothing is waited for forever."""
    if jobs <= 1 or len(tasks) < 50:
        assert batch_folder is None
        yield from (Chunk([load_file(task)]) for task in tasks)
        return
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    chunks = enumerate(tasks[i : i + LOAD_CHUNK] for i in range(0, len(tasks), LOAD_CHUNK))
    ctx = multiprocessing.get_context("fork")
    # The pool is used with Ctrl-C held back, so that it lands only between chunks,
    # never inside the pool's own locks (a Ctrl-C there left a run waiting forever).
    # Its threads and processes start here and inherit the blocked signal.
    with _sigint_deferred():
        pool = ProcessPoolExecutor(
            jobs, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),)
        )
    finished = False
    try:
        with _sigint_deferred():
            pending: deque[Future[Chunk]] = deque(
                pool.submit(_load_chunk, *c, batch_folder) for c in islice(chunks, 4 * jobs)
            )
        while pending:
            with _sigint_deferred():
                try:
                    done = pending.popleft().result()
                except BrokenProcessPool:
                    raise IndexWriteError(
                        "a file-reading process stopped unexpectedly (killed, or out of "
                        "memory); nothing was written and the index keeps its previous state"
                    ) from None
                following = next(chunks, None)
                if following is not None:
                    pending.append(pool.submit(_load_chunk, *following, batch_folder))
            yield done
        finished = True
    finally:
        with _sigint_deferred():
            if finished:
                pool.shutdown()
            else:
                # Stopped early (an error, Ctrl-C): chunks not started are cancelled and
                # the workers finish the ones they hold (a fraction of a second).
                # Terminating them instead left the pool's manager thread waiting for
                # their results, and the process waiting for it at exit, forever.
                pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C back for a moment: Whoosh's multi-process writer may fork a
    sub-writer inside ``add_document``, and a child inherits the blocked signal, so
    Ctrl-C reaches only this process, which stops the run cleanly."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _init_worker(parent: int) -> None:
    """Workers leave Ctrl-C to the main process, which stops the run cleanly, and end
    with it if it is killed: they share its write lock, which would otherwise stay held."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before that
        os._exit(1)


# --- the update ------------------------------------------------------------------------------


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


class _Plan:
    """Which files to read, which are unchanged and which are gone."""

    def __init__(self, roots: list[str], manifest: Manifest, threshold: float) -> None:
        with gc_paused():
            self._plan(roots, manifest, threshold)

    def _plan(self, roots: list[str], manifest: Manifest, threshold: float) -> None:
        self.tasks: list[Task] = []
        self.unchanged: list[str] = []
        self.stat_errors: list[ParseError] = []
        self.empty_roots: list[str] = []
        seen = set()
        kept: set[str] = set()  # paths indexed, or kept as they were (unreadable)
        real_roots = [os.path.realpath(r) for r in roots]
        # One file reached by several paths (through a linked folder or a file link) is
        # one file, indexed under its real path.
        chosen: dict[str, os.stat_result] = {}
        # The roots are absolute and normalised, so are the paths found under them.
        for path, root, real_root in self._files(roots, real_roots):
            if path in seen:
                continue
            seen.add(path)
            real = path if root == real_root else real_root + path[len(root) :]
            try:
                st = os.lstat(path)  # one system call a file unless it is a link
                if stat.S_ISLNK(st.st_mode):
                    # Only the given paths are read. (A looping or dangling link fails.)
                    real = os.path.realpath(path)
                    if os.path.exists(path) and not _under(real, real_roots):
                        self.stat_errors.append(
                            ParseError(path, "link leads outside the given paths; not read")
                        )
                        kept.add(path)
                        continue
                    st = os.stat(path)
            except OSError as exc:
                self.stat_errors.append(ParseError(path, os_reason(exc)))
                kept.add(path)
                continue
            chosen.setdefault(real, st)
        for path, st in chosen.items():
            kept.add(path)
            old = manifest.files.get(path)
            if old and not old.errors and (old.size, old.mtime_ns) == (st.st_size, st.st_mtime_ns):
                self.unchanged.append(path)
            else:
                digest = old.digest if old and not old.errors else None
                self.tasks.append((path, digest, threshold))
        # Global path order: with one URL in several files, the first by path wins.
        self.tasks.sort()
        self.threshold = threshold
        self.removed = sorted(
            p
            for p in manifest.files
            if p not in kept and (_under(p, roots) or _under(p, real_roots))
        )

    def _files(self, roots: list[str], real_roots: list[str]) -> Iterator[tuple[str, str, str]]:
        """The article files under the roots, each with its root and the root's real
        path; noting the folders that hold none."""
        for root, real_root in zip(roots, real_roots, strict=True):
            found = False
            for path in iter_article_files([root]):
                found = True
                yield path, root, real_root
            if not found:
                self.empty_roots.append(root)


def update_index(
    index_path: str,
    roots: Iterable[str],
    *,
    rebuild: bool = False,
    jobs: int | None = None,
    variant_threshold: float | None = None,
    lock_timeout: float = 30.0,
    on_error: Callable[[ParseError], None] = lambda e: None,
    on_notice: Callable[[str], None] = lambda s: None,
    on_start: Callable[[int], None] = lambda n: None,
    on_progress: Callable[[int], None] = lambda n: None,
) -> IndexSummary:
    """Bring the index at ``index_path`` up to date with the files under ``roots``.

    Files indexed earlier from other roots are kept; files gone from these roots are
    removed. ``on_error`` hears of every file or record that could not be used.
    """
    started = time.monotonic()
    roots = [os.path.abspath(r) for r in roots]
    ixdir = IndexDir(index_path)
    ixdir.check_usable()
    summary = IndexSummary(index=index_path)
    with ixdir.write_lock(lock_timeout, on_wait=on_notice) as stale:
        if stale:
            on_notice(stale)
        fresh = rebuild or not ixdir.exists()
        if not fresh:
            ixdir.check_schema()
            built_with = float(ixdir.meta().get("variant_threshold", RELATED_VARIANT_THRESHOLD))
            if variant_threshold is not None and variant_threshold != built_with:
                raise InvalidOption(
                    f"the index was built with --variant-threshold {built_with:g}; "
                    "add --rebuild to change it"
                )
            threshold = built_with
            data_dir = ixdir.data_dir()
            ixdir.remove_leftovers(data_dir)
        else:
            threshold = (
                RELATED_VARIANT_THRESHOLD if variant_threshold is None else variant_threshold
            )
            try:
                data_dir = ixdir.new_data_dir({"variant_threshold": threshold})
            except OSError as exc:
                raise IndexWriteError(f"cannot create index in {index_path}: {exc}") from None
        try:
            _update(
                ixdir,
                data_dir,
                roots,
                fresh,
                threshold,
                jobs,
                summary,
                on_error,
                on_start,
                on_progress,
                on_notice,
            )
            if fresh:
                created = not ixdir.exists()
                ixdir.switch_to(data_dir)
                if created:
                    on_notice(f"created index at {printable(os.path.abspath(index_path))}")
        except BaseException:
            if fresh:
                import shutil

                shutil.rmtree(data_dir, ignore_errors=True)
            raise
    summary.seconds = time.monotonic() - started
    return summary


def _update(
    ixdir: IndexDir,
    data_dir: str,
    roots: list[str],
    fresh: bool,
    threshold: float,
    jobs: int | None,
    summary: IndexSummary,
    on_error: Callable[[ParseError], None],
    on_start: Callable[[int], None],
    on_progress: Callable[[int], None],
    on_notice: Callable[[str], None],
) -> None:
    from whoosh import index as windex

    ix = windex.open_dir(data_dir) if fresh else ixdir.open_whoosh()
    if not fresh:
        try:  # every segment opens: a damaged index is said to be so, not updated
            opened(ix.reader).close()
        except READ_FAILURES as exc:
            raise damage(ixdir.path, exc) from None
    old = Manifest(generation=0) if fresh else ixdir.read_manifest(data_dir, ix.latest_generation())
    plan = _Plan(roots, old, threshold)
    for root in plan.empty_roots:
        on_notice(f"no article files found under {printable(root)}")
    new = Manifest(generation=ix.latest_generation() + 1, files=dict(old.files))
    for err in plan.stat_errors:
        summary.failed += 1
        on_error(err)
    summary.unchanged = len(plan.unchanged)
    on_start(len(plan.tasks))

    jobs = jobs or os.cpu_count() or 1
    writer: Any
    if fresh and jobs > 1 and len(plan.tasks) >= BIG_BUILD:
        # A big build: Whoosh writes segments in parallel and keeps them unmerged.
        writer = BatchWriter(ix, procs=jobs, **BIG_WRITER)
    else:
        writer = ix.writer(**WRITER)
    try:
        changed = _apply(
            writer,
            ix,
            old,
            new,
            plan,
            fresh,
            jobs,
            summary,
            on_error,
            on_progress,
            data_dir,
        )
        if not changed:
            _abandon(writer, data_dir)  # cancelling alone leaves its segment's files
        else:
            ixdir.write_manifest(data_dir, new)
            writer.commit(mergetype=None if fresh else merge_small_segments)
            ixdir.prune_manifests(data_dir, keep=new.generation)
    except OSError as exc:
        failure = (
            f"could not write the index at {ixdir.path}: {exc.strerror or exc}; "
            "the previous state is kept"
        )
        # On a failing disk Whoosh cannot close the files it was writing. They are
        # dropped here, with the traceback whose frames hold them, quietly.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            _abandon(writer, data_dir)
            exc.__traceback__ = None
            writer = None
            gc.collect()
        raise IndexWriteError(failure) from None
    except BaseException:
        _abandon(writer, data_dir)
        raise
    final = windex.open_dir(data_dir)
    summary.items = final.doc_count()
    summary.files = len(new.files if changed else old.files)


def merge_small_segments(writer: Any, segments: list[Any]) -> list[Any]:
    """Whoosh merge policy for updates: once more than ``SMALL_SEGMENTS`` segments are
    small (under 1/8 of the largest), merge all the small ones into the new segment.
    Every update adds a segment, and a search pays for each one (on a 100k index, 8
    segments doubled the median query time); Whoosh's own policy only merges segments
    of a handful of documents."""
    from whoosh.reading import SegmentReader

    if not segments:
        return segments
    largest = max(seg.doc_count_all() for seg in segments)
    small = [seg for seg in segments if seg.doc_count_all() * 8 < largest]
    if len(small) <= SMALL_SEGMENTS:
        return segments
    for seg in small:
        reader = SegmentReader(writer.storage, writer.schema, seg)
        writer.add_reader(reader)
        reader.close()
    return [seg for seg in segments if seg not in small]


def _abandon(writer: Any, data_dir: str) -> None:
    """Drop an uncommitted writer even when the disk fails under it (cancelling writes
    too): release Whoosh's lock and delete the unfinished segment's files."""
    segment = ""
    with contextlib.suppress(Exception):
        segment = writer.newsegment.segment_id()
    # Whoosh's multi-process writer cannot stop its sub-writers (their cancel flag is
    # set in this process only), so they are ended here, before their files go.
    for child in multiprocessing.active_children():
        child.terminate()
        child.join(timeout=5)
    try:
        writer.cancel()
    except Exception:  # the disk is full or gone: cancelling could not close its files
        with contextlib.suppress(Exception):
            writer.writelock.release()
    if segment:
        for name in os.listdir(data_dir):
            if name.startswith(segment):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(data_dir, name))


def _apply(
    writer: Any,
    ix: Any,
    old: Manifest,
    new: Manifest,
    plan: _Plan,
    fresh: bool,
    jobs: int,
    summary: IndexSummary,
    on_error: Callable[[ParseError], None],
    on_progress: Callable[[int], None],
    data_dir: str,
) -> bool:
    """Feed the writer; return whether anything changed."""
    dirty: set[str] = set(plan.removed)
    articles: dict[str, list[ArticleDoc]] = defaultdict(list)
    citations: dict[str, list[tuple[str, Record]]] = defaultdict(list)
    written: set[str] = set()
    spill = _Spill(data_dir) if fresh else None
    touched = 0

    batch_folder = writer.temp_storage().folder if isinstance(writer, BatchWriter) else None
    done = 0
    try:
        for chunk in load_files(plan.tasks, jobs, batch_folder):
            added: list[tuple[ArticleDoc, bool]] = []  # a fresh build's items, and which are new
            for loaded in chunk.files:
                done += 1
                on_progress(done)
                for err in loaded.errors:
                    on_error(err)
                summary.failed += len(loaded.errors)
                previous = old.files.get(loaded.path)
                if loaded.same_content:
                    assert previous is not None
                    new.files[loaded.path] = FileEntry(
                        loaded.size, loaded.mtime_ns, loaded.digest, previous.ids, previous.cites, 0
                    )
                    summary.unchanged += 1
                    touched += 1
                    continue
                if not loaded.docs:
                    continue  # nothing usable: whatever was indexed from it before stays
                if previous is not None:
                    summary.updated += 1
                    dirty.add(loaded.path)
                else:
                    summary.added += 1
                new.files[loaded.path] = _file_entry(loaded)
                for doc in loaded.docs:
                    for item, line in zip(
                        doc.record["related_ids"], doc.related_lines, strict=True
                    ):
                        if spill is None:
                            citations[item].append((doc.id, json.loads(line)[2]))
                        elif item not in written:
                            spill.add(line)
                    if fresh:
                        # Files arrive in path order, so the first claimant of an id wins.
                        added.append((doc, doc.id not in written))
                        written.add(doc.id)
                    else:
                        articles[doc.id].append(doc)
            with _sigint_deferred():
                _add_chunk(writer, chunk, added, batch_folder)
    except BaseException:
        if spill is not None:  # the run fails: its data folder, spill included, goes
            spill.fh.close()
        raise

    for path in plan.removed:
        del new.files[path]
    summary.removed = len(plan.removed)

    if spill is not None:
        # Related items that are no article: known only now that every file is read.
        # In a big build they go to the sub-writers like the articles, so both cores
        # index them while this process makes their documents.
        unresolved = spill.unresolved(written)
        docs = (related_fields(item, lines) for item, lines in unresolved.items())
        if isinstance(writer, BatchWriter):
            assert batch_folder is not None
            writer.add_batches(batch_folder, docs)
            writer.close_batches()
        else:
            for fields in docs:
                writer.add_document(**fields)
        return bool(new.files) or bool(old.files)

    if not (dirty or articles or touched):
        return False
    with ix.searcher() as searcher:
        _refresh(writer, searcher, old, dirty, articles, citations, plan.threshold)
    return True


def _file_entry(loaded: Loaded) -> FileEntry:
    """The manifest entry of a file read anew: the ids it claims and those it cites."""
    return FileEntry(
        loaded.size,
        loaded.mtime_ns,
        loaded.digest,
        ids=[sys.intern(i) for i in dict.fromkeys(d.id for d in loaded.docs)],
        cites=[
            sys.intern(i)
            for i in dict.fromkeys(r for d in loaded.docs for r in d.record["related_ids"])
        ],
        errors=len(loaded.errors),
    )


def _add_chunk(
    writer: Any, chunk: Chunk, added: list[tuple[ArticleDoc, bool]], batch_folder: str | None
) -> None:
    """Add a fresh build's new items of one chunk: its whole batch file when every item
    in it is new (as nearly always), else the new ones one by one."""
    if chunk.batch is None:
        for doc, is_new in added:
            if is_new:
                writer.add_document(**doc.whoosh())
        return
    assert batch_folder is not None and len(added) == chunk.count
    if all(is_new for _, is_new in added):
        writer.add_batch(chunk.batch, chunk.count)
        return
    path = os.path.join(batch_folder, chunk.batch)
    with open(path, "rb") as fh:
        for _, is_new in added:
            _, fields = pickle.load(fh)
            if is_new:
                writer.add_document(**fields)
    os.unlink(path)


def _refresh(
    writer: Any,
    searcher: Any,
    old: Manifest,
    dirty: set[str],
    articles: dict[str, list[ArticleDoc]],
    citations: dict[str, list[tuple[str, Record]]],
    threshold: float,
) -> None:
    """Rewrite every item that the changed and removed files touch."""
    from whoosh.query import Term

    affected: set[str] = set(articles) | set(citations)
    for path in dirty:
        entry = old.files[path]
        affected.update(entry.ids, entry.cites)

    # Unchanged files that also claim an affected id (the same URL in two files).
    claimers: dict[str, list[str]] = defaultdict(list)
    for path, entry in old.files.items():
        if path not in dirty:
            for i in entry.ids:
                if i in affected:
                    claimers[i].append(path)

    for item in sorted(affected):
        stored = searcher.document(id=item)
        stored_rec = json.loads(stored["data"]) if stored else None
        candidates = list(articles.get(item, []))
        if stored_rec and stored_rec["kind"] == "article" and stored_rec["path"] not in dirty:
            candidates.append(ArticleDoc(record=stored_rec))
        elif claimers.get(item):
            for path in claimers[item]:
                reloaded = load_file((path, None, threshold))
                candidates.extend(d for d in reloaded.docs if d.id == item)
        if candidates:
            winner = min(candidates, key=lambda d: d.order)
            if winner.record is not stored_rec:
                writer.update_document(**winner.whoosh())
            continue
        cites = list(citations.get(item, []))
        for hit in searcher.search(Term("cites", item), limit=None):
            rec = json.loads(hit["data"])
            if rec["path"] not in dirty:
                cites.extend((rec["id"], r) for r in rec["related"] if r["id"] == item)
        if cites:
            writer.update_document(**whoosh_fields(merged_related(item, cites)))
        elif stored is not None:
            writer.delete_by_term("id", item)
