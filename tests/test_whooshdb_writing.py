"""Writing a Whoosh index (:mod:`searchidx.whooshdb.writing`): the postings pool's
sorting runs, written and merged a chunk at a time."""

from __future__ import annotations

import os
import random
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from whoosh import index as windex

from searchidx.store import IndexDir
from searchidx.whooshdb.storage import create
from searchidx.whooshdb.writing import WRITER, merge_sorted_chunks
from tests.conftest import FILLER, VOCABULARY


@given(
    st.lists(st.lists(st.integers(0, 40), max_size=30), max_size=6),
    st.integers(1, 7),
    st.booleans(),
)
def test_merging_sorted_chunks_gives_every_item_in_order(
    runs: list[list[int]], size: int, empty_chunks: bool
) -> None:
    sources = []
    for run in runs:
        run = sorted(run)
        chunks = [run[i : i + size] for i in range(0, len(run), size)]
        if empty_chunks:  # a source may give empty chunks anywhere
            chunks = [c for chunk in chunks for c in ([], chunk)] + [[]]
        sources.append(iter(chunks))
    merged = [x for chunk in merge_sorted_chunks(sources) for x in chunk]
    assert merged == sorted(x for run in runs for x in run)


def _postings(folder: str) -> list[Any]:
    ix = windex.open_dir(folder)
    with ix.reader() as reader:
        found: list[Any] = [
            (field, text, list(reader.postings(field, text).all_items()))
            for field, text in reader.all_terms()
        ]
        found.append(list(reader.all_stored_fields()))
        found.append(list(reader.column_reader("norm")))
    return found


def test_a_segment_sorted_in_runs_on_disk_equals_one_sorted_in_memory(tmp_path: Path) -> None:
    rng = random.Random(3)
    docs = []
    for n in range(3000):
        words = rng.sample(VOCABULARY, 2) + rng.sample(FILLER, 4) + [f"w{rng.randrange(500)}"]
        title = " ".join(words)
        excerpt = " ".join(rng.choices(VOCABULARY + FILLER, k=12))
        docs.append(
            {"id": f"{n:05d}", "kind": "article", "title": title, "title_w": title,
             "norm": title, "excerpt": excerpt, "data": title}
        )  # fmt: skip
    folders = []
    for name, limitmb in (("memory", 256), ("runs", 1)):
        folder = IndexDir(str(tmp_path / name)).new_data_dir({}, create)
        writer = windex.open_dir(folder).writer(**{**WRITER, "limitmb": limitmb})
        for fields in docs:
            writer.add_document(**fields)
        spilled = len(writer.pool.runs)
        assert spilled > 3 if limitmb == 1 else spilled == 0
        writer.commit()
        folders.append(folder)
    memory, runs = (_postings(folder) for folder in folders)
    assert len(memory) > 1000
    assert runs == memory


def test_whooshs_multi_process_writer_reads_its_sub_writers_runs(tmp_path: Path) -> None:
    """Merging into one segment, Whoosh's multi-process writer reads the runs its
    sub-writers spilled a posting at a time (the project's own builds keep the
    sub-writers' segments): the same postings as one writer in memory."""
    from whoosh.multiproc import MpWriter

    docs = [
        {"id": f"{n:04d}", "kind": "article", "title": f"flood barrier w{n % 37} {n}"}
        for n in range(400)
    ]
    folders = []
    for name in ("memory", "processes"):
        folder = IndexDir(str(tmp_path / name)).new_data_dir({}, create)
        ix = windex.open_dir(folder)
        if name == "memory":
            writer: Any = ix.writer(**WRITER)
        else:
            writer = MpWriter(ix, procs=2, multisegment=False, batchsize=50, limitmb=0.01)
        for fields in docs:
            writer.add_document(**fields)
        writer.commit()
        folders.append(folder)
    memory, processes = (_postings_by_id(folder) for folder in folders)
    assert len(memory) > 400
    assert processes == memory


def _postings_by_id(folder: str) -> list[Any]:
    """Every term's postings by item id (the processes number the documents their way)."""
    ix = windex.open_dir(folder)
    with ix.reader() as reader:
        ids = {d: fields["id"] for d, fields in reader.iter_docs()}
        return [
            (
                field,
                text,
                sorted((ids[d], v) for d, v in reader.postings(field, text).items_as("weight")),
            )
            for field, text in reader.all_terms()
        ]


