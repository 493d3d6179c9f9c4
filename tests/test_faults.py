"""Crashes, interruptions, locks, concurrent use and environment faults lose nothing."""

from __future__ import annotations

import contextlib
import fcntl
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from searchidx.cli import cli
from searchidx.copies import find_dupes
from searchidx.facets import facet_counts
from searchidx.indexing import update_index
from searchidx.searching import search
from searchidx.store import IndexDir
from searchidx.whooshdb.storage import open_live
from tests.conftest import ROOT, SAMPLES

WORDS = [
    "harbor",
    "vote",
    "strike",
    "port",
    "fare",
    "council",
    "storm",
    "budget",
    "mayor",
    "school",
    "breach",
    "fire",
    "union",
]
PROBES = ["harbor", "strike fare", '"port strike"', "council OR mayor", "budget~"]


def write_article(path: Path, n: int, rng: random.Random, version: int = 0) -> None:
    title = " ".join(rng.choices(WORDS, k=5)) + f" {n} v{version}"
    related = ""
    if n % 3 == 0:
        shared = n % 40
        related = (
            "related:\n"
            f'  - title: "Shared coverage {shared}"\n'
            f'    webUrl: "https://bay.example/s{shared}"\n'
            "    provider: {name: Bay Chronicle, domain: bay.example}\n"
        )
    path.write_text(
        "---\n"
        f"title: {json.dumps(title)}\n"
        f'webUrl: "https://wire.example/{n}"\n'
        f"publishedDateTime: 2024-01-{1 + n % 28:02}T10:00:00Z\n"
        f"provider: {{name: Wire {n % 7}, domain: wire{n % 7}.example}}\n"
        f"{related}---\n",
        encoding="utf-8",
    )


def make_corpus(root: Path, n: int, seed: int = 1) -> random.Random:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_article(root / f"{i:05}.md", i, rng)
    return rng


def mutate(root: Path, rng: random.Random, version: int) -> None:
    """Change, add and delete some files."""
    files = sorted(root.glob("*.md"))
    for path in rng.sample(files, 120):
        write_article(path, int(path.stem), rng, version)
    for path in rng.sample(files, 40):
        path.unlink()
    top = max(int(p.stem) for p in root.glob("*.md")) + 1
    for n in range(top, top + 60):
        write_article(root / f"{n:05}.md", n, rng, version)


def state(index: str) -> tuple[frozenset[tuple[str, str, str]], tuple[tuple[str, ...], ...]]:
    """Every item (id, kind, title) and the hits of the probe queries."""
    ixdir = IndexDir(index)
    with open_live(ixdir).searcher() as searcher:
        items = frozenset(
            (r["id"], r["kind"], r["title"])
            for r in (json.loads(f["data"]) for f in searcher.all_stored_fields())
        )
    probes = tuple(
        tuple(sorted(h.id for h in search(index, q, limit=5000, similar=False).hits))
        for q in PROBES
    )
    return items, probes


def generation(index: str) -> int:
    return int(open_live(IndexDir(index)).latest_generation())


def command(index: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "searchidx", "--index", index, *args]


def checked(index: str) -> None:
    result = CliRunner().invoke(cli, ["--index", index, "check"])
    assert result.exit_code == 0, result.output


def wait_for_commit(
    index: str, gen: int, proc: subprocess.Popen[bytes], timeout: float = 20
) -> bool:
    """Wait until the run has written the manifest of the next generation: it is
    committing now. False if it ended first."""
    data_dir = Path(IndexDir(index).data_dir())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if (data_dir / f"manifest-{gen + 1}.json").exists():
            return True
        time.sleep(0.0005)
    return False


def wait_for_lock(index: str, proc: subprocess.Popen[bytes], timeout: float = 20) -> bool:
    """Wait until the run holds the write lock (its pid is in the lock file): it is
    under way. False if it ended first."""
    lock = Path(index, "write.lock")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError):
            if lock.read_text(encoding="ascii") == str(proc.pid):
                return True
        time.sleep(0.0005)
    return False


def wait_for_writing(
    index: str, before: set[str], proc: subprocess.Popen[bytes], timeout: float = 20
) -> bool:
    """Wait until the run has begun writing a new segment: a file of the index's data
    folder not among ``before``, its names before the run started. False if it ended
    first."""
    data_dir = Path(IndexDir(index).data_dir())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if any(n.startswith("MAIN_") for n in set(os.listdir(data_dir)) - before):
            return True
        time.sleep(0.0005)
    return False


