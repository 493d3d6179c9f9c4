"""Bad input, case by case, through real index runs.

For every case: the run finishes; the message says ``path[:line]: reason``; the good
file written beside the bad one is indexed; the exit status is 1; and what the index
held before is still there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchidx.cli import cli
from searchidx.documents import NUMBER_REASON, parse_file
from searchidx.errors import ParseError
from searchidx.searching import search
from tests.conftest import ROOT, article, front_matter

GOOD = front_matter(article("Earlier story stays", "https://harborwire.com/earlier"))
NEW = front_matter(article("Fresh story arrives", "https://harborwire.com/fresh"))


TOO_DEEP = "invalid YAML: nested deeper than 100 levels"


def deep(n: int) -> str:
    return "[" * n + "]" * n


def bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "---\ntitle: boom\n" + "\n".join(lines) + "\n---\n"


LIBYAML_ESCAPE = "found invalid Unicode character escape code"


def fm(body: str) -> str:
    return f"---\n{body}\n---\n"


# (file name, content, expected reason with the line as ":N" prefix when there is one)
CASES: list[tuple[str, str | bytes, str]] = [
    ("yaml.md", fm("title: [broken"), ":2: invalid YAML: did not find expected ',' or ']'"),
    (
        "tabs.md",
        fm("title: x\n\tquality: 3"),
        ":3: invalid YAML: found a tab character that violates indentation",
    ),
    (
        "quotes.md",
        fm('title: "unclosed\nexcerpt: x'),
        ":3: invalid YAML: found unexpected end of stream",
    ),
    ("noclose.md", "---\ntitle: x\n", ": front matter has no closing '---' line"),
    ("empty.md", "", ": empty file"),
    ("dashes.md", "---\n", ": front matter has no closing '---' line"),
    ("nofm.md", "Just a note\n", ":1: no front matter: the file must start with a '---' line"),
    ("emptyfm.md", "---\n---\n", ":1: front matter is empty"),
    ("latin1.md", b"---\ntitle: caf\xe9\n---\n", ":2: not UTF-8: byte 0xe9 at offset 14"),
    ("junk.md", b"\x89PNG\r\n\x1a\n\xff\xd8\xff", ":1: not UTF-8: byte 0x89 at offset 0"),
    ("nul.md", b"---\ntitle: a\x00b\n---\n", ": binary file: contains NUL bytes"),
    ("bomb.md", bomb(), ": YAML aliases expand to more than 100,000 values"),
    ("self.md", fm("title: x\nextra: &a [*a]"), ": YAML alias refers to itself"),
    ("deep.md", fm("title: " + deep(10_000)), ":2: invalid YAML: nested deeper than 100 levels"),
    ("deep101.md", fm("title: " + deep(101)), ":2: invalid YAML: nested deeper than 100 levels"),
    ("deep100.md", fm("title: " + deep(100)), ": title must be text, not a list"),
    # Under a mapping PyYAML builds itself (a key that is no text; a merge key).
    ("deepkey.md", fm("title: x\nextra: {1: " + deep(100) + "}"), ":3: " + TOO_DEEP),
    ("deepmerge.md", fm("title: x\nextra: {<<: {a: " + deep(99) + "}}"), ":3: " + TOO_DEEP),
    (
        "deepblock.md",
        fm("title: x\nextra:\n" + "".join("  " * i + "- \n" for i in range(102))),
        ":104: invalid YAML: nested deeper than 100 levels",
    ),
    ("deep.json", '{"title": ' + deep(101) + "}", ": invalid JSON: nested deeper than 100 levels"),
    (
        "deep10k.json",
        '{"title": ' + deep(10_000) + "}",
        ": invalid JSON: nested deeper than 100 levels",
    ),
    ("dupkey.md", fm("title: a\ntitle: b"), ":3: invalid YAML: duplicate key 'title'"),
    ("hexnone.md", fm("title: a\nquality: 0x_"), ": invalid YAML: " + NUMBER_REASON),
    ("bigint.md", fm("title: a\nquality: " + "1" * 5000), ": invalid YAML: " + NUMBER_REASON),
    (
        "bigfloat.md",
        fm("title: a\nheat: 0" + ":0" * 200 + ".5"),
        ": invalid YAML: " + NUMBER_REASON,
    ),
    ("titlelist.md", fm("title: [a, b]"), ": title must be text, not a list"),
    ("titlenum.md", fm("title: 2024"), ": title must be text, not a number"),
    ("titlenull.md", fm("title: null"), ": title is empty"),
    ("titleempty.md", fm("title: ''"), ": title is empty"),
    ("notitle.md", fm("excerpt: no title here"), ": missing title"),
    (
        "date.md",
        fm("title: x\npublishedDateTime: last Tuesday"),
        ": publishedDateTime is not an ISO 8601 date-time: 'last Tuesday'",
    ),
    (
        "naive.md",
        fm("title: x\npublishedDateTime: '2024-03-05T09:00:00'"),
        ": publishedDateTime has no timezone: '2024-03-05T09:00:00'",
    ),
    (
        "year0.md",
        fm("title: x\npublishedDateTime: 0000-06-01T00:00:00Z"),
        ": publishedDateTime year is out of range (1 to 9999): '0000-06-01T00:00:00Z'",
    ),
    (
        "year99999.md",
        fm("title: x\npublishedDateTime: 99999-06-01T00:00:00Z"),
        ": publishedDateTime year is out of range (1 to 9999): '99999-06-01T00:00:00Z'",
    ),
    (
        "datenum.md",
        fm("title: x\npublishedDateTime: 1700000000"),
        ": publishedDateTime must be an ISO 8601 date-time, not a number",
    ),
    (
        "provider.md",
        fm("title: x\nprovider: Reuters"),
        ": provider must be a mapping with name and domain, not text",
    ),
    (
        "providername.md",
        fm("title: x\nprovider: {name: [a]}"),
        ": provider.name must be text, not a list",
    ),
    ("topics.md", fm("title: x\ntopics: AI"), ": topics must be a list, not text"),
    ("topicitem.md", fm("title: x\ntopics: [{a: 1}]"), ": topics[0] must be text, not a mapping"),
    ("images.md", fm("title: x\nimages: none"), ": images must be a list, not text"),
    ("quality.md", fm("title: x\nquality: high"), ": quality must be a number, not 'high'"),
    ("flag.md", fm("title: x\npublished: 1"), ": published must be true or false, not a number"),
    (
        "weburl.md",
        fm("title: x\nwebUrl: www.example.com/a"),
        ": webUrl is not a URL: 'www.example.com/a'",
    ),
    ("related.md", fm("title: x\nrelated: {title: y}"), ": related must be a list, not a mapping"),
    (
        "relitem.md",
        fm("title: x\nrelated: [just text]"),
        ": related[0] must be a mapping, not text",
    ),
    (
        "reltitle.md",
        fm("title: x\nrelated:\n  - webUrl: https://a.com/b"),
        ": related[0]: missing title",
    ),
    (
        "relurl.md",
        fm("title: x\nrelated:\n  - title: y\n    webUrl: not a url"),
        ": related[0]: webUrl is not a URL: 'not a url'",
    ),
    (
        "reldate.md",
        fm("title: x\nrelated:\n  - title: y\n    publishedDateTime: soon"),
        ": related[0]: publishedDateTime is not an ISO 8601 date-time: 'soon'",
    ),
    (
        "python.md",
        fm("title: !!python/object/apply:os.system ['true']"),
        ":2: invalid YAML: could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
    ),
    ("mapping.md", fm("- a\n- b"), ": expected an article mapping, found a list"),
    (
        "bad.json",
        '{"title": "x",',
        ":1: invalid JSON: Expecting property name enclosed in double quotes (column 15)",
    ),
    ("list.json", '[{"title": 3}]', ":1: title must be text, not a number"),
    ("dupkey.json", '{"title": "a", "title": "b"}', ": duplicate key 'title'"),
    ("latin1.json", b'{"title": "caf\xe9"}', ":1: not UTF-8: byte 0xe9 at offset 14"),
    ("file with spaces.md", fm("title: [x"), ":2: invalid YAML: did not find expected ',' or ']'"),
    ("new\nline.md", fm("title: [x"), ":2: invalid YAML: did not find expected ',' or ']'"),
    (
        "lone.md",
        fm('title: x\nexcerpt: "half \\ud83d a smile"'),
        ":3: \\ud83d is half of a surrogate pair, not a character",
    ),
    (
        "lone.json",
        '{"title": "x", "excerpt": "half \\ude00"}',
        ":1: \\ude00 is half of a surrogate pair, not a character",
    ),
    ("escape.md", fm('title: "\\U00110000"'), ":2: invalid YAML: " + LIBYAML_ESCAPE),
]


def shown(path: Path) -> str:
    from searchidx.errors import printable

    return printable(str(path))


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Path, str]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "earlier.md").write_text(GOOD, encoding="utf-8")
    index = str(tmp_path / "index")
    assert CliRunner().invoke(cli, ["--index", index, "index", str(corpus)]).exit_code == 0
    return corpus, index


def run_index(index: str, *paths: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["--index", index, "index", *map(str, paths)])
    return result.exit_code, result.stderr.splitlines()


def titles(index: str) -> list[str]:
    return sorted(h.title for h in search(index, "*", limit=100).hits)


def assert_survived(index: str) -> None:
    assert titles(index) == ["Earlier story stays", "Fresh story arrives"]
    check = CliRunner().invoke(cli, ["--index", index, "check"])
    assert check.exit_code == 0, check.output


@pytest.mark.parametrize(("name", "content", "reason"), CASES, ids=[c[0] for c in CASES])
def test_bad_file(indexed: tuple[Path, str], name: str, content: str | bytes, reason: str) -> None:
    corpus, index = indexed
    bad = corpus / name
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, encoding="utf-8")
    (corpus / "fresh.md").write_text(NEW, encoding="utf-8")
    status, errors = run_index(index, corpus)
    assert status == 1
    assert errors == [shown(bad) + reason]
    assert_survived(index)


#: Cases also run through the parallel path: syntax, encoding, limits, validation, links.
PARALLEL = ["yaml.md", "latin1.md", "nul.md", "bomb.md", "deep.md", "lone.md", "notitle.md"]


def many_new_files(corpus: Path, n: int = 60) -> list[str]:
    """Enough new files for an update to read them in worker processes; their titles."""
    made = []
    for i in range(n):
        title = f"Fresh story {i:02}"
        (corpus / f"fresh{i:02}.md").write_text(
            front_matter(article(title, f"https://harborwire.com/fresh/{i}")), encoding="utf-8"
        )
        made.append(title)
    return made


@pytest.mark.parametrize("name", PARALLEL)
def test_bad_file_in_parallel(indexed: tuple[Path, str], name: str) -> None:
    corpus, index = indexed
    content, reason = next((c, r) for n, c, r in CASES if n == name)
    bad = corpus / name
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, encoding="utf-8")
    fresh = many_new_files(corpus)
    result = CliRunner().invoke(cli, ["--index", index, "index", "--jobs", "2", str(corpus)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [shown(bad) + reason]
    assert result.stdout.startswith(
        "added 60, updated 0, removed 0, unchanged 1, failed 1, skipped 0 records in "
    )
    assert titles(index) == sorted(["Earlier story stays", *fresh])
    check = CliRunner().invoke(cli, ["--index", index, "check"])
    assert check.exit_code == 0, check.output


def test_every_bad_file_at_once_in_parallel(tmp_path: Path) -> None:
    """All the cases in one folder, read by two processes in a first build, then again
    in an update after each file has changed."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    fresh = many_new_files(corpus, 10)
    expected = []
    for name, content, reason in CASES:
        bad = corpus / name
        if isinstance(content, bytes):
            bad.write_bytes(content)
        else:
            bad.write_text(content, encoding="utf-8")
        expected.append(shown(bad) + reason)
    index = str(tmp_path / "index")
    for run in range(2):
        result = CliRunner().invoke(cli, ["--index", index, "index", "--jobs", "2", str(corpus)])
        assert result.exit_code == 1
        created = [f"created index at {index}"] if run == 0 else []
        assert sorted(result.stderr.splitlines()) == sorted(expected + created)
        assert titles(index) == fresh
        for path in corpus.iterdir():
            os.utime(path, ns=(1, 1))  # changed by mtime: all read again


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("smile.md", fm('title: "Smile \\ud83d\\ude00 story"')),
        ("smile-lower.md", fm('title: "Smile \\uD83D\\uDE00 story"')),
        ("smile.json", '{"title": "Smile \\ud83d\\ude00 story"}'),
        ("smile.jsonl", '{"title": "Other"}\n{"title": "Smile \\ud83d\\ude00 story"}\n'),
        ("smile.yaml", 'title: "Smile \\ud83d\\ude00 story"\nexcerpt: "\\ud83d\\ude00"\n'),
    ],
)
def test_surrogate_pair_escapes_are_the_characters_they_encode(
    tmp_path: Path, name: str, content: str
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / name).write_text(content, encoding="utf-8")
    articles, errors = parse_file(str(corpus / name), content.encode("utf-8"))
    assert errors == []
    assert articles[-1].title == "Smile \U0001f600 story"
    index = str(tmp_path / "index")
    result = CliRunner().invoke(cli, ["--index", index, "index", str(corpus)])
    assert result.exit_code == 0, result.output
    assert [h.title for h in search(index, "smile", limit=10).hits] == ["Smile \U0001f600 story"]