def test_each_terms_length_bounds_are_those_of_its_documents(sample_index: str) -> None:
    from whoosh.util.numeric import byte_to_length, length_to_byte

    from searchidx.whooshdb.storage import open_live

    def rounded(length: int) -> int:  # lengths are kept as one byte
        return int(byte_to_length(length_to_byte(length)))

    checked = 0
    with open_live(IndexDir(sample_index)).reader() as reader:
        for field, text in reader.all_terms():
            if not reader.schema[field].scorable:
                continue
            info = reader.term_info(field, text)
            docs = list(reader.postings(field, text).all_ids())
            lengths = [rounded(reader.doc_field_length(d, field)) for d in docs]
            assert (info.min_length(), info.max_length()) == (min(lengths), max(lengths))
            checked += 1
    assert checked > 500


def test_whooshs_writer_has_what_the_replaced_parts_use(tmp_path: Path) -> None:
    import io

    from whoosh.codec import whoosh3
    from whoosh.filedb.structfile import StructFile

    from searchidx.whooshdb.writing import POOL_PARTS, POSTINGS_PARTS, SEGMENT_WRITER_PARTS

    folder = IndexDir(str(tmp_path / "ix")).new_data_dir({}, create)
    writer = windex.open_dir(folder).writer(**WRITER)
    try:
        assert [p for p in SEGMENT_WRITER_PARTS if not hasattr(writer, p)] == []
        assert [p for p in POOL_PARTS if not hasattr(writer.pool, p)] == []
        assert hasattr(writer.codec, "length_stats")
        postings = writer.codec.postings_writer(StructFile(io.BytesIO()))
        postings.start_postings(writer.schema["title"].format, whoosh3.W3TermInfo())
        assert [p for p in POSTINGS_PARTS if not hasattr(postings, p)] == []
    finally:
        writer.cancel()


def _blocks(folder: str, number: int | None = None) -> list[tuple[int, bytes]]:
    """Every block of postings of the index's one segment (or its segment ``number``):
    its compression level (from its header) and its pickled data as written, without
    the packed documents and weights that may follow it (see :func:`_all_blocks`)."""
    from searchidx.whooshdb.bulk import side_start

    found = []
    for _, _, level, data in _all_blocks(folder, number):
        start = side_start(data)
        found.append((level, data if start is None else data[:start]))
    return found


def _all_blocks(folder: str, number: int | None = None) -> list[tuple[str, int, int, bytes]]:
    """Every block of postings of the index's one segment (or its segment ``number``):
    its field, its number of postings and compression level (from its header), and its
    data as written."""
    import pickle
    import struct

    from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
    from whoosh.reading import SegmentReader

    ix = windex.open_dir(folder)
    segments = ix._segments()
    if number is None:
        (segment,) = segments
    else:
        segment = segments[number]
    with open(Path(folder) / segment.make_filename(".pst"), "rb") as f:
        postings = f.read()
    found = []
    with SegmentReader(ix.storage, ix.schema, segment) as reader:
        for field, text in reader.all_terms():
            offset, length = reader.term_info(field, text).extent()
            if isinstance(length, tuple):  # Whoosh reads it with struct's unpack
                (length,) = length
            data = postings[offset : offset + length]
            assert data.startswith(WHOOSH3_HEADER_MAGIC)
            at = len(WHOOSH3_HEADER_MAGIC)
            while at < len(data):
                (size,) = struct.unpack_from("!i", data, at)
                at += 4
                header_end = at + len(pickle.dumps(pickle.loads(data[at:]), 2))
                header = pickle.loads(data[at:header_end])
                found.append((field, header[0], header[3], data[header_end : at + abs(size)]))
                at += abs(size)
    return found


def _new_index(path: Path, docs: list[dict[str, str]]) -> str:
    """A new index's data folder at ``path`` holding ``docs``, written in one process
    with a build's writer settings."""
    folder = IndexDir(str(path)).new_data_dir({}, create)
    writer = windex.open_dir(folder).writer(**WRITER)
    for fields in docs:
        writer.add_document(**fields)
    writer.commit()
    return folder


