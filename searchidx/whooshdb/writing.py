"""Writing a Whoosh index: documents of items, segments written in parallel in a big
first build, the merge policy of updates, and dropping a writer that failed.

Whoosh's multi-process writer (:class:`whoosh.multiproc.MpWriter`) is extended here,
and only here, through parts of it that are not its public interface: its job queue of
batch files, its sub-writer tasks and its document buffer. :data:`MPWRITER_PARTS`
lists them; :func:`missing_parts` says which the installed Whoosh lacks, and a test
fails loudly when one goes (whoosh-reloaded is pinned to the version tested). The
per-document reader that writing a segment uses gets one method replaced
(:func:`_cached_column_reader`; the parts it relies on: :data:`PERDOC_PARTS`, also
tested); the pool that sorts a segment's postings adds a posting with less work
(:func:`_pool_add`) and writes and merges its runs a chunk at a time
(:func:`_write_run`, :func:`_merge_runs`); a new segment's postings are written
with its field lengths read whole (:func:`_flush_segment`); a block of postings is
compressed only when it is big enough to gain from it (:func:`_write_block`); and
Whoosh's sub-writer processes are forked, so that they have these replacements.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import zlib
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import chain, islice
from typing import IO, Any

from whoosh.codec import whoosh3
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import PostingPool, SegmentWriter

from searchidx.errors import IndexWriteError
from searchidx.fields import GIST_CHARS, WORD_FIELDS, provider_key, topic_key
from searchidx.interrupts import sigint_deferred
from searchidx.items import StoredItem
from searchidx.store import IndexDir, gc_paused
from searchidx.titles import normalize_title
from searchidx.whooshdb import tallies  # segments are written with tallies
from searchidx.whooshdb.bulk import SIDE_AT, block_side, whole_lengths
from searchidx.whooshdb.snapshot import WhooshSnapshot, tally, whole_values
from searchidx.whooshdb.storage import READ_FAILURES, damage, open_dir, open_live, opened

#: Small segments an index may keep before an update merges them.
SMALL_SEGMENTS = 2
#: Whoosh writer settings of a big first build (one sub-writer per process, each writing
#: a segment of its own) and of every other run. Segments are kept as separate files
#: rather than one compound file: Whoosh copies a compound file's parts into memory
#: when a reader opens them, which made opening a 100k index cost more than a query.
BIG_WRITER: dict[str, Any] = {"multisegment": True, "limitmb": 128, "compound": False}
WRITER: dict[str, Any] = {"limitmb": 256, "compound": False}

#: What :class:`BatchWriter` uses of ``MpWriter`` beyond its public interface.
MPWRITER_PARTS = ("tasks", "procs", "_new_task", "jobqueue", "_added_sub", "docbuffer", "_enqueue")


#: What the replaced parts of Whoosh's postings pool and segment writer use of them.
POOL_PARTS = ("fieldnames", "currentsize", "limit", "save", "current", "_open_run", "_remove_run")
SEGMENT_WRITER_PARTS = ("perdocwriter", "codec", "per_document_reader", "pool", "fieldwriter")

#: What :func:`_write_block` uses of Whoosh's postings writer.
POSTINGS_PARTS = (
    "_blockcount",
    "_postfile",
    "_terminfo",
    "_mini_ids",
    "_mini_weights",
    "_mini_values",
    "_compression",
    "_ids",
    "_maxweight",
    "_minlength",
    "_maxlength",
    "_new_block",
)

#: What :func:`_cached_column_reader` replaces in Whoosh's per-document reader and uses.
PERDOC_PARTS = ("_cached_reader", "_readers", "column_reader", "has_column")


def missing_parts(writer: Any) -> list[str]:
    """Those of :data:`MPWRITER_PARTS` that a (started) multi-process writer lacks."""
    return [name for name in MPWRITER_PARTS if not hasattr(writer, name)]


_NO_COLUMN = object()


def _cached_column_reader(self: Any, fieldname: str, column: Any) -> Any:
    """Whoosh's per-document reader keeps the column readers it opened, but not the
    answer that a column does not exist, which it asks the file system again on every
    call. Writing a segment asks for a field's length column at every posting, so each
    posting of a field without lengths (ids, keys, numbers) cost a stat call: about a
    fifth of a seed-shaped build's writing. A written segment's files do not change,
    so the answer is kept as well."""
    reader = self._readers.get(fieldname, _NO_COLUMN)
    if reader is _NO_COLUMN:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
    return reader


whoosh3.W3PerDocReader._cached_reader = _cached_column_reader


def _pool_add(self: Any, item: tuple[str, bytes, int, float, bytes | None]) -> None:
    """Whoosh's ``PostingPool.add`` (the same estimate of the posting's size in memory),
    without its checks of the types of values Whoosh itself made: the pool takes every
    posting of a segment (in a profile of a build's sub-writer, 4.1 of its 36 s)."""
    self.fieldnames.add(item[0])
    value = item[4]
    self.currentsize += 150 + len(item[0]) + 2 * len(item[1]) + (0 if value is None else len(value))
    if self.currentsize > self.limit:
        self.save()
    self.current.append(item)


#: Postings a chunk of a sorting run holds. Merging holds one chunk of each run (about
#: 1.7 MB), beside the pool's ``limitmb``: a sub-writer of a 10k-article seed-shaped build
#: merges 2 runs.
RUN_CHUNK = 8192


def _write_run(self: Any, f: IO[bytes], items: Iterable[Any]) -> None:
    """Write a sorted run of postings a chunk at a time. Whoosh sorts a segment's
    postings in memory up to ``limitmb`` and then in runs on disk, which it writes and
    reads back one posting per pickle call and merges one posting at a time: a big
    build's sub-writers spill every posting that way, and a fifth to a quarter of the
    writer's time went on it."""
    it = iter(items)
    while chunk := list(islice(it, RUN_CHUNK)):
        pickle.dump(chunk, f, pickle.HIGHEST_PROTOCOL)
    f.close()


def _run_chunks(self: Any, path: str) -> Iterator[list[Any]]:
    """The chunks of a run written by :func:`_write_run`, which is then removed."""
    f = self._open_run(path)
    try:
        while True:
            try:
                yield pickle.load(f)
            except EOFError:
                return
    finally:
        f.close()
        self._remove_run(path)


def _read_run(self: Any, path: str) -> Iterator[Any]:
    """The postings of a run written by :func:`_write_run`, one at a time (as Whoosh's
    multi-process writer reads its sub-writers' runs)."""
    return chain.from_iterable(_run_chunks(self, path))


def _merge_runs(self: Any, paths: list[str]) -> Iterator[Any]:
    """The postings of sorted runs, in order."""
    return chain.from_iterable(merge_sorted_chunks([_run_chunks(self, p) for p in paths]))


def merge_sorted_chunks(sources: list[Iterator[list[Any]]]) -> Iterator[list[Any]]:
    """Merge sources of sorted items, each given as a sequence of sorted chunks, into
    sorted lists. Each step takes, from every source's current chunk, the items up to
    the smallest of those chunks' last items, and sorts them together (all in C): no
    item left behind can be smaller than one taken."""
    heads: list[tuple[list[Any], int, Iterator[list[Any]]]] = []
    for source in sources:
        if first := next((c for c in source if c), None):
            heads.append((first, 0, source))
    while len(heads) > 1:
        bound = min(chunk[-1] for chunk, _, _ in heads)
        out: list[Any] = []
        kept = []
        for chunk, start, source in heads:
            end = bisect_right(chunk, bound, start)
            out += chunk[start:end]
            if end < len(chunk):
                kept.append((chunk, end, source))
            elif following := next((c for c in source if c), None):
                kept.append((following, 0, source))
        out.sort()
        yield out
        heads = kept
    for chunk, start, source in heads:
        yield chunk[start:]
        yield from source


#: The smallest pickled block of postings that is compressed. On the 10k seed-shaped
#: corpus, blocks pickled in under 64 bytes (the postings of rare terms: 126,630 of
#: 203,988 blocks) grew from 4.4 to 5.1 MB when compressed, those of 64 to 127 bytes
#: shrank by a tenth (3.8 to 3.4 MB), bigger ones by a third to three quarters.
COMPRESS_AT = 128


def _write_block(self: Any, last: bool = False) -> None:
    """Whoosh's ``W3PostingsWriter._write_block``, compressing a block's pickle only
    from :data:`COMPRESS_AT` bytes. Whoosh means to leave pickles under 20 bytes
    uncompressed but sets the level again on the next line, so every block, most of
    them a rare term's few postings, went through zlib: a twentieth of a
    seed-shaped build's writing, for a bigger file. A block's header says whether it is
    compressed, and every reader (Whoosh's, :mod:`searchidx.whooshdb.bulk`) reads it
    there, so indexes written either way read alike. A block of positions carries its
    documents and weights packed after its pickle (:func:`bulk.block_side`)."""
    if not self._blockcount:
        self._postfile.write(whoosh3.WHOOSH3_HEADER_MAGIC)
    self._terminfo.add_block(self)
    mini = (self._mini_ids(), self._mini_weights(), self._mini_values())
    data = pickle.dumps(mini, 2)
    level = self._compression if len(data) >= COMPRESS_AT else 0
    if level:
        data = zlib.compress(data, level)
    ids = self._ids
    if isinstance(mini[2], tuple) and len(ids) >= SIDE_AT and not self._byteids:
        data += block_side(*mini[:2])
    info = pickle.dumps(
        (
            len(ids),
            ids[-1],
            self._maxweight,
            level,
            length_to_byte(self._minlength),
            length_to_byte(self._maxlength),
        ),
        2,
    )
    size = len(info) + len(data)
    self._postfile.write_int(-size if last else size)
    self._postfile.write(info)
    self._postfile.write(data)
    self._blockcount += 1
    self._new_block()


_whooshs_write_block = whoosh3.W3PostingsWriter._write_block
whoosh3.W3PostingsWriter._write_block = _write_block

PostingPool.add = _pool_add
PostingPool._write_run = _write_run
PostingPool._read_run = _read_run
PostingPool._merge_runs = _merge_runs


class _SegmentLengths:
    """The field lengths of a segment being written, each field's read whole when first
    asked for. Writing a posting asks for its document's length in its field, which
    Whoosh read from the column file a value at a time (in a profile of a build's
    sub-writer, 2.7 of its 36 s)."""

    def __init__(self, perdoc: Any) -> None:
        self._perdoc = perdoc
        self._lengths: dict[str, list[int]] = {}

    def doc_field_length(self, docnum: int, fieldname: str) -> int:
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            lengths = self._lengths[fieldname] = self._read(fieldname)
        return lengths[docnum]

    def _read(self, fieldname: str) -> list[int]:
        perdoc = self._perdoc
        count = perdoc.doc_count_all()
        reader = perdoc._cached_reader(whoosh3._lenfield(fieldname), whoosh3.LENGTHS_COLUMN)
        if reader is None:
            return [0] * count
        whole = whole_lengths(fieldname, reader, perdoc)
        if isinstance(whole, bytes):
            return [byte_to_length(b) for b in whole]
        return [perdoc.doc_field_length(d, fieldname) for d in range(count)]


def _flush_segment(self: Any) -> None:
    """Whoosh's ``SegmentWriter._flush_segment``, its postings written with the
    segment's field lengths read by :class:`_SegmentLengths`."""
    self.perdocwriter.close()
    perdoc = self.per_document_reader() if self.codec.length_stats else None
    postings = self.pool.iter_postings()
    lengths = _SegmentLengths(perdoc) if perdoc is not None else None
    self.fieldwriter.add_postings(self.schema, lengths, postings)
    self.fieldwriter.close()
    if perdoc is not None:
        perdoc.close()


SegmentWriter._flush_segment = _flush_segment


def document(
    item: StoredItem, body: str = "", related_json: list[str] | None = None
) -> dict[str, Any]:
    """The Whoosh document of an item (the fields of :mod:`searchidx.fields`).
    ``related_json`` may give its related entries already encoded."""
    doc: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "data": item.to_json(related_json),
    }
    norm = normalize_title(item.title, item.provider, item.domain)
    if norm:
        doc["norm"] = norm
    alt = [t for t in item.titles if t != item.title]
    if alt:
        doc["alt_titles"] = "\n".join(alt)
    if item.excerpt:
        doc["excerpt"] = item.excerpt
    if body:
        doc["body"] = body
    for name, twin in WORD_FIELDS.items():  # unstemmed, for wildcards
        if name in doc:
            doc[twin] = doc[name]
    if item.topics:
        doc["topic"] = ",".join(topic_key(t) for t in item.topics)
    if item.provider:
        doc["provider"] = provider_key(item.provider)
        doc["provider_name"] = item.provider
    if item.domain:
        doc["domain"] = item.domain
    if item.category:
        doc["category"] = item.category
    if item.published:
        when = datetime.fromisoformat(item.published)
        doc["published"] = when.replace(tzinfo=None)
        doc["oldest"] = -int(when.timestamp() * 1_000_000)
        doc["month"] = item.published[:7]
    for key, value in (("quality", item.quality), ("heat", item.heat)):
        if value is not None:
            doc[key] = max(-(2**31) + 1, min(2**31 - 1, round(value)))
    if item.is_published is not None:
        doc["is_published"] = item.is_published
    if item.related:
        doc["cites"] = ",".join(r["id"] for r in item.related)
        doc["links"] = " ".join(r["id"] for r in item.related).encode("utf-8")
    if item.excerpt:
        doc["gist"] = normalize_title(item.excerpt)[:GIST_CHARS].encode("utf-8")
    return doc