def test_a_literal_backslash_u_outside_double_quotes_stays_text() -> None:
    articles, errors = parse_file("plain.md", fm("title: C:\\ud83d\\ude00 x").encode())
    assert errors == []
    assert articles[0].title == "C:\\ud83d\\ude00 x"


def test_jsonl_with_bad_lines_keeps_the_good_ones(indexed: tuple[Path, str]) -> None:
    corpus, index = indexed
    feed = corpus / "feed.jsonl"
    good = json.dumps({"title": "Fresh story arrives", "webUrl": "https://harborwire.com/fresh"})
    feed.write_text(f'{{"title": 5}}\n{good}\nnot json\n', encoding="utf-8")
    status, errors = run_index(index, corpus)
    assert status == 1
    assert errors == [
        f"{feed}:1: title must be text, not a number",
        f"{feed}:3: invalid JSON: Expecting value (column 1)",
    ]
    assert_survived(index)


def test_oversized_file(indexed: tuple[Path, str]) -> None:
    corpus, index = indexed
    big = corpus / "big.md"
    with open(big, "wb") as fh:
        fh.write(b"---\ntitle: big\n---\n")
        fh.truncate(50 * 1024 * 1024)
    (corpus / "fresh.md").write_text(NEW, encoding="utf-8")
    status, errors = run_index(index, corpus)
    assert status == 1
    assert errors == [f"{big}: file is 52,428,800 bytes, over the 10,485,760-byte limit"]
    assert_survived(index)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda c: os.symlink("loop.md", c / "loop.md"),
            "cannot read file: too many levels of symbolic links",
        ),
        (
            lambda c: os.symlink(c / "vanished.md", c / "gone.md"),
            "cannot read file: no such file or directory",
        ),
        (
            lambda c: os.symlink(c.parent / "outside.md", c / "out.md"),
            "link leads outside the given paths; not read",
        ),
    ],
    ids=["loop", "dangling", "outside"],
)
def test_links(indexed: tuple[Path, str], make: Callable[[Path], None], reason: str) -> None:
    corpus, index = indexed
    (corpus.parent / "outside.md").write_text(
        front_matter(article("Outside", "https://x.com/o")), encoding="utf-8"
    )
    make(corpus)
    (corpus / "fresh.md").write_text(NEW, encoding="utf-8")
    status, errors = run_index(index, corpus)
    assert status == 1
    name = next(p for p in corpus.iterdir() if p.is_symlink())
    assert errors == [f"{name}: {reason}"]
    assert_survived(index)


