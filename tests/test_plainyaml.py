"""Plain front matter read without libyaml: the same values as libyaml's path, or none."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchidx import plainyaml
from searchidx.documents import (
    _SCALARS,
    FRONT_MATTER_SUFFIXES,
    _plain_scalar,
    _text_key,
    decode_text,
    load_yaml,
    load_yaml_nodes,
)
from searchidx.errors import ParseError
from tests.conftest import SAMPLES


def plain(text: str) -> dict[str, Any] | None:
    return plainyaml.load(text, _plain_scalar, _text_key)


def typed(value: Any) -> Any:
    """``value`` with every scalar's type beside it (True == 1, 1 == 1.0 in Python)."""
    if isinstance(value, dict):
        return ("map", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def libyaml(text: str) -> Any:
    """libyaml's value for ``text``, or the ParseError it raises."""
    try:
        return load_yaml_nodes("f.md", text)
    except ParseError as exc:
        return exc


def assert_same_as_libyaml(text: str) -> dict[str, Any] | None:
    """The plain reading of ``text``; when there is one, it is libyaml's value."""
    fast = plain(text)
    if fast is not None:
        slow = libyaml(text)
        assert not isinstance(slow, ParseError), f"read what libyaml refuses: {slow}"
        assert typed(fast) == typed(slow)
    return fast


SEED_LIKE = """\
category: news
title: "Documents Detail New Orleans PD's \\"Facial\\" Recognition Use"
excerpt: "caf\\u00e9 \\\\ \\t done"
publishedDateTime: 2020-12-17T00:00:00Z
quality: 74
heat: -1
published: false
ratio: 1.5
nothing:
images: []
extra: {}

provider:
  name: Government Technology
  domain: govtech.com

topics:
  - Computer Vision
  - "AI"
  - 12
related:
  - title: "NOPD has used facial recognition"
    provider:
      name: NOLA.com
      domain: nola.com
    images:
      - url: "https://example.com/a.jpg"
        width: 600
  - title: Plain: no, a colon with a space ends it
"""


def test_a_seed_like_front_matter_is_read_as_libyaml_reads_it() -> None:
    text = SEED_LIKE.replace("  - title: Plain: no, a colon with a space ends it\n", "")
    value = assert_same_as_libyaml(text)
    assert value is not None
    assert value["title"] == 'Documents Detail New Orleans PD\'s "Facial" Recognition Use'
    assert value["excerpt"] == "café \\ \t done"
    assert value["publishedDateTime"] == "2020-12-17T00:00:00Z"  # dates stay text
    assert (value["quality"], value["heat"], value["published"], value["ratio"]) == (
        74,
        -1,
        False,
        1.5,
    )
    assert value["nothing"] is None
    assert (value["images"], value["extra"]) == ([], {})
    assert value["topics"] == ["Computer Vision", "AI", 12]
    assert value["related"][0]["images"] == [{"url": "https://example.com/a.jpg", "width": 600}]
    # a line outside the plain shape leaves the whole text to libyaml
    assert plain(SEED_LIKE) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a: b # note\n", "a comment"),
        ("# note\na: b\n", "a comment line"),
        ("a:\tb\n", "a tab"),
        ("a: b\u2028c\n", "a line separator YAML breaks lines at"),
        ("a: b\x85c\n", "NEL, a line break in YAML 1.1"),
        ("a: b\x07\n", "a control character"),
        ("a: 'b'\n", "single quotes"),
        ("a: [b, c]\n", "a flow list"),
        ("a: {b: c}\n", "a flow mapping"),
        ("a: [ ]\n", "an empty list written otherwise than []"),
        ("a: &x b\nc: *x\n", "an anchor and an alias"),
        ("a: !!str 1\n", "a tag"),
        ("a: |\n  b\n", "a literal block"),
        ("a: >\n  b\n", "a folded block"),
        ("a: b\n  c\n", "a plain scalar continued"),
        ('a: "b\n  c"\n', "a quoted scalar continued"),
        ('a: "b" c\n', "text after a quoted scalar"),
        ('a: "\\x41"\n', "an escape JSON does not have"),
        ('a: "a\\/b"\n', "an escaped slash, which older libyaml releases refuse"),
        ('a: "\\ud83d\\ude00"\n', "an escaped surrogate"),
        ("a:\n- b\n", "a list not indented under its key"),
        ("a:\n  -  b\n", "two spaces after a dash"),
        ("a:\n  -\n    b: c\n", "a dash alone on its line"),
        ("a:\n  - - b\n", "a list in a list entry"),
        ("a: b\na: c\n", "a duplicate key"),
        ("null: b\n", "a key that is not text"),
        ("a b: c\n", "a key with a space"),
        ("a-b: c\n", "a key with a dash"),
        ("a : b\n", "a space before the colon"),
        ("a: b: c\n", "a colon and space inside a plain scalar"),
        ("a: b:\n", "a plain scalar ending in a colon"),
        ("a:\n  b: c\n   d: e\n", "a key indented unevenly"),
        ("a:\n  - b\n   - c\n", "a list entry indented unevenly"),
        ("  a: b\n", "an indented first line"),
        ("- a\n", "a list at the top"),
        ("a\n", "a scalar at the top"),
        ("\n\n", "nothing"),
        ("? a\n: b\n", "an explicit key"),
        ("a: %b\n", "a directive indicator"),
        ("a: @b\n", "a reserved indicator"),
        ("a: ---\n", "a dash run"),
        ("x" * 129 + ": b\n", "a key longer than 128 characters"),
        ("".join(f"{' ' * 2 * d}k{d}:\n" for d in range(17)) + " " * 34 + "v: 1\n", "deep"),
        ("a: 1\n" + " " * 3000 + ":\n", "spaces, then a colon"),
        ("a: 0x_\n", "a number with no digits"),
        ("a: 0" + ":0" * 200 + ".5\n", "a number too large for a float"),
    ],
)
def test_what_the_plain_shape_leaves_to_libyaml(text: str, why: str) -> None:
    assert plain(text) is None, why


