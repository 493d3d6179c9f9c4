"""The plain YAML that article files are written in, read with one regular expression.

Front matter is nearly always the same few shapes: ``key: value`` lines, nested
mappings indented under a ``key:``, and lists of ``- value`` or ``- key: value`` lines,
with double-quoted strings (JSON's escapes) or plain words and numbers. libyaml
composing a node for every key and value took 145 of the 230 us that parsing a
seed-shaped article file took. :func:`load` reads exactly that shape, line by line,
and gives up (returns None) at anything else: comments, tabs, other quoting, flow
collections, anchors, tags, continued lines, duplicate or non-text keys, characters
YAML treats specially, deep nesting. The caller then loads the text with libyaml as
before, so what libyaml refuses, or reads another way, never comes out of here. A plain
scalar's type (text, number, true/false, null) is the caller's to decide, by the same
rules as libyaml's path, through ``plain``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

#: Characters that YAML reads as line breaks or refuses, and tabs: left to libyaml.
_SPECIAL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")

#: One line: its indent, "- " (a list entry), a key, then a double-quoted string (JSON's
#: escapes but a surrogate's and "\\/", which older libyaml releases refuse), an empty
#: list or mapping ("[]", "{}"), a plain scalar (not starting with an indicator; no ": ",
#: no " #", no ":" at its end), or nothing. Any other line is caught by the last group.
#: Runs of spaces are matched possessively: a line of many spaces and then something
#: else is given up at once, not after trying every way of splitting the spaces.
_LINE = re.compile(
    r"^( *+)(- (?! ))?(?:([A-Za-z_][A-Za-z0-9_]{0,127}):(?= |$))? *+"
    r'(?:("[^"\\\n]*(?:(?:\\["\\bfnrt]|\\u(?![dD][89a-fA-F])[0-9a-fA-F]{4})[^"\\\n]*)*") *+'
    r"|(\[\]|\{\}) *+"
    r"|((?:[A-Za-z0-9_(/$.+~]|-(?=[0-9.]))[^:#\n]*(?:(?::(?! |$)|(?<! )#)[^:#\n]*)*))?$"
    r"|^(.+)$",
    re.M,
)

#: Lists and mappings nested deeper than this are left to libyaml (and its checks).
MAX_DEPTH = 16


def load(
    text: str, plain: Callable[[str], Any], text_key: Callable[[str], bool]
) -> dict[str, Any] | None:
    """The mapping ``text`` holds, or None when it is not in the plain shape above.
    ``plain`` gives a plain scalar's value (raising ValueError sends the text to
    libyaml); ``text_key`` says whether a plain key is read as text."""
    if _SPECIAL.search(text):
        return None
    root: dict[str, Any] = {}
    stack: list[tuple[int, Any]] = [(0, root)]  # (indent, list or mapping) down to here
    top_indent: int = 0
    top: Any = root  # the list or mapping a line at top_indent belongs to
    # a key without a value on its line: a nested block follows, or its value is null
    pending: tuple[dict[str, Any], str, int] | None = None
    try:
        for indent, dash, key, quoted, empty, bare, other in _LINE.findall(text):
            if other:
                return None
            if not (dash or key or quoted or empty or bare):
                continue  # a blank line
            at = len(indent)
            if pending is not None:
                parent, parent_key, parent_indent = pending
                pending = None
                if at > parent_indent:
                    child: Any = [] if dash else {}
                    parent[parent_key] = child
                    stack.append((at, child))
                    top_indent, top = at, child
                else:
                    parent[parent_key] = None
            while top_indent > at:
                stack.pop()
                top_indent, top = stack[-1]
            if top_indent != at or len(stack) > MAX_DEPTH:
                return None
            if type(top) is list:
                if not dash:
                    return None
                if not key:
                    if not (quoted or empty or bare):
                        return None
                    top.append(_value(quoted, empty, bare, plain))
                    continue
                entry: dict[str, Any] = {}
                top.append(entry)
                at += 2  # the entry's keys line up with the first, after "- "
                stack.append((at, entry))
                top_indent, top = at, entry
            elif dash or not key:
                return None
            if key in top or not text_key(key):
                return None
            if quoted or empty or bare:
                top[key] = _value(quoted, empty, bare, plain)
            else:
                pending = (top, key, at)
    except ValueError:
        return None
    if pending is not None:
        pending[0][pending[1]] = None
    return root or None


def _value(quoted: str, empty: str, bare: str, plain: Callable[[str], Any]) -> Any:
    """The value a line ends with: a double-quoted scalar's text (the escapes allowed
    are JSON's, read alike), an empty list or mapping, or a plain scalar's value."""
    if quoted:
        return json.loads(quoted) if "\\" in quoted else quoted[1:-1]
    if empty:
        return [] if empty == "[]" else {}
    return plain(bare.rstrip(" "))
