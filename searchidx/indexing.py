"""Building and updating an index from article files.

Items and their identity
    Each article becomes an item whose id is derived from its URL (normalised by
    :func:`~searchidx.documents.url_key`), or from its file when it has none. Each entry
    of an article's ``related`` list becomes an item of kind ``related`` with the id of
    its URL. One outlet's near-identical headline variants within a list are one item
    (:func:`~searchidx.titles.collapse_variants`). When an indexed article file has the
    URL of a related entry, that item is the article; when several files list the same
    related URL, their entries merge into one item.

What is stored where
    The article document holds the article and every related entry it lists, so related
    items are derived data: rebuilt from the articles that cite them (``cites:ID``)
    whenever one of those changes. The manifest records, per file, its size, mtime,
    content hash, the ids it claims, the ids it cites and the errors found in it (its
    bad rows, say), which are reported again, unread, while the file is unchanged.

Updates
    Files are compared by size and mtime, then by content hash; only new and changed
    files are read. Parsing runs in worker processes and overlaps with writing; in a big
    first build the workers write each chunk's documents to a batch file that Whoosh's
    sub-writers read, so documents do not pass through the main process. A file that
    fails keeps what was indexed from it before, and its error says so. Everything is
    committed at once.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
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

from searchidx import options
from searchidx.documents import (
    Article,
    RelatedEntry,
    content_digest,
    item_id,
    os_reason,
    path_key,
    read_file,
    scan_article_folders,
    url_key,
)
from searchidx.errors import IndexWriteError, InvalidOption, ParseError, printable
from searchidx.feeds import parse_any_file
from searchidx.fields import provider_key
from searchidx.interrupts import sigint_deferred
from searchidx.items import Listed, StoredItem, encode
from searchidx.store import FileEntry, IndexDir, Manifest, gc_paused
from searchidx.titles import RELATED_VARIANT_THRESHOLD, collapse_variants
from searchidx.whooshdb.snapshot import WhooshSnapshot
from searchidx.whooshdb.storage import create
from searchidx.whooshdb.writing import Writer, document, read_batch, write_batch

#: From this many files, a fresh build writes segments in parallel.
BIG_BUILD = 2000
#: Files handed to a parsing process at a time.
LOAD_CHUNK = 100
#: Tasks of a parsing process: (path, digest indexed before, variant threshold).
Task = tuple[str, str | None, float]


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
    cites: list[tuple[str, Listed]] = []
    for line in lines:
        _, citing, record = json.loads(line)
        cites.append((citing, record))
    return document(merged_related(item, cites))


@dataclass(slots=True)
class IndexSummary:
    """The outcome of one ``index`` run. ``added`` to ``failed`` count files (a file
    once): ``failed`` those that gave no item (or folders and links that could not be
    read), ``skipped`` the records (rows, feed items, JSON Lines lines) reported and
    left out of the files that did give items."""

    index: str
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    files: int = 0
    items: int = 0


@dataclass(slots=True)
class ArticleDoc:
    """An article ready to index: its stored item, its body text, and (made in the
    worker that parsed it) its Whoosh fields, after which the worker keeps only the
    item's identity and related ids of it."""

    item: StoredItem | None
    id: str
    path: str
    line: int | None
    related_ids: list[str]
    body: str = ""
    fields: dict[str, Any] | None = None
    #: Each related entry as a JSON line ``[item, citing article, entry]``.
    related_lines: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, item: StoredItem, body: str = "") -> ArticleDoc:
        return cls(item, item.id, item.path, item.line, [r["id"] for r in item.related], body)

    def whoosh(self) -> dict[str, Any]:
        if self.fields is None:
            assert self.item is not None
            self.fields = document(self.item, self.body)
        return self.fields

    @property
    def order(self) -> tuple[str, int]:
        """Which of several files with one URL wins: the first by path, then line."""
        return (self.path, self.line or 0)


#: What an article's related list says of an item: the article's id, the entry, and
#: where the article is (its file and line: of several files with one URL, only the
#: first one's list counts).
Citation = tuple[str, Listed, tuple[str, int]]


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