def test_name_that_is_not_utf8(indexed: tuple[Path, str]) -> None:
    corpus, index = indexed
    raw = os.path.join(os.fsencode(corpus), b"caf\xe9.md")
    with open(raw, "wb") as fh:
        fh.write(b"---\ntitle: [x\n---\n")
    (corpus / "fresh.md").write_text(NEW, encoding="utf-8")
    status, errors = run_index(index, corpus)
    assert status == 1
    assert errors == [f"{corpus}/caf\\xe9.md:2: invalid YAML: did not find expected ',' or ']'"]
    assert_survived(index)


def test_changed_file_that_went_bad_keeps_its_old_content(indexed: tuple[Path, str]) -> None:
    corpus, index = indexed
    (corpus / "earlier.md").write_text(fm("title: [now broken"), encoding="utf-8")
    (corpus / "fresh.md").write_text(NEW, encoding="utf-8")
    status, errors = run_index(index, corpus)
    assert (status, len(errors)) == (1, 1)
    assert_survived(index)


def index_bound_by_permissions(index: str, corpus: Path) -> subprocess.CompletedProcess[str]:
    """``searchidx index`` in a process that file permissions bind: root reads
    everything, so as root it runs without the capabilities that override them
    (util-linux ``setpriv``)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        caps = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]
    cmd = [*prefix, sys.executable, "-m", "searchidx", "--index", index, "index", str(corpus)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)


def test_unreadable_file(indexed: tuple[Path, str]) -> None:
    corpus, index = indexed
    (corpus / "fresh.md").write_text(NEW, encoding="utf-8")
    locked = corpus / "locked.md"
    locked.write_text(GOOD, encoding="utf-8")
    locked.chmod(0)
    proc = index_bound_by_permissions(index, corpus)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [f"{locked}: cannot read file: permission denied"]
    assert_survived(index)


def test_unreadable_folder_is_reported_and_its_files_stay_indexed(
    indexed: tuple[Path, str],
) -> None:
    corpus, index = indexed
    folder = corpus / "folder"
    (folder / "deeper").mkdir(parents=True)
    one = article("Kept story one", "https://harborwire.com/one")
    two = article("Kept story two", "https://harborwire.com/two")
    (folder / "kept.md").write_text(front_matter(one), encoding="utf-8")
    (folder / "deeper" / "too.md").write_text(front_matter(two), encoding="utf-8")
    assert run_index(index, corpus) == (0, [])
    (corpus / "fresh.md").write_text(NEW, encoding="utf-8")
    folder.chmod(0)
    try:
        proc = index_bound_by_permissions(index, corpus)
    finally:
        folder.chmod(0o755)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [f"{folder}: cannot read folder: permission denied"]
    assert proc.stdout.startswith(
        "added 1, updated 0, removed 0, unchanged 1, failed 1, skipped 0 records in "
    )
    kept = ["Earlier story stays", "Fresh story arrives", "Kept story one", "Kept story two"]
    assert titles(index) == kept
    assert run_index(index, corpus) == (0, [])  # readable again: nothing to do
    assert titles(index) == kept


# --- property: the parser only ever reports its own error ---------------------------------

KEYS = [
    "title",
    "excerpt",
    "publishedDateTime",
    "provider",
    "topics",
    "related",
    "quality",
    "heat",
    "published",
    "webUrl",
    "images",
    "category",
    "x",
]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mapping=st.dictionaries(st.sampled_from(KEYS), values, max_size=8), noise=st.text(max_size=40)
)
def test_random_front_matter_only_gives_parse_errors(
    mapping: dict[str, object], noise: str
) -> None:
    import yaml

    try:
        text = yaml.safe_dump(mapping, allow_unicode=True)
    except yaml.YAMLError:
        text = str(mapping)
    for data in (f"---\n{text}---\n", f"---\n{text}{noise}\n---\n", f"---\n{noise}\n---\n"):
        articles, errors = parse_file("random.md", data.encode("utf-8", "surrogatepass"))
        assert all(isinstance(e, ParseError) and str(e).startswith("random.md") for e in errors)
        assert len(articles) + len(errors) == 1


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200), suffix=st.sampled_from([".md", ".json", ".jsonl", ".yaml"]))
def test_random_bytes_only_give_parse_errors(data: bytes, suffix: str) -> None:
    _, errors = parse_file("random" + suffix, data)
    assert all(isinstance(e, ParseError) for e in errors)