def write_batch(path: str, docs: Iterable[dict[str, Any]]) -> int:
    """Write documents to a batch file the way Whoosh writes its own job files (see
    ``MpWriter._enqueue``), for its sub-writers to read; return how many."""
    count = 0
    with open(path, "wb") as fh:
        for fields in docs:
            pickle.dump((0, fields), fh, 2)
            count += 1
    return count


def read_batch(path: str) -> Iterator[dict[str, Any]]:
    """The documents of a batch file, which is then removed."""
    with open(path, "rb") as fh:
        while True:
            try:
                _, fields = pickle.load(fh)
            except EOFError:
                break
            yield fields
    os.unlink(path)


def _fork(process_obj: Any) -> Any:
    """Start a process by forking it, whatever the default start method."""
    return multiprocessing.get_context("fork").Process._Popen(process_obj)


# Whoosh's sub-writer processes are always forked, as the parsing processes are
# (:func:`searchidx.indexing.load_files`): a forked process has this module's
# replacements of Whoosh's methods. Whoosh starts them by the default start method,
# which Python 3.14 makes a fork server on Linux: its processes import Whoosh alone and
# ran Whoosh's own methods (the 10k seed-shaped build took 28.3 s against 18.0 s
# forked, for the same index).
SubWriterTask._start_method = "fork"
SubWriterTask._Popen = staticmethod(_fork)