def test_only_blocks_big_enough_are_compressed_and_postings_read_as_whooshs(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import zlib

    from whoosh.codec import whoosh3

    from searchidx.whooshdb import writing

    rng = random.Random(5)
    docs = []
    for n in range(2000):
        title = " ".join(rng.sample(VOCABULARY, 3) + rng.sample(FILLER, 3) + [f"w{n % 700}"])
        docs.append({"id": f"{n:05d}", "kind": "article", "title": title, "norm": title})
    folders = {}
    for name in ("whooshs", "ours"):
        if name == "whooshs":
            monkeypatch.setattr(
                whoosh3.W3PostingsWriter, "_write_block", writing._whooshs_write_block
            )
        else:
            monkeypatch.undo()
        folders[name] = _new_index(tmp_path / name, docs)
    assert whoosh3.W3PostingsWriter._write_block is writing._write_block
    assert _postings(folders["ours"]) == _postings(folders["whooshs"])
    whooshs, ours = _blocks(folders["whooshs"]), _blocks(folders["ours"])
    assert len(ours) == len(whooshs) > 2000
    assert all(level == 3 for level, _ in whooshs)  # every block compressed
    sizes = []
    for level, data in ours:
        pickled = zlib.decompress(data) if level else data
        assert level == (3 if len(pickled) >= writing.COMPRESS_AT else 0)
        sizes.append(len(pickled))
    assert min(sizes) < writing.COMPRESS_AT <= max(sizes)
    assert sum(len(d) for _, d in ours) < sum(len(d) for _, d in whooshs)


def _side_docs(seed: int) -> list[dict[str, str]]:
    """Items whose words are in many, some or few items, once or several times each,
    in fields of several boosts."""
    rng = random.Random(seed)
    docs = []
    for n in range(1500):
        title = " ".join(rng.sample(VOCABULARY, 3) + rng.sample(FILLER, 3) + [f"w{n % 400}"])
        excerpt = " ".join(rng.choices(VOCABULARY + FILLER, k=rng.randrange(1, 30)))
        body = " ".join([*rng.choices(VOCABULARY, k=rng.randrange(1, 4)), f"b{n % 40}"])
        docs.append(
            {"id": f"{n:05d}", "kind": "article", "title": title, "title_w": title,
             "norm": title, "excerpt": excerpt, "body": body}
        )  # fmt: skip
    return docs


def test_blocks_of_positions_carry_their_documents_and_weights_packed(tmp_path: Path) -> None:
    """A block of SIDE_AT postings or more whose values are positions has its documents
    and weights packed after its pickle, and a query needing no positions reads them
    there, to what Whoosh reads from the pickle (weights of every kind)."""
    from searchidx.whooshdb import bulk, writing

    folder = _new_index(tmp_path / "index", _side_docs(7))
    ix = windex.open_dir(folder)
    kinds: Counter[tuple[str, bool]] = Counter()
    for field, count, _, data in _all_blocks(folder):
        positions = ix.schema[field].format.fixed_value_size() is None
        start = bulk.side_start(data)
        assert (start is not None) == (positions and count >= writing.SIDE_AT), (field, count)
        kinds[field, start is not None] += 1
        if start is not None:
            kinds[data[-len(bulk.SIDE_MAGIC) - 1 : -len(bulk.SIDE_MAGIC)].decode(), True] += 1
    assert kinds["title", True] and kinds["excerpt", True] and kinds["title", False]
    assert kinds["norm", False] and not kinds["norm", True]  # no positions: no side
    # Weights: 1.0 each, one for all, whole numbers (body), any number (excerpt).
    assert all(kinds[kind, True] for kind in "nfBd"), kinds
    compared = 0
    with ix.reader() as reader:
        for field, text in reader.all_terms():
            matcher = reader.postings(field, text)
            ids, weights, values = [], [], []
            while matcher.is_active():
                ids.append(matcher.id())
                weights.append(matcher.weight())
                values.append(matcher.value())
                matcher.next()
            assert bulk.postings_with_weights(reader, field, text) == (ids, weights, [])
            if ix.schema[field].format.fixed_value_size() is None:  # positions
                found = bulk.postings_with_weights(reader, field, text, values=True)
                assert found == (ids, weights, values)
            wanted = ids[::7]
            assert bulk.postings_with_weights(reader, field, text, wanted) == (
                wanted,
                weights[::7],
                [],
            )
            compared += len(ids)
    assert compared > 20_000


def test_blocks_with_and_without_packed_postings_read_alike(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """An index written before blocks carried their documents and weights packed reads
    as one written with them, in Whoosh's reading and in the bulk reading."""
    from searchidx.whooshdb import bulk, writing

    docs = _side_docs(8)
    folders = {}
    for name, side_at in (("without", 10**9), ("with", writing.SIDE_AT)):
        monkeypatch.setattr(writing, "SIDE_AT", side_at)
        folders[name] = _new_index(tmp_path / name, docs)
    sides = {
        name: sum(bulk.side_start(data) is not None for *_, data in _all_blocks(folder))
        for name, folder in folders.items()
    }
    assert sides["without"] == 0 < sides["with"]
    assert _postings(folders["with"]) == _postings(folders["without"])
    read = {}
    for name, folder in folders.items():
        with windex.open_dir(folder).reader() as reader:
            read[name] = [
                (field, text, bulk.postings_with_weights(reader, field, text))
                for field, text in reader.all_terms()
            ]
    assert read["with"] == read["without"]


@pytest.mark.parametrize(
    ("end", "reason"),
    [
        (b"\x00\x00\x00\x00\x05\x00\x00\x00Bx", "of no known kind"),
        (b"\x00\x00\x00\x00\x05\x00\x00\x00Qn", "of no known kind"),
        (b"\x00\x00\x00\x00\xff\x00\x00\x00Bn", "do not add up"),
    ],
)
def test_a_damaged_packed_block_is_an_error(end: bytes, reason: str) -> None:
    from searchidx.whooshdb import bulk

    with pytest.raises(ValueError, match=reason):
        bulk.side_start(b"\x80\x02." + b"\x01" * 5 + end + bulk.SIDE_MAGIC)
    assert bulk.side_start(b"\x80\x02." + b"\x01" * 5 + end) is None


def test_a_block_of_exactly_the_boundary_size_is_compressed(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """The test above has no block of exactly COMPRESS_AT bytes: the boundary is moved
    to a size that blocks of these documents pickle to, and such blocks are compressed
    while the next smaller ones are not."""
    from searchidx.whooshdb import writing

    rng = random.Random(6)
    docs = []
    for n in range(600):
        title = " ".join(rng.sample(VOCABULARY, 3) + rng.sample(FILLER, 2) + [f"w{n % 90}"])
        docs.append({"id": f"{n:05d}", "kind": "article", "title": title})

    def write(name: str) -> list[tuple[int, int]]:
        return [
            (level, len(zlib.decompress(data) if level else data))
            for level, data in _blocks(_new_index(tmp_path / name, docs))
        ]

    made = Counter(size for _, size in write("first"))
    boundary = max((n for n in made if n - 1 in made), key=lambda n: (made[n] + made[n - 1], -n))
    monkeypatch.setattr(writing, "COMPRESS_AT", boundary)
    levels = {size: {level for level, s in write("moved") if s == size} for size in made}
    assert levels[boundary] == {3}
    assert levels[boundary - 1] == {0}
    assert all(levels[n] == ({3} if n >= boundary else {0}) for n in made)


def test_sub_writers_are_forked_whatever_the_default_start_method(
    write: Any, corpus: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    """Python 3.14 makes a fork server the default start method on Linux, whose
    processes import Whoosh alone and would run its own methods. The sub-writers of a
    big build are forked: each segment's small blocks are left uncompressed, as only
    this project's block writer leaves them."""
    import multiprocessing

    from searchidx import indexing
    from tests.conftest import article

    monkeypatch.setattr(indexing, "BIG_BUILD", 50)
    for i in range(120):
        write(f"{i:03}.md", article(f"Story number {i} w{i % 7}", f"https://harborwire.com/{i}"))
    default = multiprocessing.get_start_method()
    multiprocessing.set_start_method("forkserver", force=True)
    try:
        indexing.update_index(str(tmp_path / "ix"), [str(corpus)], jobs=2)
    finally:
        multiprocessing.set_start_method(default, force=True)
    folder = IndexDir(str(tmp_path / "ix")).data_dir()
    segments = len(windex.open_dir(folder)._segments())
    # Every segment is a sub-writer's: this build has no related items, which this
    # process would write itself. One sub-writer may take both batches, as timing decides.
    assert segments in (1, 2)
    for number in range(segments):
        assert {level for level, _ in _blocks(folder, number)} == {0, 3}


def test_a_sub_writer_given_no_batch_leaves_no_segment(tmp_path: Path) -> None:
    """Whoosh keeps one segment per sub-writer of a big build. A sub-writer given no
    batch (another took them all, as timing decides) left an empty segment, which every
    search then opened for nothing."""
    from searchidx.whooshdb.writing import Writer

    ixdir = IndexDir(str(tmp_path / "ix"))
    writer = Writer(ixdir, ixdir.new_data_dir({}, create), fresh=True)
    writer.begin(3)
    for _ in range(3):  # every sub-writer starts before the one batch comes
        writer._w._new_task()
    docs = [{"id": f"{n:03d}", "kind": "article", "title": f"harbor w{n}"} for n in range(50)]
    writer.add_batches(docs)
    writer.commit(merge=False)
    segments = windex.open_dir(writer.data_dir)._segments()
    assert [segment.doc_count_all() for segment in segments] == [50]
    assert writer.count() == 50
    (segment,) = segments
    names = {name.split(".")[0] for name in os.listdir(writer.data_dir)}
    assert names - {"_MAIN_1", "meta", "MAIN_WRITELOCK"} == {segment.make_filename("")}
