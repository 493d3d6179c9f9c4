"""Stories: the grouping core, stories of real indexes, the command, updates."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchidx import progress, storycore, storyfile
from searchidx.cli import cli
from searchidx.engine import index_at
from searchidx.indexing import update_index
from searchidx.query import Filters, parse_date_option
from searchidx.searching import search
from searchidx.stories import (
    find_stories,
    group_index,
    index_stories,
    kept_state,
    provider_firsts,
    story_of,
)
from searchidx.storycore import Entry
from tests.conftest import ROOT, article, related

Write = Callable[..., Path]
DAY = 86_400
T0 = 1_400_000_000
SETTINGS = (storycore.DEFAULT_THRESHOLD, storycore.DEFAULT_WINDOW_DAYS)
T_MARCH = 1_709_629_200  # 2024-03-05T09:00:00Z
T_JUNE = 1_718_128_800  # 2024-06-11T18:00:00Z


def entry(key: str, title: str, day: float = 0, excerpt: str = "") -> Entry:
    return Entry(key, title, excerpt, int(T0 + day * DAY))


def keyed(entries: list[Entry], groups: list[list[int]]) -> set[frozenset[str]]:
    return {frozenset(entries[i].key for i in g) for g in groups}


# --- the core ------------------------------------------------------------------------------

# Unrelated items, so that word rarity means something.
FILLER = [
    entry(f"f{i:02d}", f"ferry{i} schedule{i} change{i} spring{i}", i % 20) for i in range(30)
]


def test_rewordings_of_one_story_group_and_others_stay_apart() -> None:
    es = [
        entry("a", "quillon systems to cut 1200 jobs in ai restructuring", 0),
        entry("b", "quillon systems to lay off 1200 workers", 0.5),
        entry("c", "quillon systems layoffs 1200 jobs cut", 1),
        entry("d", "wildfire near sawtooth ridge forces evacuations", 0.2),
        *FILLER,
    ]
    assert keyed(es, storycore.group(es)) == {frozenset("abc")}


def test_one_shared_word_makes_no_candidate_pair_two_do() -> None:
    # A short title sharing one rare word with a story's titles ("Lohan offered $1m book
    # deal", "Colorado raises $2M in first month of marijuana taxes": "million") scored
    # over the least cosine, and with its day joined the story, of which, published
    # first, it was then taken for the first publisher.
    one = {1: 0.8, 2: 0.6}  # "million", "lohan"
    vectors = [one, {1: 0.8, 3: 0.6}, {1: 0.6, 2: 0.6, 4: 0.52915}]
    edges = storycore.candidate_edges(
        range(3), vectors, [0, 3600, 7200], ["a", "b", "c"], [[1], [1], [1]], 3.0
    )
    assert sorted(edges) == [(0, 2)]  # "million lohan"; (0, 1) and (1, 2) share one word
    assert round(storycore.dot(vectors[0], vectors[1]), 2) == 0.64
    # A related list names its pairs whatever they share.
    linked = storycore.candidate_edges(
        range(3), vectors, [0, 3600, 7200], ["a", "b", "c"], [[1], [1], [1]], 3.0, [(0, 1)]
    )
    assert sorted(linked) == [(0, 1), (0, 2)]


def test_dates_in_titles_make_no_story() -> None:
    es = [
        entry("a", "stock market news for march 10 2014", 0),
        entry("b", "news in pictures 10 march 2014", 0.1),
        entry("c", "business news and markets as it happened march 10 2014", 0.2),
        *FILLER,
    ]
    assert keyed(es, storycore.group(es)) == set()
    assert storycore.words("stock market news for march 10 2014 10 things") == [
        "stock",
        "market",
        "news",
        "10",
        "things",
    ]


def test_average_link_does_not_chain() -> None:
    # a~b and b~c share different rare words; a and c share none: no chain a-b-c.
    es = [
        entry("a", "zorblax merger talks with quintel collapse", 0),
        entry("b", "zorblax quintel merger collapse hits vantor shares", 0.1),
        entry("c", "vantor shares slump as ceo resigns", 0.2),
        *FILLER,
    ]
    groups = keyed(es, storycore.group(es))
    assert frozenset("abc") not in groups
    assert frozenset("ab") in groups


def test_items_too_far_apart_are_different_stories() -> None:
    es = [
        entry("a", "zorblax recalls 40000 toasters", 0),
        entry("b", "zorblax recalls 40000 toasters", 9),
    ]
    assert storycore.group([*es, *FILLER]) == []
    near = [
        entry("a", "zorblax recalls 40000 toasters", 0),
        entry("b", "zorblax recalls 40000 toasters", 2),
    ]
    assert keyed(near + FILLER, storycore.group(near + FILLER)) == {frozenset("ab")}


def test_boilerplate_titles_never_form_stories() -> None:
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "friday"]
    es = [
        entry(f"b{i}", f"{n} things to know on {d}", i)
        for i, (n, d) in enumerate(zip([10, 5, 10, 7, 10, 10], days, strict=True))
    ]
    es += [entry(f"x{i}", "the article requested cannot be found", i) for i in range(5)]
    assert storycore.boilerplate(es) == set(range(len(es)))
    assert storycore.group(es + FILLER) == []


def test_grouping_does_not_depend_on_input_order() -> None:
    rng = random.Random(7)
    words = [f"w{i}" for i in range(60)]
    es = [
        entry(
            f"k{i:03d}", " ".join(rng.sample(words[:12] if i % 3 else words, 6)), rng.random() * 4
        )
        for i in range(90)
    ]
    first = keyed(es, storycore.group(es))
    assert first
    for _ in range(3):
        shuffled = es[:]
        rng.shuffle(shuffled)
        assert keyed(shuffled, storycore.group(shuffled)) == first


def test_related_claim_counts_only_when_the_text_backs_it() -> None:
    es = [
        entry("lens", "police department using facial recognition despite denial", 0),
        entry("nola", "police use facial recognition software despite assurances", 1),
        entry("bear", "ai offers facial recognition for grizzly bears", 0),
        *FILLER,
        # a collection about facial recognition (as the seeds are): the words are common
        *(entry(f"fr{i}", f"facial recognition news{i} item{i}", 10 + 5 * i) for i in range(20)),
    ]
    links = [(0, 1), (0, 2), (1, 2)]
    assert keyed(es, storycore.group(es, links)) == {frozenset({"lens", "nola"})}


def two_stories_a_month_apart() -> list[Entry]:
    return [
        entry("a", "quillon systems to cut 1200 jobs in ai restructuring", 0),
        entry("b", "quillon systems to lay off 1200 workers", 0.5),
        entry("p", "port ellery council approves flood barrier", 30),
        entry("q", "port ellery flood barrier approved by council", 30.2),
        *FILLER,
    ]


def test_kept_parts_are_reused_and_give_what_grouping_again_gives() -> None:
    es = two_stories_a_month_apart()
    first = storycore.group_parts(es)
    assert not any(p.reused for p in first)
    barrier = next(p for p in first for g in p.groups if {es[i].key for i in g} == set("pq"))
    kept = storycore.Kept({barrier.block: [[es[i].key for i in g] for g in barrier.groups]})
    later = [*es, entry("c", "quillon systems layoffs 1200 jobs cut", 1)]
    again = storycore.group_parts(later, kept=kept)
    reused = {
        frozenset(later[i].key for g in p.groups for i in g): p.reused for p in again if p.groups
    }
    assert reused == {frozenset("abc"): False, frozenset("pq"): True}
    assert keyed(later, storycore.stories_of(again)) == keyed(later, storycore.group(later))


def test_progress_counts_the_parts_clustered_and_not_the_kept_ones() -> None:
    es = two_stories_a_month_apart()
    told: list[tuple[int, int]] = []
    first = storycore.group_parts(es, progress=lambda done, total: told.append((done, total)))
    parts = len(first)
    assert parts >= 3
    assert told == [(k, parts) for k in range(1, parts + 1)]
    kept = storycore.Kept({p.block: [[es[i].key for i in g] for g in p.groups] for p in first})
    told.clear()
    again = storycore.group_parts(
        es, kept=kept, progress=lambda done, total: told.append((done, total))
    )
    clustered = sum(not p.reused for p in again)
    assert 0 < clustered < parts  # the blocks are kept, the boundaries clustered
    assert told == [(k, clustered) for k in range(1, clustered + 1)]


def test_stories_are_joined_across_the_boundary_of_two_blocks() -> None:
    edge = storycore.BLOCK_DAYS * 3000  # a block boundary, in days since 1970
    es = [
        Entry("a", "quillon systems to cut 1200 jobs in ai restructuring", "", (edge - 1) * DAY),
        Entry("b", "quillon systems to lay off 1200 workers", "", edge * DAY - 3600),
        Entry("c", "quillon systems layoffs 1200 jobs cut", "", edge * DAY + 3600),
        Entry("d", "quillon 1200 jobs cut confirmed", "", (edge + 1) * DAY),
        *(
            Entry(f"f{i}", f"ferry{i} schedule{i} change{i}", "", (edge + i - 15) * DAY)
            for i in range(30)
        ),
    ]
    parts = storycore.group_parts(es)
    assert [sorted(es[i].key for i in g) for p in parts for g in p.groups] == [
        ["a", "b"],
        ["c", "d"],
        ["a", "b", "c", "d"],
    ]
    assert [sorted(es[i].key for i in p.region) for p in parts if p.region] == [
        ["a", "b", "c", "d"]
    ]
    assert keyed(es, storycore.group(es)) == {frozenset("abcd")}


def _naive_average_link(
    vectors: list[dict[int, float]],
    days: list[int | None],
    edges: dict[tuple[int, int], float],
    bonus: dict[tuple[int, int], float],
    threshold: float,
) -> list[list[int]]:
    """Average-link by its definition: every pair of clusters joined by a candidate
    pair, mean over all member pairs, best mean first (ties by the clusters' first
    members), while the mean reaches ``threshold`` and its text part TEXT_FLOOR."""
    clusters = [[i] for i in range(len(vectors))]

    def pair_sim(i: int, j: int) -> tuple[float, float]:
        text = storycore.dot(vectors[i], vectors[j]) + bonus.get((min(i, j), max(i, j)), 0.0)
        return text, storycore.time_similarity(days[i], days[j])

    while True:
        best: tuple[float, int, int] | None = None
        for a, ca in enumerate(clusters):
            for b in range(a + 1, len(clusters)):
                cb = clusters[b]
                if not any((min(i, j), max(i, j)) in edges for i in ca for j in cb):
                    continue
                sims = [pair_sim(i, j) for i in ca for j in cb]
                text = sum(t for t, _ in sims) / len(sims)
                mean = sum(t + d for t, d in sims) / len(sims)
                if text < storycore.TEXT_FLOOR or mean < threshold:
                    continue
                key = (-mean, min(ca), min(cb))
                if best is None or key < (best[0], min(clusters[best[1]]), min(clusters[best[2]])):
                    best = (-mean, a, b)
        if best is None:
            return sorted(sorted(c) for c in clusters if len(c) > 1)
        _, a, b = best
        clusters[a] = clusters[a] + clusters[b]
        del clusters[b]


@pytest.mark.parametrize("seed", range(6))
def test_average_link_is_average_link_by_its_definition(seed: int) -> None:
    # Words from a small vocabulary, so that clusters grow, meet and split the heap's
    # bounds many times; days over a week, some related pairs with a bonus.
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(14)]
    es = [
        entry(f"k{i:02d}", " ".join(rng.sample(vocab, rng.randint(2, 5))), rng.random() * 6)
        for i in range(36)
    ]
    prep = storycore._Prepared(es)
    times = [e.time for e in es]
    links = [(rng.randrange(36), rng.randrange(36)) for _ in range(6)]
    edges = storycore.candidate_edges(
        range(36), prep.vectors, times, prep.keys, prep.found_by, 3.0, links
    )
    bonus = {(min(a, b), max(a, b)): 0.2 for a, b in links if (min(a, b), max(a, b)) in edges}
    got = storycore.average_link(
        [[i] for i in range(36)], prep.vectors, prep.days, edges, bonus, prep.keys, 0.5
    )
    want = _naive_average_link(prep.vectors, prep.days, edges, bonus, 0.5)
    assert sorted(got) == want
    assert any(len(c) > 2 for c in want)  # the case is not trivial


@pytest.mark.parametrize(
    ("title", "template"),
    [
        ("10 things to know on friday", "things to know on"),
        ("3rd quarter results beat forecasts", "quarter results beat forecasts"),
        ("3d printing takes off", "3d printing takes off"),
        ("may day rally in 2014", "day rally in"),
        ("the 21st century fox deal", "the century fox deal"),
        ("2014", ""),
    ],
)
def test_title_template_drops_numbers_and_date_words(title: str, template: str) -> None:
    assert storycore.template(title) == template


def test_a_boundary_reclusters_only_items_with_a_strong_pair_across() -> None:
    # Block boundaries fall every BLOCK_DAYS days from 1970-01-01.
    edge = (T0 // DAY // storycore.BLOCK_DAYS + 1) * storycore.BLOCK_DAYS
    es = [
        Entry("a", "quillon systems to cut 1200 jobs in ai restructuring", "", (edge - 1) * DAY),
        Entry("b", "quillon systems cuts 1200 jobs", "", (edge - 1) * DAY + 600),
        Entry("c", "quillon systems layoffs 1200 jobs cut", "", edge * DAY + 3600),
        # a candidate pair with "a" (cosine 0.37) two days across: too weak to join
        # stories, so d and e keep the story of their block
        Entry("d", "quillon ai restructuring plan approved by harbor board", "", (edge + 1) * DAY),
        Entry("e", "harbor board approves restructuring plan", "", (edge + 1) * DAY + 60),
        *FILLER,
    ]
    parts = storycore.group_parts(es)
    regions = [sorted(es[i].key for i in p.region) for p in parts if p.region]
    assert regions == [["a", "b", "c"]]
    assert keyed(es, storycore.group(es)) == {frozenset("abc"), frozenset("de")}


def test_processes_give_what_one_process_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(11)
    words = [f"w{i}" for i in range(40)]
    es = [entry(f"k{i:03d}", " ".join(rng.sample(words, 5)), rng.random() * 30) for i in range(300)]
    monkeypatch.setattr(storycore, "PARALLEL_MIN_ITEMS", 0)
    one = storycore.group_parts(es, jobs=1)
    told: list[tuple[int, int]] = []
    two = storycore.group_parts(es, jobs=2, progress=lambda d, t: told.append((d, t)))
    assert told == [(k, len(two)) for k in range(1, len(two) + 1)]
    assert len([p for p in one if p.region]) >= 3  # several boundaries
    assert [(p.groups, p.region) for p in two] == [(p.groups, p.region) for p in one]
    assert storycore.stories_of(one)


# --- indexes -------------------------------------------------------------------------------


def seedlike(write: Write) -> None:
    """Two articles listing other outlets' coverage (not in the folder), seed style."""
    write(
        "a.md",
        article(
            "Port Ellery council approves 40 million flood barrier",
            url="https://harborwire.com/barrier",
            published="2024-03-05T09:00:00Z",
            excerpt="The Port Ellery council approved the flood barrier after a long debate.",
            related=[
                related(
                    "Port Ellery approves flood barrier plan",
                    "https://baychronicle.com/barrier",
                    "Bay Chronicle",
                    "baychronicle.com",
                    publishedDateTime="2024-03-05T07:00:00Z",
                    excerpt="Port Ellery councillors voted for the 40 million flood barrier.",
                ),
                related(
                    "Port Ellery council approves $40 million flood barrier",
                    "https://coastaldaily.com/barrier",
                    "Coastal Daily",
                    "coastaldaily.com",
                    publishedDateTime="2024-03-05T12:00:00Z",
                ),
                related(
                    "Sea otters return to the north coast",
                    "https://naturenews.com/otters",
                    "Nature News",
                    "naturenews.com",
                    publishedDateTime="2024-03-05T10:00:00Z",
                    excerpt="Otters are back in the bay for the first time in decades.",
                ),
            ],
        ),
    )
    write(
        "b.md",
        article(
            "Quillon Systems to cut 1,200 jobs",
            url="https://metroledger.com/quillon",
            provider="Metro Ledger",
            domain="metroledger.com",
            published="2024-06-11T12:00:00Z",
            related=[
                related(
                    "Quillon to lay off 1,200 workers in AI pivot",
                    "https://lanternbiz.com/quillon",
                    "Lantern Business Review",
                    "lanternbiz.com",
                    publishedDateTime="2024-06-11T15:00:00Z",
                ),
            ],
        ),
    )
    for i, word in enumerate(["ferry", "library", "tram", "museum", "stadium", "bridge"]):
        write(
            f"f{i}.md",
            article(f"City {word} schedule changes in spring", url=f"https://x.com/{word}"),
        )