# --- records -----------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def related_record(group: list[RelatedEntry]) -> Listed:
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
        "images": max(e.image_count for e in group),
    }


def article_doc(article: Article, variant_threshold: float) -> ArticleDoc:
    """Build the indexable form of an article, collapsing its related list."""
    url = article.url
    own_id = item_id(url_key(url) if url else path_key(article.path, article.line))
    related: list[Listed] = []
    for group in collapse_variants(article.related, variant_threshold):
        rec = related_record(group)
        if rec["id"] != own_id and all(r["id"] != rec["id"] for r in related):
            related.append(rec)
    item = StoredItem(
        id=own_id,
        kind="article",
        title=article.title,
        titles=[article.title],
        urls=[u for u in dict.fromkeys((article.web_url, article.original_url)) if u],
        url=url,
        excerpt=article.excerpt,
        provider=article.provider,
        domain=article.domain,
        topics=article.topics,
        category=article.category,
        type=article.type,
        published=_iso(article.published),
        quality=article.quality,
        heat=article.heat,
        is_published=article.is_published,
        images=article.image_count,
        path=article.path,
        line=article.line,
        related=related,
    )
    return ArticleDoc.of(item, article.body)


def merged_related(item: str, citations: list[tuple[str, Listed]]) -> StoredItem:
    """The related item ``item`` as the union of what its citing articles say about it.
    Citations are ordered by citing article id, so the result does not depend on the
    order files were read in."""
    if len(citations) == 1:  # as most are
        recs = [citations[0][1]]
    else:
        recs = [rec for _, rec in sorted(citations, key=lambda c: (c[0], c[1]["title"]))]
    first = recs[0]
    urls = list(dict.fromkeys(u for r in recs for u in r["urls"]))

    def first_set(key: str) -> Any:
        """The first value set (not None or "") of ``key``, else the first one's."""
        for r in recs:
            value = r[key]  # type: ignore[literal-required]
            if value is not None and value != "":
                return value
        return first[key]  # type: ignore[literal-required]

    return StoredItem(
        id=item,
        kind="related",
        title=first["title"],
        titles=list(dict.fromkeys(t for r in recs for t in r["titles"])),
        urls=urls,
        url=urls[0] if urls else "",
        excerpt=first_set("excerpt"),
        provider=first_set("provider"),
        domain=first_set("domain"),
        type=first_set("type"),
        published=first_set("published"),
        quality=first_set("quality"),
        images=max(r.get("images", 0) for r in recs),
    )


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
        assert doc.item is not None
        related = doc.item.related
        encoded = [encode(r) for r in related]
        doc.fields = document(doc.item, doc.body, encoded)
        doc.related_lines = [
            f'["{r["id"]}","{doc.id}",{e}]\n' for r, e in zip(related, encoded, strict=True)
        ]
        doc.item = None
        doc.body = ""
    return loaded


def _load_chunk(number: int, tasks: list[Task], batch_folder: str | None) -> Chunk:
    with gc_paused():  # files' items and documents hold no cycles to collect
        chunk = Chunk([load_file(task) for task in tasks])
        if batch_folder is not None:
            chunk.batch = f"batch-{number}.doclist"
            docs = [doc for loaded in chunk.files for doc in loaded.docs]
            chunk.count = write_batch(
                os.path.join(batch_folder, chunk.batch), (d.whoosh() for d in docs)
            )
            for doc in docs:
                doc.fields = None
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
    with sigint_deferred():
        pool = ProcessPoolExecutor(
            jobs, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),)
        )
    finished = False
    try:
        with sigint_deferred():
            pending: deque[Future[Chunk]] = deque(
                pool.submit(_load_chunk, *c, batch_folder) for c in islice(chunks, 4 * jobs)
            )
        while pending:
            with sigint_deferred():
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
        with sigint_deferred():
            if finished:
                pool.shutdown()
            else:
                # Stopped early (an error, Ctrl-C): chunks not started are cancelled and
                # the workers finish the ones they hold (a fraction of a second).
                # Terminating them instead left the pool's manager thread waiting for
                # their results, and the process waiting for it at exit, forever.
                pool.shutdown(wait=True, cancel_futures=True)