@pytest.mark.parametrize("text", ["0x_", "0" + ":0" * 200 + ".5", "1" * 5000])
def test_a_plain_scalar_that_cannot_be_built_leaves_the_loader_as_it_was(text: str) -> None:
    with pytest.raises(ValueError):
        _plain_scalar(text)
    assert not _SCALARS.constructed_objects and not _SCALARS.recursive_objects
    assert _SCALARS.deep_construct is False


def test_nesting_up_to_the_plain_limit_is_read() -> None:
    depth = plainyaml.MAX_DEPTH - 1
    text = "".join(f"{' ' * 2 * d}k{d}:\n" for d in range(depth)) + " " * 2 * depth + "v: 1\n"
    value = assert_same_as_libyaml(text)
    for d in range(depth):
        assert value is not None
        value = value[f"k{d}"]
    assert value == {"v": 1}


def assert_read_without_libyaml(paths: list[Path]) -> int:
    """Check that each file's front matter is read in the plain shape, to libyaml's
    values; return how many files have front matter."""
    count = 0
    for path in paths:
        text = decode_text(str(path), path.read_bytes())
        if not text.startswith("---\n"):
            continue
        count += 1
        front = text[4:].split("\n---", 1)[0]
        assert assert_same_as_libyaml(front) is not None, path
        assert typed(load_yaml(str(path), front)) == typed(load_yaml_nodes(str(path), front))
    return count


def test_every_front_matter_sample_is_read_without_libyaml() -> None:
    paths = [p for p in sorted(SAMPLES.rglob("*")) if p.suffix in FRONT_MATTER_SUFFIXES]
    assert assert_read_without_libyaml(paths) == 29


def test_the_seeds_are_read_without_libyaml(seeds: Path) -> None:
    assert assert_read_without_libyaml(sorted(seeds.iterdir())) == 2


# --- arbitrary text made of the pieces the shape turns on ------------------------------------

_KEYS = ["title", "a", "b", "provider", "null", "yes", "On", "x y", "<<", "é", "k_1", "-a"]
_VALUES = [
    '"quoted"',
    '"say \\"hi\\""',
    '"caf\\u00e9 \\/ \\\\ \\n"',
    '"\\u0000"',
    '"\\ud83d\\ude00"',
    '"\\ud83d"',
    '"\\x41"',
    '"unclosed',
    '""',
    "'single'",
    "plain words",
    "Fed's plan (2014)",
    "a: b",
    "a #c",
    "a#c",
    "C#",
    "ends:",
    "a:b",
    "http://x.y/z?q=1#f",
    "1",
    "-1",
    "+1",
    "0",
    "012",
    "0x1F",
    "0o17",
    "1_000",
    "1:30",
    "1.5",
    "-.5",
    "1e3",
    "1.0e+3",
    ".inf",
    ".NaN",
    "~",
    "null",
    "Null",
    "true",
    "no",
    "off",
    "2020-12-17T00:00:00Z",
    "2020-12-17",
    "[a, b]",
    "{a: 1}",
    "[]",
    "{}",
    "[ ]",
    "&anchor x",
    "*alias",
    "!tag x",
    "|",
    ">",
    "%x",
    "@x",
    "`x",
    "...",
    "---",
    "- x",
    "-x",
    "a\u2028b",
    "a\tb",
    "é",
    "$5 (+3%)",
    "/path",
    "_x",
    "",
]
_INDENTS = ["", "", "  ", "  ", "    ", "      ", " ", "   "]
_DASHES = ["", "", "", "- ", "- ", "-", "-  "]
_ENDS = ["", "", "", " ", "  ", " # note", ":"]