def stories_of(index: str) -> set[frozenset[str]]:
    return {frozenset(g) for g in index_stories(index_at(index).snapshot())}


def test_seed_shaped_stories_first_publisher_first_and_copies(
    write: Write, index_path: str
) -> None:
    seedlike(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    r = find_stories(index_path)
    assert [(s.size, s.outlets) for s in r.stories] == [(3, 3), (2, 2)]
    barrier = r.stories[0]
    assert [m.provider for m in barrier.members] == [
        "Bay Chronicle",
        "Harbor Wire",
        "Coastal Daily",
    ]
    assert barrier.id == barrier.members[0].id
    assert barrier.first_published == "2024-03-05T07:00:00Z"
    assert barrier.span_hours == 5.0
    coastal = barrier.members[2]
    assert coastal.copy_of == barrier.members[1].id  # the same headline, outlet prefix aside
    assert [m.copy_of for m in barrier.members[:2]] == [None, None]
    assert all("otters" not in m.title.lower() for s in r.stories for m in s.members)


def test_filters_select_stories_and_show_them_whole(write: Write, index_path: str) -> None:
    seedlike(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    r = find_stories(index_path, filters=Filters(providers=("coastal daily",)))
    assert [s.size for s in r.stories] == [3]
    assert find_stories(index_path, "quillon").stories[0].members[1].provider == (
        "Lantern Business Review"
    )
    assert find_stories(index_path, "otters").stories == []
    assert [s.size for s in find_stories(index_path, min_outlets=3).stories] == [3]
    assert [s.size for s in find_stories(index_path, min_size=3).stories] == [3]
    limited = find_stories(index_path, limit=1)
    assert (len(limited.stories), limited.total) == (1, 2)


def test_story_of_an_item(write: Write, index_path: str) -> None:
    seedlike(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    first = find_stories(index_path).stories[0]
    assert story_of(index_path, first.members[2].id) == first
    snap = index_at(index_path).snapshot()
    lone = next(
        item
        for item in (snap.item(row) for row in snap.live())
        if item.title == "Sea otters return to the north coast"
    )
    assert story_of(index_path, lone.id) is None


def _kept_generation(data: Path) -> object:
    """The generation whose stories the index's grouping file keeps (opened as the
    command opens it: a write cut short is rolled back first)."""
    file = storyfile.StateFile.open(str(data / storyfile.NAME), writable=True)
    try:
        return file.meta().get("generation")
    finally:
        file.close()


_KILLED_WHILE_WRITING = """
import os, signal, sys
from searchidx import stories
write = stories.Grouped.write
def killed(self, file, generation):
    write(self, file, generation)  # every row written, not committed
    os.kill(os.getpid(), signal.SIGKILL)
stories.Grouped.write = killed
from searchidx.cli import cli
cli(["--index", sys.argv[1], "stories"])
"""


def test_a_grouping_killed_while_writing_leaves_the_file_as_it_was(
    write: Write, index_path: str
) -> None:
    seedlike(write)
    corpus = str(Path(index_path).parent / "corpus")
    update_index(index_path, [corpus], jobs=1)
    before = stories_of(index_path)
    data = next(p for p in Path(index_path).iterdir() if p.name.startswith("data-"))
    write("g.md", article("Zorblax recalls toasters", url="https://x.com/zorblax"))
    update_index(index_path, [corpus], jobs=1)
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_WHILE_WRITING, index_path],
        capture_output=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL
    assert _kept_generation(data) == 1
    assert stories_of(index_path) == before
    assert _kept_generation(data) == 2


def test_two_commands_at_once_group_once_and_agree(write: Write, index_path: str) -> None:
    seedlike(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    command = [sys.executable, "-m", "searchidx", "--index", index_path, "stories", "-f", "json"]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
        for _ in range(2)
    ]
    outputs = [p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert [err for _, err in outputs] == [b"", b""]
    assert outputs[0][0] == outputs[1][0]
    shown = json.loads(outputs[0][0])["stories"]
    assert [len(s["members"]) for s in shown] == [3, 2]
    data = next(p for p in Path(index_path).iterdir() if p.name.startswith("data-"))
    assert _kept_generation(data) == 1


def test_grouping_is_kept_per_generation(write: Write, index_path: str) -> None:
    seedlike(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    data = next(p for p in Path(index_path).iterdir() if p.name.startswith("data-"))
    # what earlier versions kept, in files of their own: not read, and removed
    (data / "stories-1.json").write_text('{"version": 12, "stories": []}', "utf-8")
    (data / "story-state-1.bin").write_bytes(b"\x00 an older state")
    before = stories_of(index_path)
    assert sorted(p.name for p in data.glob("stor*")) == [storyfile.NAME]
    assert _kept_generation(data) == 1
    assert stories_of(index_path) == before
    write("g.md", article("Zorblax recalls toasters", url="https://x.com/zorblax"))
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    assert stories_of(index_path) == before
    assert _kept_generation(data) == 2


def test_grouping_tells_how_far_it_is_to_whoever_asks(write: Write, index_path: str) -> None:
    seedlike(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    told: list[tuple[int, int, str]] = []
    token = progress.grouping.set(lambda done, total, what: told.append((done, total, what)))
    try:
        stories_of(index_path)
        items = index_at(index_path).snapshot().rows()
        steps = [t for t in told if t[2] == "steps done"]
        assert told[:2] == [(0, items, "items read"), (items, items, "items read")]
        assert steps and told[2:] == steps
        assert steps == [(k, len(steps), "steps done") for k in range(1, len(steps) + 1)]
        told.clear()
        stories_of(index_path)  # this generation's stories are kept: nothing to do
        assert told == []
    finally:
        progress.grouping.reset(token)
    stories_of(index_path)  # nobody listens


def _third_quillon(write: Write) -> None:
    """A third outlet's item of the Quillon story (June), in a file of its own."""
    write(
        "n.md",
        article(
            "Quillon Systems confirms 1,200 job cuts",
            url="https://n.com/quillon",
            provider="Outlet N",
            domain="n.com",
            published="2024-06-11T18:00:00Z",
        ),
    )


def test_read_only_index_is_grouped_in_memory(write: Write, index_path: str) -> None:
    """An index folder the command may not write to: the stories are grouped in memory,
    quietly. Root writes to read-only folders, so as root the command runs without the
    capabilities that override file permissions (util-linux ``setpriv``), as in
    test_bad_input."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a folder read-only")
        caps = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]
    seedlike(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    data = next(p for p in Path(index_path).iterdir() if p.name.startswith("data-"))
    data.chmod(0o555)
    command = [sys.executable, "-m", "searchidx", "--index", index_path, "stories", "-f", "json"]
    try:
        proc = subprocess.run(
            [*prefix, *command],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        assert not (data / storyfile.NAME).exists()
    finally:
        data.chmod(0o755)
    assert (proc.returncode, proc.stderr) == (0, "")
    shown = [[m["id"] for m in s["members"]] for s in json.loads(proc.stdout)["stories"]]
    assert [len(members) for members in shown] == [3, 2]
    # The same stories as grouped once the folder is writable, which keeps them.
    assert shown == [[m.id for m in s.members] for s in find_stories(index_path).stories]
    assert _kept_generation(data) == 1
    # A file kept of an earlier generation is read, not written, in a read-only folder.
    _third_quillon(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    data.chmod(0o555)
    try:
        proc = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, cwd=ROOT, check=False
        )
    finally:
        data.chmod(0o755)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert _kept_generation(data) == 1
    shown = [[m["id"] for m in s["members"]] for s in json.loads(proc.stdout)["stories"]]
    assert [len(members) for members in shown] == [3, 3]
    assert shown == [[m.id for m in s.members] for s in find_stories(index_path).stories]
    assert _kept_generation(data) == 2


def test_updates_leave_stories_as_a_rebuild_would(
    write: Write, tmp_path: Path, index_path: str
) -> None:
    seedlike(write)
    corpus = tmp_path / "corpus"
    rng = random.Random(3)
    update_index(index_path, [str(corpus)], jobs=1)
    for step in range(4):
        # add a rewording of the barrier story, change one filler file, remove another
        write(
            f"n{step}.md",
            article(
                f"Port Ellery flood barrier approved, {['first', 'quick', 'late', 'brief'][step]} look",
                url=f"https://n{step}.com/barrier",
                provider=f"Outlet {step}",
                domain=f"n{step}.com",
                published=f"2024-03-0{5 + step % 2}T1{step}:00:00Z",
            ),
        )
        victim = rng.choice(sorted(corpus.glob("f*.md")))
        victim.unlink()
        update_index(index_path, [str(corpus)], jobs=1)
        fresh = str(tmp_path / f"fresh{step}")
        update_index(fresh, [str(corpus)], jobs=1)
        assert stories_of(index_path) == stories_of(fresh)
    assert [s.size for s in find_stories(index_path).stories] == [4, 3, 2]


def test_an_update_regroups_only_the_parts_it_touches(write: Write, index_path: str) -> None:
    seedlike(write)
    corpus = str(Path(index_path).parent / "corpus")
    update_index(index_path, [corpus], jobs=1)
    data = next(p for p in Path(index_path).iterdir() if p.name.startswith("data-"))
    stories_of(index_path)
    before = kept_state(str(data))
    assert before is not None
    _third_quillon(write)
    update_index(index_path, [corpus], jobs=1)
    snap = index_at(index_path).snapshot()
    file = storyfile.StateFile.open(str(data / storyfile.NAME), writable=False)
    grouped = group_index(snap, file)
    after = grouped.state
    assert after.changes is not None
    assert (after.changes.added, after.changes.removed, after.changes.changed) == (1, 0, 0)
    june = (T_JUNE // DAY) // storycore.BLOCK_DAYS
    march = (T_MARCH // DAY) // storycore.BLOCK_DAYS
    # June's block is grouped again (the Quillon story has a third item); March's (the
    # barrier story, the filler's one-outlet cluster) is taken as it was, its items not
    # read (its counts are: June's view takes in every item of so small an index)
    assert after.changes.dirty == {june}
    assert [len(g) for g in after.parts.blocks[june]] == [3]
    assert march not in after.members
    # the June story is made again (its rows are read from the index), no other
    assert [len(g) for g in grouped.made[0][1:3]] == [3, 3]
    assert (len(grouped.made), grouped.unmade) == (1, {grouped.made[0][0]})
    after.stories()  # every part, read now
    before.stories()
    assert after.parts.blocks[march] == before.parts.blocks[march]
    assert sorted(len(g) for g in after.parts.blocks[march]) == [3, 6]
    assert {frozenset(g) for g in grouped.stories.ids} == stories_of(index_path)
    assert _kept_generation(data) == 2


@pytest.mark.parametrize(
    ("df", "n", "weighed"),
    [
        (1, 8, 1.0),  # a small collection weighs by counts as they are
        (3, 8, storycore.coarse(3)),
        (3, 4096, 4.0),  # at least one in 1,024 items ...
        (1, 100_000, 32.0),  # ... up to 32
        (1000, 100_000, storycore.coarse(1000)),
    ],
)
def test_rare_words_weigh_as_words_of_a_few_items(df: int, n: int, weighed: float) -> None:
    assert storycore.weighed_count(df, n) == weighed


def test_seeds_show_the_two_stories(seeds: Path, tmp_path: Path) -> None:
    index = str(tmp_path / "ix")
    runner = CliRunner()
    assert runner.invoke(cli, ["--index", index, "index", str(seeds)]).exit_code == 0
    res = runner.invoke(cli, ["--index", index, "stories", "--format", "json"])
    assert res.exit_code == 0
    out = json.loads(res.output)
    assert list(out) == ["stories", "total_stories", "items"]
    assert (out["total_stories"], out["items"]) == (2, 8)
    got = [[m["provider"] for m in s["members"]] for s in out["stories"]]
    assert got == [
        ["The Lens", "Aclu.org", "NOLA.com", "Governing", "Government Technology"],
        ["The Lens", "NOLA.com"],
    ]
    titles = [m["title"] for s in out["stories"] for m in s["members"]]
    assert not any("grizzly" in t.lower() for t in titles)
    text = runner.invoke(cli, ["--index", index, "stories"]).output
    assert text.splitlines()[0].startswith(
        "[1] City releases dozens of pages of emails on police use of facial recognition"
    )
    assert "(5 outlets, 5 items, over 2.2 days)" in text.splitlines()[0]
    assert text.rstrip().endswith("2 stories among 8 items")


# --- the command ---------------------------------------------------------------------------


def test_cli_formats(write: Write, index_path: str) -> None:
    seedlike(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    runner = CliRunner()
    base = ["--index", index_path, "stories"]
    js = json.loads(runner.invoke(cli, [*base, "--format", "json"]).output)
    story = js["stories"][0]
    assert list(story) == ["id", "size", "outlets", "first_published", "span_hours", "members"]
    assert list(story["members"][0]) == [
        "id",
        "kind",
        "title",
        "provider",
        "published",
        "url",
        "path",
        "line",
        "copy_of",
    ]
    assert story["members"][1]["url"] == "https://harborwire.com/barrier"
    assert story["members"][1]["path"].endswith("a.md")
    csv = runner.invoke(cli, [*base, "--format", "csv"]).output.splitlines()
    assert csv[0] == "story,story_id,id,kind,title,provider,published,url,path,line,copy_of"
    assert len(csv) == 1 + 5
    lines = runner.invoke(cli, [*base, "--format", "jsonl"]).output.splitlines()
    assert [json.loads(x)["story"] for x in lines] == [1, 1, 1, 2, 2]
    text = runner.invoke(cli, [*base, "--limit", "1"]).output
    assert (
        text.rstrip().splitlines()[-1] == "2 stories among 12 items; showing 1, --limit 0 for all"
    )
    assert "      = +5h00m" in text  # the copy, folded under the item it copies


def test_json_gives_the_number_of_stories_and_of_items_as_text_does(
    write: Write, index_path: str
) -> None:
    seedlike(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    runner = CliRunner()
    base = ["--index", index_path, "stories", "--limit", "1"]
    js = json.loads(runner.invoke(cli, [*base, "--format", "json"]).output)
    assert list(js) == ["stories", "total_stories", "items"]
    assert (len(js["stories"]), js["total_stories"], js["items"]) == (1, 2, 12)
    text = runner.invoke(cli, base).output
    assert (
        text.rstrip().splitlines()[-1] == "2 stories among 12 items; showing 1, --limit 0 for all"
    )
    # Nothing matching: no story, and the items that matched (none).
    none = runner.invoke(cli, [*base, "zeppelin", "--format", "json"])
    assert (none.exit_code, json.loads(none.output)) == (
        0,
        {"stories": [], "total_stories": 0, "items": 0},
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--min-outlets", "0"], 2, "Invalid value for '--min-outlets'"),
        (["--min-size", "1"], 2, "Invalid value for '--min-size'"),
        (["--limit", "-1"], 2, "Invalid value for '-n' / '--limit'"),
        (["--format", "xml"], 2, "Invalid value for '-f' / '--format'"),
    ],
)
def test_cli_bad_options(
    write: Write, index_path: str, args: list[str], code: int, message: str
) -> None:
    seedlike(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    res = CliRunner().invoke(cli, ["--index", index_path, "stories", *args])
    assert res.exit_code == code
    assert message in res.output


def test_cli_without_an_index(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["--index", str(tmp_path / "none"), "stories"])
    assert res.exit_code == 1
    assert "Error:" in res.output


def test_empty_index_has_no_stories(corpus: Path, index_path: str) -> None:
    update_index(index_path, [str(corpus)], jobs=1)
    res = CliRunner().invoke(cli, ["--index", index_path, "stories"])
    assert (res.exit_code, res.output) == (0, "0 stories among 0 items\n")


# --- stories elsewhere ---------------------------------------------------------------------


def test_search_collapse_folds_hits_by_story(write: Write, index_path: str) -> None:
    seedlike(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    out = (
        CliRunner()
        .invoke(cli, ["--index", index_path, "search", "--collapse", "Ellery OR Quillon"])
        .output
    )
    assert out.splitlines()[0].startswith("5 results for 'Ellery OR Quillon' in 2 stories")
    assert "also: Harbor Wire, Coastal Daily" in out  # under Bay Chronicle, first to publish
    assert "also: Lantern Business Review" in out


def test_search_collapse_counts_every_story_on_every_page(write: Write, index_path: str) -> None:
    # 300 stories of 3 items, more hits than a page's neighbours would cover.
    rng = random.Random(7)
    for n in range(300):
        a, b, c = ("".join(rng.choice("bcdfghklmnprstvz") for _ in range(7)) for _ in range(3))
        day = f"2024-03-{1 + n % 28:02d}T09:00:00Z"
        fields = article(
            f"Harbor {a} {b} {c} plan approved",
            f"https://harborwire.com/{n}",
            published=day,
            related=[
                related(
                    f"{a} {b} {c} plan approved for harbor",
                    f"https://bay.com/{n}",
                    "Bay Chronicle",
                    "bay.com",
                    publishedDateTime=day,
                ),
                related(
                    f"Harbor approves {a} {b} {c} plan",
                    f"https://coast.com/{n}",
                    "Coastal Daily",
                    "coast.com",
                    publishedDateTime=day,
                ),
            ],
        )
        write(f"{n:03d}.md", fields)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    every = search(index_path, "harbor", collapse=True, limit=0)
    assert (every.total, every.stories, len(every.hits)) == (900, 300, 300)
    for page in (1, 2, 15, 30):
        found = search(index_path, "harbor", collapse=True, page=page)
        assert (found.total, found.stories) == (900, 300)
        assert [h.id for h in found.hits] == [h.id for h in every.hits][(page - 1) * 10 : page * 10]


def test_show_gives_the_story_timeline(write: Write, index_path: str) -> None:
    seedlike(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    story = find_stories(index_path).stories[0]
    runner = CliRunner()
    text = runner.invoke(cli, ["--index", index_path, "show", story.members[1].id]).output
    timeline = text[text.index("Story: ") :].splitlines()
    assert (
        timeline[0]
        == "Story: Port Ellery approves flood barrier plan  (3 outlets, 3 items, over 5 h)"
    )
    assert timeline[1].startswith("    2024-03-05 07:00  Bay Chronicle")
    assert timeline[2].startswith("  * +2h00m            Harbor Wire")
    js = json.loads(
        runner.invoke(
            cli, ["--index", index_path, "show", story.members[1].id, "--format", "json"]
        ).output
    )
    assert [m["provider"] for m in js["story"]["members"]] == [
        "Bay Chronicle",
        "Harbor Wire",
        "Coastal Daily",
    ]
    otters = find_stories(index_path, "otters")
    assert (otters.items, otters.total) == (1, 0)
    lone = runner.invoke(
        cli, ["--index", index_path, "search", "otters", "--kind", "related", "--format", "json"]
    )
    lone_id = json.loads(lone.output)["hits"][0]["id"]
    js = json.loads(
        runner.invoke(cli, ["--index", index_path, "show", lone_id, "--format", "json"]).output
    )
    assert js["story"] is None


def test_facets_provider_first(write: Write, index_path: str) -> None:
    seedlike(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    runner = CliRunner()
    res = runner.invoke(
        cli, ["--index", index_path, "facets", "provider", "--first", "--format", "csv"]
    )
    assert res.output.splitlines() == [
        "value,first,stories",
        "Bay Chronicle,1,1",
        "Metro Ledger,1,1",
        "Coastal Daily,0,1",
        "Harbor Wire,0,1",
        "Lantern Business Review,0,1",
    ]
    res = runner.invoke(cli, ["--index", index_path, "facets", "topic", "--first"])
    assert res.exit_code == 2
    assert "--first counts providers" in res.output


def test_items_without_a_provider_are_their_site_s(write: Write, index_path: str) -> None:
    # A dataset that names no provider (HuffPost's): its stories had 0 outlets, and
    # --min-outlets 1 showed none of them.
    for n, title in enumerate(
        [
            "Hostage standoff ends at Yountville veterans home",
            "Yountville veterans home hostage standoff: 4 dead",
        ]
    ):
        write(f"h{n}.md", article(title, f"https://huffpost.com/{n}", "", "huffpost.com"))
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    assert find_stories(index_path).total == 0  # one outlet
    (story,) = find_stories(index_path, min_outlets=1).stories
    assert (story.outlets, story.size) == (1, 2)
    assert story_of(index_path, story.members[0].id).outlets == 1


def test_date_clauses_select_as_since_and_until_do(write: Write, index_path: str) -> None:
    seedlike(write)
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    march = Filters(
        since=parse_date_option("2024-03-05"), until=parse_date_option("2024-03-05", True)
    )
    by_options = find_stories(index_path, "flood", march)
    assert by_options.total == 1
    for query in ("flood published:2024-03-05", "flood date:[2024-03-05 to 2024-03-05]"):
        in_query = find_stories(index_path, query)
        assert (in_query.total, in_query.items, in_query.filters) == (
            by_options.total,
            by_options.items,
            by_options.filters,
        )
        assert [m.id for m in in_query.stories[0].members] == [
            m.id for m in by_options.stories[0].members
        ]
        firsts = provider_firsts(index_path, query)
        assert firsts.buckets == provider_firsts(index_path, "flood", march).buckets
        assert (firsts.total, firsts.filters) == (1, by_options.filters)
    assert find_stories(index_path, "flood published:2023").total == 0


def test_facets_provider_first_names_providers_as_facets_does(
    write: Write, index_path: str
) -> None:
    # The story's item spells its provider as one file of three does.
    write(
        "a.md",
        article(
            "Port Ellery council approves 40 million flood barrier",
            url="https://coastaldaily.com/barrier",
            provider="coastal daily",
            domain="coastaldaily.com",
            related=[
                related(
                    "Port Ellery council approves $40 million flood barrier",
                    "https://baychronicle.com/barrier",
                    "Bay Chronicle",
                    "baychronicle.com",
                    publishedDateTime="2024-03-05T12:00:00Z",
                )
            ],
        ),
    )
    for n, title in enumerate(["Sea otters return to the bay", "Harbor ferry fares rise"]):
        write(f"c{n}.md", article(title, f"https://coastaldaily.com/{n}", "Coastal Daily"))
    update_index(index_path, [str(Path(index_path).parent / "corpus")], jobs=1)
    runner = CliRunner()
    first = runner.invoke(
        cli, ["--index", index_path, "facets", "provider", "--first", "-f", "csv"]
    )
    assert first.output.splitlines() == [
        "value,first,stories",
        "Coastal Daily,1,1",
        "Bay Chronicle,0,1",
    ]
    plain = runner.invoke(cli, ["--index", index_path, "facets", "provider", "-f", "csv"])
    assert plain.output.splitlines()[1].startswith("Coastal Daily,3,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["topic", "--first"], "--first counts providers: use it with 'facets provider'"),
        (["topic", "--by-domain"], "--by-domain groups providers: use it with 'facets provider'"),
        (["month", "--by-domain"], "--by-domain groups providers: use it with 'facets provider'"),
        (
            ["provider", "--first", "--by-domain"],
            "--first counts stories by provider name: --by-domain does not apply",
        ),
        (
            ["provider", "--first", "--min-count", "2"],
            "--first counts stories by provider name: --min-count does not apply",
        ),
        (
            ["provider", "--first", "--literal"],
            "--first counts stories by provider name: --literal does not apply",
        ),
    ],
)
def test_facets_options_that_do_not_apply(sample_index: str, args: list[str], message: str) -> None:
    res = CliRunner().invoke(cli, ["--index", sample_index, "facets", *args])
    assert res.exit_code == 2
    assert res.output.splitlines()[-1] == f"Error: {message}"


def _damage(path: Path, how: str) -> None:
    if how == "garbage":
        path.write_bytes(b"\x00 not a database" * 300)
    elif how == "cut":  # a copy cut short
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:  # a value of one table that cannot be read back
        conn = sqlite3.connect(path)
        with conn:
            conn.execute(f"UPDATE {how} SET {'df' if how == 'blocks' else 'rows'} = x'00ff'")
        conn.close()


@pytest.mark.parametrize("damaged", ["garbage", "cut", "blocks", "stories"])
def test_a_damaged_grouping_file_is_grouped_again(
    write: Write, index_path: str, damaged: str
) -> None:
    seedlike(write)
    corpus = str(Path(index_path).parent / "corpus")
    update_index(index_path, [corpus], jobs=1)
    before = stories_of(index_path)
    data = next(p for p in Path(index_path).iterdir() if p.name.startswith("data-"))
    _damage(data / storyfile.NAME, damaged)
    # the same generation, and the next one
    assert stories_of(index_path) == before
    assert _kept_generation(data) == 1
    _damage(data / storyfile.NAME, damaged)
    write("g.md", article("Zorblax recalls toasters", url="https://x.com/zorblax"))
    update_index(index_path, [corpus], jobs=1)
    assert stories_of(index_path) == before
    assert _kept_generation(data) == 2