class BatchWriter(MpWriter):  # type: ignore[misc]
    """Whoosh's multi-process writer, also taking whole batch files from parsing
    processes, and letting its sub-writers finish their segments early."""

    closed = False

    def _new_task(self) -> Any:
        """Start a sub-writer with the cycle collector paused (a forked process keeps the
        setting): indexing makes no cycles, and the collector scanned the pool's postings
        again and again (2-3% of the sub-writers' CPU on the seed-shaped 100k corpus, the
        same peak memory)."""
        with gc_paused():
            return super()._new_task()

    def add_batch(self, name: str, count: int) -> None:
        """Hand the sub-writers a batch file of ``count`` documents (see
        :func:`write_batch`), which they read and delete."""
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
            write_batch(os.path.join(folder, name), batch)
            with sigint_deferred():
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

    def _commit_toc(self, segments: list[Any]) -> None:
        """Commit without the empty segments of sub-writers given no batch (another
        took them all, as timing decides), which every search would open for nothing;
        Whoosh then deletes their files."""
        super()._commit_toc([segment for segment in segments if segment.doc_count_all()])

    def add_document(self, **fields: Any) -> None:
        if self.closed:
            SegmentWriter.add_document(self, **fields)
        else:
            super().add_document(**fields)


class Writer:
    """One update of the Whoosh index in a data folder: items added, replaced and
    deleted, then committed as a new generation, or abandoned leaving nothing behind.
    With ``procs`` above 1 (a big first build), documents also come as whole batch
    files, which parallel sub-writers index (:attr:`batch_folder`)."""

    def __init__(self, ixdir: IndexDir, data_dir: str, fresh: bool) -> None:
        self._dir = ixdir
        self.data_dir = data_dir
        self.ix = open_dir(data_dir) if fresh else open_live(ixdir)
        if not fresh:
            try:  # every segment opens: a damaged index is said to be so, not updated
                opened(self.ix.reader).close()
            except READ_FAILURES as exc:
                raise damage(ixdir.path, exc) from None
        #: The generation committed last (0 for a new index).
        self.generation: int = self.ix.latest_generation()
        self._w: Any = None
        self.batch_folder: str | None = None

    def begin(self, procs: int = 1) -> None:
        """Take the writer (and Whoosh's lock); ``procs`` > 1 writes in parallel."""
        if procs > 1:
            self._w = BatchWriter(self.ix, procs=procs, **BIG_WRITER)
            missing = missing_parts(self._w)
            if missing:
                raise IndexWriteError(
                    "the installed Whoosh lacks what parallel writing uses "
                    f"({', '.join(missing)}); install the version in constraints.txt"
                )
            self.batch_folder = self._w.temp_storage().folder
        else:
            self._w = self.ix.writer(**WRITER)

    def add(self, fields: dict[str, Any]) -> None:
        self._w.add_document(**fields)

    def replace(self, fields: dict[str, Any]) -> None:
        """Add an item, deleting the item of the same id if there is one."""
        self._w.update_document(**fields)

    def delete(self, item_id: str) -> None:
        self._w.delete_by_term("id", item_id)

    def add_batch(self, name: str, count: int) -> None:
        self._w.add_batch(name, count)

    def add_batches(self, docs: Iterable[dict[str, Any]]) -> None:
        """Add documents through the parallel sub-writers, when there are any."""
        if self.batch_folder is None:
            for fields in docs:
                self.add(fields)
            return
        self._w.add_batches(self.batch_folder, docs)
        self._w.close_batches()

    @contextlib.contextmanager
    def reading(self) -> Iterator[WhooshSnapshot]:
        """The committed state this update starts from."""
        with self.ix.searcher() as searcher:
            yield WhooshSnapshot(self._dir, searcher)

    def commit(self, merge: bool) -> None:
        """Commit; with ``merge``, merge small segments (see :func:`merge_small_segments`).
        Then the committed segments written without tallies (by an earlier version) get
        theirs, at best: the update is committed, and a segment without them is
        counted from its columns (see :mod:`searchidx.whooshdb.tallies`)."""
        self._w.commit(mergetype=merge_small_segments if merge else None)
        with contextlib.suppress(Exception):
            tally_older_segments(self.data_dir)

    def count(self) -> int:
        """How many items the committed index holds, as its table of contents says
        (opening a reader of every segment to ask would cost more than a small update)."""
        from whoosh.index import TOC

        ix = open_dir(self.data_dir)
        return sum(int(seg.doc_count()) for seg in TOC.read(ix.storage, ix.indexname).segments)

    def abandon(self) -> None:
        """Drop the uncommitted writer even when the disk fails under it (cancelling
        writes too): release Whoosh's lock and delete the unfinished segment's files."""
        writer, self._w = self._w, None
        if writer is None:
            return
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
            for name in os.listdir(self.data_dir):
                if name.startswith(segment):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(self.data_dir, name))


def tally_older_segments(data_dir: str) -> None:
    """Write the tallies of the last committed segments that have none, from their
    columns (their deleted documents included, as in tallies written with a segment):
    an index written by an earlier version gets them at its next update, a segment
    once (0.43 s for the three segments of a 342,797-item index)."""
    from whoosh.index import TOC
    from whoosh.reading import SegmentReader

    ix = open_dir(data_dir)
    storage = ix.storage
    toc = TOC.read(storage, ix.indexname)
    for segment in toc.segments:
        if storage.file_exists(segment.make_filename(tallies.EXT)):
            continue
        reader = SegmentReader(storage, toc.schema, segment, generation=toc.generation)
        try:
            counts = [tally([whole_values(reader, n) for n in names]) for names in tallies.TALLIED]
        finally:
            reader.close()
        tallies.write(storage, segment, segment.doc_count_all(), counts, live=True)


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