def _init_worker(parent: int) -> None:
    """Workers leave Ctrl-C to the main process, which stops the run cleanly, and end
    with it if it is killed: they share its write lock, which would otherwise stay held."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.enable()  # a fork keeps the parent's setting; each chunk is read with it paused
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before that
        os._exit(1)


# --- the update ------------------------------------------------------------------------------


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


#: A file modified this close to the manifest's writing (or after it) may have been
#: written again within one tick of the file system's clock (a second or two on some,
#: FAT's two), keeping its size and time: it is read again and its digest compared.
RACY_SECONDS = 3


def _racy_from(manifest: Manifest) -> int:
    """The modification time (ns) from which a file the manifest records with its size
    and time may have changed since, unseen (as git's "racily clean" entries): the time
    the manifest was written, less RACY_SECONDS (its time is to the second)."""
    try:
        written = datetime.fromisoformat(manifest.updated)
    except ValueError:
        return 1 << 62  # no time kept: nothing is taken as unchanged by its time alone
    return int(written.timestamp() - RACY_SECONDS) * 1_000_000_000


class _Plan:
    """Which files to read, which are unchanged and which are gone. A file is unchanged
    when the manifest has its size and modification time, from before the manifest was
    written (:func:`_racy_from`); else it is read, and unchanged if its digest is."""

    def __init__(self, roots: list[str], manifest: Manifest, threshold: float) -> None:
        with gc_paused():
            self._plan(roots, manifest, threshold)

    def _plan(self, roots: list[str], manifest: Manifest, threshold: float) -> None:
        self.tasks: list[Task] = []
        self.unchanged: list[str] = []
        self.unchanged_with_errors: list[str] = []
        self.stat_errors: list[ParseError] = []
        self.empty_roots: list[str] = []
        self.threshold = threshold
        self._files = manifest.files
        self._racy_from = _racy_from(manifest)
        # One file reached by several paths (through a linked folder or a file link) is
        # one file, indexed under its real path; ``chosen`` holds the real paths seen.
        self._chosen: set[str] = set()
        self._kept: set[str] = set()  # paths not indexed but kept as they were (unreadable)
        kept_folders: list[str] = []  # folders whose files are all kept so (unreadable)
        self._real_roots = real_roots = [os.path.realpath(r) for r in roots]
        # The roots are absolute and normalised, so are the paths found under them.
        for root, real_root in zip(roots, real_roots, strict=True):
            if not os.path.isdir(root):
                self._consider(root, None, real_root)
                continue
            found = False
            unreadable = len(self.stat_errors)

            def folder_error(
                folder: str, exc: OSError, root: str = root, real_root: str = real_root
            ) -> None:
                """Its files stay indexed as they were, as an unreadable file's do."""
                self._stat_error(folder, os_reason(exc, "folder"))
                kept_folders.extend((folder, real_root + folder[len(root) :]))

            for entries in scan_article_folders(root, folder_error):
                found = True
                self._consider_folder(entries, root, real_root)
            if not found and len(self.stat_errors) == unreadable:
                self.empty_roots.append(root)
        # Global path order: with one URL in several files, the first by path wins.
        self.tasks.sort()
        self.unchanged_with_errors.sort()
        chosen, kept = self._chosen, self._kept
        self.removed = sorted(
            p
            for p in self._files
            if p not in chosen
            and p not in kept
            and not _under(p, kept_folders)
            and (_under(p, roots) or _under(p, real_roots))
        )

    def _consider_folder(self, entries: list[os.DirEntry[str]], root: str, real_root: str) -> None:
        """Stat the files of one folder (one system call a file) and sort them into
        unchanged and to read; links and failures go the long way."""
        place = self._place
        plain = root == real_root
        for entry in entries:
            path = entry.path
            real = path if plain else real_root + path[len(root) :]
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                self._consider(path, None, real)
                continue
            if stat.S_ISLNK(st.st_mode):
                self._consider(path, st, real)
                continue
            place(real, st)

    def _consider(self, path: str, st: os.stat_result | None, real: str) -> None:
        """One file given by name, a link, or one whose folder entry could not be
        stat'ed (``st`` is then None); ``real`` is its path through the real root."""
        try:
            if st is None:
                st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                # Only the given paths are read. (A looping or dangling link fails.)
                real = os.path.realpath(path)
                if os.path.exists(path) and not _under(real, self._real_roots):
                    self._stat_error(path, "link leads outside the given paths; not read")
                    return
                st = os.stat(path)
        except OSError as exc:
            self._stat_error(path, os_reason(exc))
            return
        self._place(real, st)

    def _place(self, real: str, st: os.stat_result) -> None:
        """A file found (by its real path, once): unchanged when its size and mtime are
        as the manifest has them (and from before it), else to read (with the digest it
        had, if any)."""
        if real in self._chosen:
            return
        self._chosen.add(real)
        old = self._files.get(real)
        if old is None or (old.errors and isinstance(old.errors, int)):
            # New, or its errors are known by their number only (in a manifest written
            # before they were kept): read whole, to learn them.
            self.tasks.append((real, None, self.threshold))
        elif (
            old.mtime_ns == st.st_mtime_ns
            and old.size == st.st_size
            and old.mtime_ns < self._racy_from
        ):
            self.unchanged.append(real)
            if old.errors:
                self.unchanged_with_errors.append(real)
        else:
            self.tasks.append((real, old.digest, self.threshold))

    def _stat_error(self, path: str, reason: str) -> None:
        if path not in self._kept:
            self._kept.add(path)
            self.stat_errors.append(ParseError(path, reason))


def update_index(
    index_path: str,
    roots: Iterable[str],
    *,
    rebuild: bool = False,
    jobs: int | None = None,
    variant_threshold: float | None = None,
    lock_timeout: float = options.LOCK_WAIT_SECONDS,
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
                data_dir = ixdir.new_data_dir({"variant_threshold": threshold}, create)
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
            created = fresh and not ixdir.exists()
            if fresh:
                ixdir.switch_to(data_dir)
        except BaseException:
            if fresh and not ixdir.is_live(data_dir):  # once live, it is the index
                import shutil

                shutil.rmtree(data_dir, ignore_errors=True)
            raise
    if created:
        on_notice(f"created index at {printable(os.path.abspath(index_path))}")
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
    writer = Writer(ixdir, data_dir, fresh)
    old = Manifest(generation=0) if fresh else ixdir.read_manifest(data_dir, writer.generation)
    plan = _Plan(roots, old, threshold)
    for root in plan.empty_roots:
        on_notice(f"no article files found under {printable(root)}")
    new = old.successor()
    for err in plan.stat_errors:
        summary.failed += 1
        on_error(err)
    summary.unchanged = len(plan.unchanged)
    on_start(len(plan.tasks))

    jobs = jobs or os.cpu_count() or 1
    # A big build writes segments in parallel and keeps them unmerged.
    writer.begin(jobs if fresh and jobs > 1 and len(plan.tasks) >= BIG_BUILD else 1)
    try:
        # Files' items, manifest entries and documents hold no cycles: the collector
        # would only scan them again and again (a tenth of this process's time).
        with gc_paused():
            changed = _apply(
                writer,
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
            writer.abandon()  # cancelling alone leaves its segment's files
        else:
            ixdir.write_manifest(data_dir, new)
            writer.commit(merge=not fresh)
            ixdir.prune_manifests(data_dir, keep=new)
    except OSError as exc:
        failure = (
            f"could not write the index at {ixdir.path}: {exc.strerror or exc}; "
            "the previous state is kept"
        )
        # On a failing disk Whoosh cannot close the files it was writing. They are
        # dropped here, with the traceback whose frames hold them, quietly.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            writer.abandon()
            exc.__traceback__ = None
            gc.collect()
        raise IndexWriteError(failure) from None
    except BaseException:
        writer.abandon()
        raise
    summary.items = writer.count()
    summary.files = len(new.files if changed else old.files)


def _apply(
    writer: Writer,
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
    citations: dict[str, list[Citation]] = defaultdict(list)
    written: set[str] = set()
    spill = _Spill(data_dir) if fresh else None
    touched = 0

    # The errors of unchanged files, from the manifest, come in path order among those
    # of the files read, as a first build reports them.
    recorded = deque(plan.unchanged_with_errors)

    def report(errors: list[ParseError]) -> int:
        """Report each error; how many there were."""
        for err in errors:
            on_error(err)
        return len(errors)

    def report_recorded(before: str | None) -> None:
        while recorded and (before is None or recorded[0] < before):
            path = recorded.popleft()
            summary.skipped += report(recorded_errors(path, old.files[path]))

    batch_folder = writer.batch_folder
    done = 0
    try:
        for chunk in load_files(plan.tasks, jobs, batch_folder):
            added: list[tuple[ArticleDoc, bool]] = []  # a fresh build's items, and which are new
            for loaded in chunk.files:
                done += 1
                on_progress(done)
                report_recorded(loaded.path)
                previous = old.files.get(loaded.path)
                if loaded.same_content:
                    assert previous is not None
                    # A new time is kept; a file read again for its recent time alone
                    # (see _racy_from) changes nothing.
                    if loaded.mtime_ns != previous.mtime_ns:
                        new.put(
                            loaded.path,
                            FileEntry(
                                loaded.size,
                                loaded.mtime_ns,
                                loaded.digest,
                                previous.ids,
                                previous.cites,
                                previous.errors,
                            ),
                        )
                        touched += 1
                    summary.skipped += report(recorded_errors(loaded.path, previous))
                    summary.unchanged += 1
                    continue
                errors = loaded.errors
                if not loaded.docs and errors:
                    # Nothing usable: whatever was indexed from it before stays, as its
                    # (last) error says. (A file read without error that has no items,
                    # a CSV of a header alone, say, is a file of no items: its earlier
                    # items go.)
                    if previous is not None and previous.ids:
                        errors = [*errors[:-1], kept_before(errors[-1], len(previous.ids))]
                    summary.failed += 1
                    report(errors)
                    continue
                summary.skipped += report(errors)
                if previous is not None:
                    summary.updated += 1
                    dirty.add(loaded.path)
                else:
                    summary.added += 1
                new.put(loaded.path, _file_entry(loaded))
                for doc in loaded.docs:
                    # Files arrive in path order, so in a fresh build the first claimant
                    # of an id wins; only the winner's related list counts.
                    wins = not fresh or doc.id not in written
                    listed = zip(doc.related_ids, doc.related_lines, strict=True) if wins else ()
                    for item, line in listed:
                        if spill is None:
                            citations[item].append((doc.id, json.loads(line)[2], doc.order))
                        elif item not in written:
                            spill.add(line)
                    if fresh:
                        added.append((doc, wins))
                        written.add(doc.id)
                    else:
                        articles[doc.id].append(doc)
            with sigint_deferred():
                _add_chunk(writer, chunk, added, batch_folder)
    except BaseException:
        if spill is not None:  # the run fails: its data folder, spill included, goes
            spill.fh.close()
        raise
    report_recorded(None)

    for path in plan.removed:
        new.drop(path)
    summary.removed = len(plan.removed)

    if spill is not None:
        # Related items that are no article: known only now that every file is read.
        # In a big build they go to the sub-writers like the articles, so both cores
        # index them while this process makes their documents.
        unresolved = spill.unresolved(written)
        writer.add_batches(related_fields(item, lines) for item, lines in unresolved.items())
        return bool(new.files) or bool(old.files)

    if not (dirty or articles or touched):
        return False
    with writer.reading() as snap:
        _refresh(writer, snap, old, dirty, articles, citations, plan.threshold)
    return True


def kept_before(err: ParseError, articles: int) -> ParseError:
    """``err``, the error of a file that gave nothing, saying that the ``articles``
    indexed from the file before are kept."""
    if articles == 1:
        kept = "the article indexed from this file before is kept; index --rebuild drops it"
    else:
        kept = (
            f"the {articles} articles indexed from this file before are kept; "
            "index --rebuild drops them"
        )
    return ParseError(err.path, f"{err.reason} ({kept})", err.line)


def recorded_errors(path: str, entry: FileEntry) -> list[ParseError]:
    """The errors of a file as its manifest entry keeps them (none when it kept only
    their number)."""
    if isinstance(entry.errors, int):
        return []
    return [ParseError(path, reason, line) for line, reason in entry.errors]


def _file_entry(loaded: Loaded) -> FileEntry:
    """The manifest entry of a file read anew: the ids it claims and those it cites (of
    items with one URL on several lines, only the first, which is the one indexed)."""
    first: dict[str, ArticleDoc] = {}
    for doc in loaded.docs:
        first.setdefault(doc.id, doc)
    return FileEntry(
        loaded.size,
        loaded.mtime_ns,
        loaded.digest,
        ids=[sys.intern(i) for i in first],
        cites=[
            sys.intern(i) for i in dict.fromkeys(r for d in first.values() for r in d.related_ids)
        ],
        errors=[[e.line, e.reason] for e in loaded.errors] or 0,
    )


def _add_chunk(
    writer: Writer, chunk: Chunk, added: list[tuple[ArticleDoc, bool]], batch_folder: str | None
) -> None:
    """Add a fresh build's new items of one chunk: its whole batch file when every item
    in it is new (as nearly always), else the new ones one by one."""
    if chunk.batch is None:
        for doc, is_new in added:
            if is_new:
                writer.add(doc.whoosh())
        return
    assert batch_folder is not None and len(added) == chunk.count
    if all(is_new for _, is_new in added):
        writer.add_batch(chunk.batch, chunk.count)
        return
    batch = read_batch(os.path.join(batch_folder, chunk.batch))
    for (_, is_new), fields in zip(added, batch, strict=True):
        if is_new:
            writer.add(fields)


def _refresh(
    writer: Writer,
    snap: WhooshSnapshot,
    old: Manifest,
    dirty: set[str],
    articles: dict[str, list[ArticleDoc]],
    citations: dict[str, list[Citation]],
    threshold: float,
) -> None:
    """Rewrite every item that the changed and removed files touch: first the articles
    (of several files with one URL, the first by path and line is indexed), then the
    related items, from what the indexed articles' related lists say of them."""
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

    winners: dict[str, tuple[str, int]] = {}  # article id -> its file and line
    related: dict[str, StoredItem | None] = {}  # the other affected ids, as indexed
    for item in sorted(affected):
        row = snap.row_of(item)
        stored_item = snap.item(row) if row is not None else None
        candidates = list(articles.get(item, []))
        kept = None  # the article as indexed, when its file is unchanged
        if stored_item and stored_item.kind == "article" and stored_item.path not in dirty:
            kept = ArticleDoc.of(stored_item)
            candidates.append(kept)
        elif claimers.get(item):
            for path in claimers[item]:
                reloaded = load_file((path, None, threshold))
                candidates.extend(d for d in reloaded.docs if d.id == item)
        if not candidates:
            related[item] = stored_item
            continue
        winner = min(candidates, key=lambda d: d.order)
        winners[item] = winner.order
        if winner is kept:
            continue
        writer.replace(winner.whoosh())
        reconsider = []
        if stored_item is not None and stored_item.kind == "article":
            # The article it replaces may list items that nothing else cites.
            reconsider += [r["id"] for r in stored_item.related]
        if winner.path not in dirty:
            # An unchanged file that lost to another before wins now: its related
            # entries count from now on.
            for rid, line in zip(winner.related_ids, winner.related_lines, strict=True):
                citations[rid].append((item, json.loads(line)[2], winner.order))
                reconsider.append(rid)
        for rid in reconsider:
            if rid not in affected and rid not in related:
                found = snap.row_of(rid)
                known = snap.item(found) if found is not None else None
                if known is None or known.kind != "article":  # an article stays one
                    related[rid] = known

    for item in sorted(related):
        if item in winners:
            continue
        stored_item = related[item]
        cites = [(c, rec) for c, rec, at in citations.get(item, []) if winners.get(c, at) == at]
        for citing_row in snap.citing(item):
            citing = snap.item(citing_row)
            at = (citing.path, citing.line or 0)
            if citing.path not in dirty and winners.get(citing.id, at) == at:
                cites.extend((citing.id, r) for r in citing.related if r["id"] == item)
        if cites:
            writer.replace(document(merged_related(item, cites)))
        elif stored_item is not None:
            writer.delete(item)