@pytest.mark.slow
def test_sigkill_while_reading_writing_or_committing(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", str(tmp_path / "index")
    rng = make_corpus(corpus, 2500)
    assert update_index(index, [str(corpus)]).failed == 0
    kills = during_commit = committed = 0
    written_in_full: set[bool] = set()  # whether each manifest lists every file
    for trial in range(30):
        mutate(corpus, rng, trial + 1)
        before, gen = state(index), generation(index)
        files = set(os.listdir(IndexDir(index).data_dir()))
        proc = subprocess.Popen(
            command(index, "index", str(corpus)),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Each run is killed at a moment it reaches, whatever the machine's speed: while
        # it reads files (it holds the lock), writes a segment, or commits.
        if trial % 3 == 0:
            during_commit += wait_for_commit(index, gen, proc)
        elif trial % 3 == 1:
            wait_for_lock(index, proc)
        else:
            wait_for_writing(index, files, proc)
        proc.kill()
        kills += proc.wait() == -signal.SIGKILL
        # The index opens, passes the check, and holds the last committed state.
        checked(index)
        after = state(index)
        if generation(index) == gen:
            assert after == before
        else:
            committed += 1
        rerun = subprocess.run(
            command(index, "index", str(corpus)), cwd=ROOT, capture_output=True, text=True
        )
        assert rerun.returncode == 0, rerun.stderr
        if generation(index) == gen + 1 and after != before:
            assert state(index) == after  # what was committed was complete
        checked(index)
        ixdir = IndexDir(index)
        written_in_full.add(ixdir.read_manifest(ixdir.data_dir(), generation(index)).base is None)
    clean = str(tmp_path / "clean")
    update_index(clean, [str(corpus)])
    assert state(index) == state(clean)
    print(
        f"\nkill test: {kills} SIGKILLs ({during_commit} during commit, {committed} after "
        f"which the new state was committed), {len(state(index)[0])} items, 0 lost"
    )
    assert kills >= 20
    assert during_commit >= 5
    # The runs killed and rerun wrote manifests of both kinds: changes, and every file.
    assert written_in_full == {True, False}


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", str(tmp_path / "index")
    make_corpus(corpus, 3000)
    update_index(index, [str(corpus)])
    before = state(index)
    proc = subprocess.Popen(
        command(index, "index", "--rebuild", str(corpus)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As a terminal starts a command: Ctrl-C not ignored, though a shell running
        # the test suite in the background ignores it for everything it starts.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Ctrl-C once the rebuild is under way: its new data folder has the writer's files.
    rebuilding = Path(index, "data-2")
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        if rebuilding.is_dir() and len(os.listdir(rebuilding)) > 1:
            break
        time.sleep(0.001)
    assert proc.poll() is None, "the rebuild ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert err == "\ninterrupted: the index keeps its last committed state\n"
    checked(index)
    assert state(index) == before
    assert sorted(os.listdir(index)) == ["CURRENT", "data-1", "write.lock"]


def test_ctrl_c_while_the_command_loads_its_modules_shows_no_traceback() -> None:
    # The process sends itself Ctrl-C when the command first imports click.
    code = (
        "import builtins, os, signal\n"
        "real = builtins.__import__\n"
        "def hook(name, *args, **kwargs):\n"
        "    if name == 'click':\n"
        "        builtins.__import__ = real\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = hook\n"
        "from searchidx.__main__ import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", "\nAborted!\n")


def test_ctrl_c_once_the_command_has_finished_changes_nothing(tmp_path: Path) -> None:
    # The process sends itself Ctrl-C as the finished command exits.
    code = (
        "import os, signal\n"
        "from searchidx.__main__ import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    raise\n"
    )
    index = str(tmp_path / "index")
    proc = subprocess.run(
        [sys.executable, "-c", code, "--index", index, "index", str(SAMPLES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (0, f"created index at {index}\n")
    assert proc.stdout.startswith("added 34, updated 0, removed 0, unchanged 0, failed 0")


def test_stale_lock_of_a_dead_writer_is_taken_over(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", str(tmp_path / "index")
    make_corpus(corpus, 20)
    update_index(index, [str(corpus)])
    Path(index, "write.lock").write_text("999999")
    result = CliRunner().invoke(cli, ["--index", index, "index", str(corpus)])
    assert result.exit_code == 0
    assert result.stderr == (
        "a previous run (pid 999999) stopped without finishing; "
        "its lock was released and its uncommitted changes discarded\n"
    )


@contextlib.contextmanager
def held_lock(index: str) -> Iterator[None]:
    fd = os.open(os.path.join(index, "write.lock"), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.pwrite(fd, b"4242", 0)
        yield
    finally:
        os.close(fd)


def test_a_second_writer_waits_then_gives_up(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", str(tmp_path / "index")
    make_corpus(corpus, 20)
    update_index(index, [str(corpus)])
    with held_lock(index):
        result = CliRunner().invoke(cli, ["--index", index, "index", "--wait", "0.3", str(corpus)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"waiting for another searchidx (pid 4242) to finish writing {index} (up to 0.3s)",
        f"Error: {index} is being written by another searchidx process (pid 4242); gave up after 0.3s",
    ]


def test_two_writers_at_once_leave_a_sound_index(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", str(tmp_path / "index")
    rng = make_corpus(corpus, 1500)
    update_index(index, [str(corpus)])
    mutate(corpus, rng, 1)
    procs = [
        subprocess.Popen(
            command(index, "index", str(corpus)),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    checked(index)
    clean = str(tmp_path / "clean")
    update_index(clean, [str(corpus)])
    assert state(index) == state(clean)


def dupes(index: str) -> tuple[int, int, list[list[str]]]:
    """What ``dupes harbor`` finds: the items compared, and the clusters."""
    found = find_dupes(index, "harbor", limit=0)
    clusters = sorted(sorted(m.id for m in c.members) for c in found.clusters)
    return found.items, found.total_clusters, clusters


def test_readers_see_committed_states_while_a_writer_works(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", str(tmp_path / "index")
    rng = make_corpus(corpus, 2000)
    update_index(index, [str(corpus)])
    old_total = search(index, "*").total
    old_dupes = dupes(index)
    mutate(corpus, rng, 1)
    clean = str(tmp_path / "clean")
    update_index(clean, [str(corpus)])
    new_total = search(clean, "*").total
    new_dupes = dupes(clean)
    assert old_total != new_total
    assert old_dupes != new_dupes
    reads = 0
    for args in (["index", str(corpus)], ["index", "--rebuild", str(corpus)]):
        proc = subprocess.Popen(
            command(index, *args), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        while proc.poll() is None:
            assert dupes(index) in (old_dupes, new_dupes)
            assert search(index, "*").total in (old_total, new_total)
            assert facet_counts(index, "provider").total in (old_total, new_total)
            reads += 1
        assert proc.returncode == 0
        old_total, old_dupes = new_total, new_dupes
    assert reads >= 4
    checked(index)


# --- environment faults ---------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("cannot mount a small file system here (needs root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_full_disk_in_a_big_first_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A big build's parsing processes write batch files into the new index's folder.
    from searchidx import indexing

    monkeypatch.setattr(indexing, "BIG_BUILD", 50)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(150):
        (corpus / f"{n}.md").write_text(
            f"---\ntitle: Long story {n}\n---\n" + " ".join(f"word{n}x{i}" for i in range(2000)),
            encoding="utf-8",
        )
    with small_disk(tmp_path / "disk", "1m") as disk:
        index = str(disk / "index")
        result = CliRunner().invoke(cli, ["--index", index, "index", "--jobs", "2", str(corpus)])
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: could not write the index at {index}: No space left on device; "
            "the previous state is kept\n"
        )
        assert os.listdir(index) == ["write.lock"]


def test_read_only_index_folder(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    rng = make_corpus(corpus, 30)
    with small_disk(tmp_path / "disk", "16m") as disk:
        index = str(disk / "index")
        update_index(index, [str(corpus)])
        before = state(index)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        mutate_few(corpus, rng)
        result = CliRunner().invoke(cli, ["--index", index, "index", str(corpus)])
        assert result.exit_code == 1
        assert result.stderr == f"Error: cannot write to {index}: Read-only file system\n"
        assert state(index) == before
        checked(index)


def mutate_few(corpus: Path, rng: random.Random) -> None:
    for n in range(1000, 1010):
        write_article(corpus / f"{n:05}.md", n, rng)


def test_full_disk(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    make_corpus(corpus, 30)
    with small_disk(tmp_path / "disk", "1m") as disk:
        index = str(disk / "index")
        update_index(index, [str(corpus)])
        before = state(index)
        big = tmp_path / "big"
        big.mkdir()
        for n in range(150):
            (big / f"{n}.md").write_text(
                f"---\ntitle: Long story {n}\n---\n"
                + " ".join(f"word{n}x{i}" for i in range(2000)),
                encoding="utf-8",
            )
        result = CliRunner().invoke(cli, ["--index", index, "index", str(corpus), str(big)])
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: could not write the index at {index}: No space left on device; "
            "the previous state is kept\n"
        )
        assert state(index) == before
        checked(index)


def _many(corpus: Path, n: int = 120) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (corpus / f"{i:03}.md").write_text(f"---\ntitle: Story {i}\n---\n", encoding="utf-8")


@pytest.mark.parametrize(
    "death",
    [lambda: os._exit(3), lambda: os.kill(os.getpid(), signal.SIGKILL)],
    ids=["exit", "sigkill"],
)
def test_a_reading_process_that_dies_ends_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, death: Any
) -> None:
    """A worker dying on one file (as when the kernel kills it) is reported at once, not
    waited for; the index keeps its previous state."""
    from searchidx import indexing

    corpus = tmp_path / "corpus"
    _many(corpus)
    index = str(tmp_path / "index")
    update_index(index, [str(corpus)], jobs=1)
    before = state(index)
    for i in range(120):
        (corpus / f"{i:03}.md").write_text(f"---\ntitle: Changed {i}\n---\n", encoding="utf-8")
    load = indexing._load_file

    def dying(task: indexing.Task) -> indexing.Loaded:
        if task[0].endswith("077.md") and os.getpid() != parent:
            death()
        return load(task)

    parent = os.getpid()
    monkeypatch.setattr(indexing, "_load_file", dying)
    result = CliRunner().invoke(cli, ["--index", index, "index", "--jobs", "2", str(corpus)])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: a file-reading process stopped unexpectedly (killed, or out of memory); "
        "nothing was written and the index keeps its previous state\n"
    )
    assert multiprocessing.active_children() == []
    assert state(index) == before
    checked(index)


def test_an_unforeseen_failure_on_one_file_is_that_files_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from searchidx import indexing

    corpus = tmp_path / "corpus"
    _many(corpus)
    load = indexing._load_file

    class Unpicklable(Exception):
        def __init__(self, a: int, b: int) -> None:
            super().__init__(f"{a}/{b}")

    def failing(task: indexing.Task) -> indexing.Loaded:
        if task[0].endswith("042.md"):
            raise Unpicklable(1, 2)
        return load(task)

    monkeypatch.setattr(indexing, "_load_file", failing)
    index = str(tmp_path / "index")
    result = CliRunner().invoke(cli, ["--index", index, "index", "--jobs", "2", str(corpus)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"{corpus}/042.md: cannot be read: Unpicklable('1/2')\ncreated index at {index}\n"
    )
    assert result.stdout.startswith(
        "added 119, updated 0, removed 0, unchanged 0, failed 1, skipped 0 records "
    )


def test_parse_errors_pickle() -> None:
    import pickle

    from searchidx.errors import ParseError

    err = pickle.loads(pickle.dumps(ParseError("a.md", "bad", 3)))
    assert (type(err), err.path, err.reason, err.line, str(err)) == (
        ParseError,
        "a.md",
        "bad",
        3,
        "a.md:3: bad",
    )


def test_a_reading_process_that_dies_in_a_big_first_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beside Whoosh's own writing processes: all end, and nothing is left."""
    from searchidx import indexing

    monkeypatch.setattr(indexing, "BIG_BUILD", 50)
    corpus = tmp_path / "corpus"
    _many(corpus, 300)
    load = indexing._load_file
    parent = os.getpid()

    def dying(task: indexing.Task) -> indexing.Loaded:
        if task[0].endswith("250.md") and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return load(task)

    monkeypatch.setattr(indexing, "_load_file", dying)
    index = str(tmp_path / "index")
    result = CliRunner().invoke(cli, ["--index", index, "index", "--jobs", "2", str(corpus)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: a file-reading process stopped unexpectedly")
    assert multiprocessing.active_children() == []
    assert os.listdir(index) == ["write.lock"]