#: Places a value can take in front matter, "{}" standing for it.
_CONTEXTS = [
    "title: {}\nb: 1\n",
    "provider:\n  name: {}\n  domain: x.com\nb: 1\n",
    "topics:\n  - {}\n  - x\nb: 1\n",
    "related:\n  - title: {}\n    url: x\n  - title: y\nb: 1\n",
    "related:\n  - url: x\n    title: {}\nb: 1\n",
]


def test_every_value_in_every_place_is_read_as_libyaml_reads_it_or_left_to_it() -> None:
    read = 0
    for context in _CONTEXTS:
        for value in _VALUES:
            for end in _ENDS:
                read += assert_same_as_libyaml(context.replace("{}", value + end)) is not None
    assert read > len(_CONTEXTS) * len(_VALUES)  # most values are in the plain shape


@st.composite
def _line(draw: st.DrawFn) -> str:
    key = draw(st.sampled_from([*_KEYS, ""]))
    sep = draw(st.sampled_from([": ", ": ", ":", " : ", ":  "])) if key else ""
    value = draw(st.sampled_from(_VALUES))
    return (
        draw(st.sampled_from(_INDENTS))
        + draw(st.sampled_from(_DASHES))
        + key
        + sep
        + value
        + draw(st.sampled_from(_ENDS))
    )


@settings(max_examples=1000, deadline=None)
@given(st.lists(_line(), min_size=1, max_size=8).map("\n".join))
def test_text_of_tricky_lines_is_read_as_libyaml_reads_it_or_left_to_it(text: str) -> None:
    assert_same_as_libyaml(text)


# --- front matter in the plain shape, as files write it ---------------------------------------

_SHAPED = ["plain words", "Fed's plan (2014)", "a#c", "a:b", "1", "-1", "0", "1_000", "1:30"]
_SHAPED += ["1.5", "-.5", ".inf", "~", "null", "true", "off", "2020-12-17", "$5 (+3%)", "_x"]
_SHAPED += ["[]", "{}"]
_scalars = st.sampled_from(['"a title"', '"x \\"y\\""', '"\\u00e9"', '""', *_SHAPED]) | st.text(
    st.characters(
        codec="utf-8",
        exclude_categories=("Cc", "Cs", "Zl", "Zp"),
        exclude_characters='"\\\ufeff\ufffe\uffff\x85',
    ),
    max_size=12,
).map(lambda s: f'"{s}"')


def _render(value: Any, indent: int) -> list[str]:
    """Lines of a mapping or list in the plain shape (a list under its key)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str):
                lines.append(f"{pad}{k}: {v}")
            else:
                lines.append(f"{pad}{k}:")
                lines += _render(v, indent + 2)
        return lines
    for v in value:
        if isinstance(v, str):
            lines.append(f"{pad}- {v}")
        else:
            sub = _render(v, indent + 2)
            lines.append(f"{pad}- {sub[0].lstrip()}" if sub else f"{pad}- x: 1")
            lines += sub[1:]
    return lines


def _mappings(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.sampled_from(["title", "name", "url", "k_1", "a"])
    return st.dictionaries(keys, values, min_size=1, max_size=4)


# lists hold scalars and mappings (a list in a list is not in the plain shape)
_trees = st.recursive(
    _scalars,
    lambda inner: st.lists(_scalars | _mappings(inner), min_size=1, max_size=3) | _mappings(inner),
    max_leaves=12,
)


_documents = st.dictionaries(
    st.sampled_from(["title", "provider", "related", "b"]), _trees, min_size=1
)


@settings(max_examples=500, deadline=None)
@given(_documents)
def test_front_matter_in_the_plain_shape_is_read_as_libyaml_reads_it(
    tree: dict[str, Any],
) -> None:
    text = "\n".join(_render(tree, 0)) + "\n"
    assert assert_same_as_libyaml(text) is not None, text


_PREFIX = re.compile(r" *(?:- )?(?:[A-Za-z_][A-Za-z0-9_]*: ?)?")


@settings(max_examples=1500, deadline=None)
@given(
    _documents,
    st.integers(0, 1000),
    _line(),
    st.sampled_from(["insert", "replace", "value"]),
    st.sampled_from(_VALUES),
    st.sampled_from(_ENDS),
)
def test_front_matter_with_one_tricky_line_is_read_as_libyaml_reads_it_or_left_to_it(
    tree: dict[str, Any], where: int, line: str, how: str, value: str, end: str
) -> None:
    """A line of ``_line()`` inserted or put instead of one, or one line's value (after
    its indent, dash and key) replaced, so that the rest of the text is in shape."""
    lines = _render(tree, 0)
    at = where % (len(lines) + 1)
    if how == "insert":
        lines.insert(at, line)
    elif how == "replace":
        lines[at : at + 1] = [line]
    else:
        at = where % len(lines)
        prefix = _PREFIX.match(lines[at])
        assert prefix is not None
        lines[at] = prefix.group() + value + end
    assert_same_as_libyaml("\n".join(lines) + "\n")
