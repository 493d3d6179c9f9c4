"""Article files: finding them, reading them, and turning them into typed records.

An article file holds YAML front matter between ``---`` lines (``.md``, ``.markdown``,
``.txt``, ``.yaml``, ``.yml``), one JSON article object or a list of them (``.json``) or
one JSON article per line (``.jsonl``); RSS and Atom feeds and CSV/TSV tables are read by
:mod:`searchidx.feeds`. Everything that can be wrong with a file is reported as a
:class:`~searchidx.errors.ParseError` naming the file (and line, where there is one).
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import yaml

from searchidx import plainyaml
from searchidx.errors import ParseError

FRONT_MATTER_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".yaml", ".yml"})
JSON_SUFFIXES = frozenset({".json", ".jsonl"})
#: Feeds and tables are read by :mod:`searchidx.feeds`, one article an item or row.
FEED_SUFFIXES = frozenset({".rss", ".atom", ".xml"})
TABLE_SUFFIXES = frozenset({".csv", ".tsv"})
ARTICLE_SUFFIXES = FRONT_MATTER_SUFFIXES | JSON_SUFFIXES | FEED_SUFFIXES | TABLE_SUFFIXES

#: Files larger than this are refused without being read.
MAX_FILE_BYTES = 10 * 1024 * 1024
#: Front matter whose aliases expand to more values than this is refused.
MAX_YAML_VALUES = 100_000
#: Lists and mappings nested deeper than this are refused, in YAML and JSON alike
#: (libyaml's own limit, where it has one, is higher and gets the same message).
MAX_NESTING = 100
NESTING_REASON = f"nested deeper than {MAX_NESTING} levels"
NUMBER_REASON = "a number that cannot be read (no digits, too many, or too large)"

_YAML_BASE: type[yaml.SafeLoader] | type[yaml.CSafeLoader]
try:
    _YAML_BASE = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _YAML_BASE = yaml.SafeLoader


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_INT = "tag:yaml.org,2002:int"
#: Tags of short plain (unquoted) scalars, once resolved: keys and small values recur
#: in every file, and PyYAML resolves each by trying regular expressions on it.
_PLAIN_TAGS: dict[str, str] = {}


_RulesBase: Any = yaml.SafeLoader if TYPE_CHECKING else object


class _FrontMatterRules(_RulesBase):  # type: ignore[misc]
    """Safe YAML loading that keeps timestamps as text and refuses duplicate keys.

    It builds strings, decimal integers, string-keyed mappings and lists itself, and
    hands every other node (other numbers, booleans, merge keys, other tags, duplicate
    keys) to PyYAML's safe constructor: libyaml parses in C, but PyYAML's constructor
    took a third of the time spent loading a typical article's front matter."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        """PyYAML's tag resolution (libyaml asks for every node), remembering the tags of
        short plain scalars. With no path resolvers, a quoted scalar is a string."""
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(value) <= 32 and len(_PLAIN_TAGS) < 4096:
                    _PLAIN_TAGS[value] = tag
            return tag
        return super().resolve(kind, value, implicit)  # type: ignore[no-any-return]

    def construct_document(self, node: yaml.Node) -> Any:
        self._built: dict[int, Any] = {}
        return self._build(node, 0)

    def _build(self, node: yaml.Node, depth: int) -> Any:
        """The value of ``node``, ``depth`` levels down; a node deeper than MAX_NESTING
        is refused where it is (checked here rather than in a walk of its own before,
        which took a tenth of the time spent loading an article's front matter)."""
        if depth > MAX_NESTING:
            raise yaml.constructor.ConstructorError(None, None, NESTING_REASON, node.start_mark)
        kind, tag = type(node), node.tag
        if kind is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            # A plain decimal (no sign, "_", leading zero for octal, or base prefix).
            digits = node.value
            if tag == _INT and digits.isascii() and digits.isdigit() and digits[:1] != "0":
                return int(digits)
        if kind is yaml.MappingNode and tag == _MAP:
            # An alias is the same node again: built once, shared, as PyYAML does.
            if id(node) in self._built:
                return self._built[id(node)]
            mapping: dict[str, Any] = {}
            self._built[id(node)] = mapping
            for key_node, value_node in node.value:
                key = key_node.value
                if (
                    type(key_node) is not yaml.ScalarNode
                    or key_node.tag != _STR
                    or key in mapping
                    or key == "<<"
                ):
                    mapping.clear()
                    mapping.update(self._construct(node, depth))
                    return mapping
                mapping[key] = self._build(value_node, depth + 1)
            return mapping
        if kind is yaml.SequenceNode and tag == _SEQ:
            if id(node) in self._built:
                return self._built[id(node)]
            items: list[Any] = []
            self._built[id(node)] = items
            depth += 1
            items.extend(self._build(child, depth) for child in node.value)
            return items
        return self._construct(node, depth)

    def _construct(self, node: yaml.Node, depth: int) -> Any:
        """PyYAML's own construction of ``node`` and what is under it, once its depth is
        checked."""
        _check_node_depth(node, depth)
        return self.construct_object(node, deep=True)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen and key_node.value != "<<":
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


class _FrontMatterLoader(_FrontMatterRules, _YAML_BASE):  # type: ignore[misc,valid-type]
    """The front matter loader, on libyaml where PyYAML has it."""


class _PyFrontMatterLoader(_FrontMatterRules, yaml.SafeLoader):
    """The same in pure Python, for the rare text libyaml refuses and Python reads:
    surrogate-pair escapes ("\\ud83d\\ude00", valid in YAML 1.2 as in JSON)."""


#: libyaml's complaint about a "\\u" escape of half a surrogate pair.
_LIBYAML_ESCAPE = "found invalid Unicode character escape code"
#: Text that may hold an escaped surrogate: "\\u" and D800 to DFFF.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _join_surrogates(
    path: str, value: Any, text: str, line: int | None, first_line: int = 1
) -> Any:
    """Strings of ``value`` with surrogate pairs (as escapes leave them) joined into the
    characters they encode; a lone surrogate is refused. Lists and mappings are changed
    in place (aliases share them); the value is returned."""

    def fix(s: str) -> str:
        if not any("\ud800" <= ch <= "\udfff" for ch in s):
            return s
        try:
            return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError as exc:
            lone = s.encode("utf-16-le", "surrogatepass")[exc.start : exc.start + 2]
            code = int.from_bytes(lone, "little")
            escape = f"\\u{code:04x}"
            where = text.lower().find(escape)
            at = line if line is not None or where < 0 else text.count("\n", 0, where) + first_line
            raise ParseError(
                path, f"{escape} is half of a surrogate pair, not a character", at
            ) from None

    seen: set[int] = set()
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            items = [(fix(k) if isinstance(k, str) else k, v) for k, v in node.items()]
            node.clear()
            for k, v in items:
                node[k] = fix(v) if isinstance(v, str) else v
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            node[:] = [fix(v) if isinstance(v, str) else v for v in node]
            stack.extend(v for v in node if isinstance(v, dict | list))
    return fix(value) if isinstance(value, str) else value


def _check_node_depth(root: yaml.Node, depth: int = 0) -> None:
    """Refuse a node tree (``depth`` levels down) nested deeper than MAX_NESTING, marking
    a node too deep."""
    stack: list[tuple[yaml.Node, int]] = [(root, depth)]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise yaml.constructor.ConstructorError(None, None, NESTING_REASON, node.start_mark)
        if id(node) in seen or type(node) is yaml.ScalarNode:
            continue
        seen.add(id(node))  # an alias is the same node again
        if type(node) is yaml.SequenceNode:
            stack.extend((child, depth + 1) for child in node.value)
        elif type(node) is yaml.MappingNode:
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))


def _check_value_depth(path: str, value: Any, line: int | None) -> None:
    """Refuse a loaded JSON value nested deeper than MAX_NESTING."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ParseError(path, f"invalid JSON: {NESTING_REASON}", line)
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)


# Dates are parsed by this module, with its own checks, not by the YAML loader.
for _loader in (_FrontMatterLoader, _PyFrontMatterLoader):
    _loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _YAML_BASE.yaml_implicit_resolvers.items()
    }


@dataclass(slots=True)
class RelatedEntry:
    """One entry of an article's ``related`` list: another outlet's coverage."""

    title: str
    excerpt: str = ""
    provider: str = ""
    domain: str = ""
    published: datetime | None = None
    url: str = ""
    type: str = ""
    quality: float | None = None
    image_count: int = 0


@dataclass(slots=True)
class Article:
    """One article as read from a file (``line`` is set for JSONL records)."""

    path: str
    title: str
    line: int | None = None
    excerpt: str = ""
    body: str = ""
    topics: list[str] = field(default_factory=list)
    provider: str = ""
    domain: str = ""
    category: str = ""
    type: str = ""
    published: datetime | None = None
    quality: float | None = None
    heat: float | None = None
    is_published: bool | None = None
    web_url: str = ""
    original_url: str = ""
    image_count: int = 0
    related: list[RelatedEntry] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The URL that identifies the article: webUrl, else originalUrl."""
        return self.web_url or self.original_url


# --- finding files -----------------------------------------------------------------------


def iter_article_files(roots: Iterable[str]) -> Iterator[str]:
    """Yield article files under ``roots``: folders are walked, hidden entries skipped.

    A file named directly is yielded whatever its suffix, so that an unsupported one is
    reported rather than silently ignored. Folder links are not followed (no loops).
    """
    for root in roots:
        if not os.path.isdir(root):
            yield root
            continue
        for entries in scan_article_folders(root):
            for entry in entries:
                yield entry.path


def scan_article_folders(
    folder: str, on_error: Callable[[str, OSError], None] | None = None
) -> Iterator[list[os.DirEntry[str]]]:
    """The article files under ``folder`` as :func:`iter_article_files` finds them (in
    the same order), a list of folder entries a folder: an entry knows whether it is a
    link, and stats it without building its path again. Top-down like ``os.walk``: a
    folder's files in name order, then its sub-folders' (folder links are not walked).
    A folder that cannot be read is passed to ``on_error`` with the error, and left
    out."""
    try:
        with os.scandir(folder) as it:
            entries = sorted((e for e in it if e.name[0] != "."), key=_name)
    except OSError as exc:
        if on_error is not None:
            on_error(folder, exc)
        return
    files, folders = [], []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            folders.append(entry)
            continue
        name = entry.name
        dot = name.rfind(".")
        if dot > 0 and name[dot:].lower() in ARTICLE_SUFFIXES:
            files.append(entry)
    if files:
        yield files
    for entry in folders:
        if not entry.is_symlink():
            yield from scan_article_folders(entry.path, on_error)


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


# --- reading files -----------------------------------------------------------------------


def content_digest(data: bytes) -> str:
    """A short content hash used to tell changed files from touched ones."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def read_file(path: str) -> tuple[bytes, os.stat_result]:
    """Read a file's bytes after checking its size; raise ParseError on any failure."""
    try:
        st = os.stat(path)
        if not os.path.isfile(path):
            raise ParseError(path, "not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise ParseError(
                path, f"file is {st.st_size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit"
            )
        with open(path, "rb") as fh:
            # Asking for the limit would allocate it for every file: ask for the size,
            # and for the rest (up to the limit) only if the file grew since.
            data = fh.read(st.st_size + 1)
            if len(data) > st.st_size:
                data += fh.read(MAX_FILE_BYTES + 1 - len(data))
    except OSError as exc:
        raise ParseError(path, os_reason(exc)) from None
    if len(data) > MAX_FILE_BYTES:
        raise ParseError(path, f"file grew over the {MAX_FILE_BYTES:,}-byte limit while read")
    return data, st


def os_reason(exc: OSError, what: str = "file") -> str:
    """An OS error as the reason a file (or folder) cannot be read."""
    reason = exc.strerror or str(exc)
    return f"cannot read {what}: {reason[:1].lower()}{reason[1:]}"


def parse_file(path: str, data: bytes) -> tuple[list[Article], list[ParseError]]:
    """Turn a file's bytes into articles. Errors are collected, never raised: a JSONL
    file's good lines are kept beside its bad ones."""
    articles: list[Article] = []
    errors: list[ParseError] = []
    suffix = os.path.splitext(path)[1].lower()
    try:
        if suffix not in FRONT_MATTER_SUFFIXES | JSON_SUFFIXES:
            raise ParseError(path, f"unsupported file type {suffix or '(no suffix)'!r}")
        text = decode_text(path, data)
        if suffix == ".jsonl" or (suffix == ".json" and _is_json_lines(text)):
            for lineno, line in enumerate(text.split("\n"), start=1):
                if not line.strip():
                    continue
                try:
                    mapping = _aliased(_load_json(path, line, lineno))
                    articles.append(article_from_mapping(mapping, path, lineno))
                except ParseError as exc:
                    errors.append(exc)
        elif suffix == ".json":
            value = _load_json(path, text, None)
            if isinstance(value, list):  # a list of article objects, each on its line
                for mapping, lineno in zip(value, _element_lines(text), strict=True):
                    try:
                        articles.append(article_from_mapping(_aliased(mapping), path, lineno))
                    except ParseError as exc:
                        errors.append(exc)
            else:
                articles.append(article_from_mapping(_aliased(value), path))
        else:
            yaml_files = suffix in {".yaml", ".yml"}
            mapping, body = load_front_matter(path, text, whole_file_yaml=yaml_files)
            article = article_from_mapping(mapping, path)
            article.body = article.body or body.strip()
            articles.append(article)
    except ParseError as exc:
        errors.append(exc)
    return articles, errors


def _is_json_lines(text: str) -> bool:
    """Whether a ``.json`` file holds JSON Lines (as the HuffPost News Category Dataset's
    ``News_Category_Dataset_v3.json`` does): its first line a whole JSON object, and more
    lines after it. A single object written over several lines starts with a line that
    is no whole object."""
    first, _, rest = text.strip().partition("\n")
    if not rest.strip() or not first.rstrip().endswith("}"):
        return False
    try:
        return isinstance(json.loads(first), dict)
    except (ValueError, RecursionError):
        return False


def _element_lines(text: str) -> list[int]:
    """The line each element of the JSON list ``text`` (already read whole, so valid)
    starts on (the lines counted on from the element before, not from the start)."""
    decoder = json.JSONDecoder()
    lines: list[int] = []
    line, counted = 1, 0
    at = text.index("[") + 1
    while True:
        while text[at] in " \t\r\n,":
            at += 1
        if text[at] == "]":
            return lines
        line += text.count("\n", counted, at)
        counted = at
        lines.append(line)
        _, at = decoder.raw_decode(text, at)


#: Other names of article fields in JSON objects, as tables accept them and datasets
#: write them (the HuffPost News Category Dataset: headline, link, short_description,
#: date); used when the field's own name is absent.
JSON_ALIASES = {
    "headline": "title",
    "link": "webUrl",
    "url": "webUrl",
    "short_description": "excerpt",
    "description": "excerpt",
    "summary": "excerpt",
    "date": "publishedDateTime",
}


#: Names of a provider's name in JSON objects without a ``provider`` mapping.
JSON_PROVIDER_NAMES = ("source", "outlet", "publisher")


def _aliased(data: Any) -> Any:
    """A JSON object with the other names of its fields (:data:`JSON_ALIASES`) read as
    the fields; its ``category`` also as its topic when it has no ``topics``; and, when
    it has no ``provider``, one made of a text ``source``, ``outlet`` or ``publisher``
    and its link's domain: as a table's row gets them."""
    if not isinstance(data, dict) or not any(
        k in JSON_ALIASES or k in JSON_PROVIDER_NAMES for k in data
    ):
        return data
    out = dict(data)
    for alias, name in JSON_ALIASES.items():
        if alias in data and name not in out:
            out[name] = data[alias]
    category = out.get("category")
    if "topics" not in out and isinstance(category, str) and category.strip():
        out["topics"] = [category]  # as a table's category column gives topics
    if "provider" not in out:
        name = next((v for k in JSON_PROVIDER_NAMES if isinstance(v := out.get(k), str)), "")
        link = out.get("webUrl")
        domain = urlsplit(link).hostname or "" if isinstance(link, str) and is_url(link) else ""
        if name or domain:
            out["provider"] = {"name": name, "domain": domain}
    return out


def decode_text(path: str, data: bytes) -> str:
    """Decode UTF-8 (a BOM is allowed), or UTF-16 with its BOM (as spreadsheets export
    "Unicode text"), and normalise line ends."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(
                path, f"not UTF-16, though it starts as UTF-16 does: {exc.reason}"
            ) from None
    if not data.strip():
        raise ParseError(path, "empty file")
    if b"\x00" in data:
        raise ParseError(path, "binary file: contains NUL bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ParseError(
            path, f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}", line
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_front_matter(path: str, text: str, whole_file_yaml: bool = False) -> tuple[Any, str]:
    """Split ``---`` front matter from the body and load it as YAML."""
    lines = text.split("\n")
    if lines[0].rstrip() == "---":
        for i in range(1, len(lines)):
            if lines[i].rstrip() in {"---", "..."}:
                yaml_text, body, first_line = "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), 2
                break
        else:
            raise ParseError(path, "front matter has no closing '---' line")
        if not yaml_text.strip():
            raise ParseError(path, "front matter is empty", 1)
    elif whole_file_yaml:
        yaml_text, body, first_line = text, "", 1
    else:
        raise ParseError(path, "no front matter: the file must start with a '---' line", 1)
    return load_yaml(path, yaml_text, first_line), body


def load_yaml(path: str, yaml_text: str, first_line: int = 1) -> Any:
    """Load YAML safely, turning every failure into a ParseError with a line number.
    Front matter in the plain shape of :mod:`searchidx.plainyaml` is read there, the
    rest by libyaml (:func:`load_yaml_nodes`), to the same values."""
    value = plainyaml.load(yaml_text, _plain_scalar, _text_key)
    if value is None:
        value = load_yaml_nodes(path, yaml_text, first_line)
    if "*" in yaml_text:
        check_expansion(path, value)
    return value


#: Resolves and builds plain scalars for :mod:`searchidx.plainyaml` by libyaml's rules.
_SCALARS = _PyFrontMatterLoader("")


def _plain_scalar(text: str) -> Any:
    """A plain scalar's value, built by :class:`_FrontMatterRules` as libyaml's path
    builds it; ValueError when it cannot be built (the text is then left to libyaml,
    which says why)."""
    if text.isascii() and text.isdigit() and text[0] != "0":
        return int(text)  # what YAML reads as a decimal integer, without its resolver
    tag = _SCALARS.resolve(yaml.ScalarNode, text, (True, False))
    try:
        return _SCALARS._build(yaml.ScalarNode(tag, text), 0)
    except (yaml.YAMLError, ArithmeticError) as exc:
        raise ValueError(str(exc)) from None
    finally:  # what PyYAML keeps of a construction, even of one that failed
        _SCALARS.constructed_objects.clear()
        _SCALARS.recursive_objects.clear()
        _SCALARS.deep_construct = False


@functools.lru_cache(maxsize=4096)
def _text_key(key: str) -> bool:
    """Whether a plain key is read as text (``null``, ``true`` and the like are not);
    kept for the few keys files use."""
    return bool(_SCALARS.resolve(yaml.ScalarNode, key, (True, False)) == _STR)


def load_yaml_nodes(path: str, yaml_text: str, first_line: int = 1) -> Any:
    """Load YAML with libyaml (Python's parser for what libyaml refuses and YAML
    allows), turning every failure into a ParseError with a line number. (Aliases'
    expansion is checked by :func:`load_yaml`.)"""
    try:
        try:
            value = yaml.load(yaml_text, Loader=_FrontMatterLoader)
        except yaml.MarkedYAMLError as exc:
            if exc.problem != _LIBYAML_ESCAPE or not _SURROGATE_ESCAPE.search(yaml_text):
                raise
            try:
                value = yaml.load(yaml_text, Loader=_PyFrontMatterLoader)
            except (yaml.YAMLError, ValueError):  # \\U00110000 and the like
                raise exc from None
        if _SURROGATE_ESCAPE.search(yaml_text):
            value = _join_surrogates(path, value, yaml_text, None, first_line)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # An error found at the end of the text belongs to its last line.
        line = min(mark.line, yaml_text.count("\n")) + first_line if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # libyaml's own, higher limit (PyYAML >= 6.0.4)
            problem = NESTING_REASON
        raise ParseError(path, f"invalid YAML: {problem}", line) from None
    except yaml.YAMLError as exc:
        raise ParseError(path, f"invalid YAML: {exc}") from None
    except RecursionError:  # the pure-Python composer recurses before our check runs
        raise ParseError(path, f"invalid YAML: {NESTING_REASON}") from None
    except (ValueError, ArithmeticError):  # PyYAML building a number ("0x_", 5,000 digits)
        raise ParseError(path, f"invalid YAML: {NUMBER_REASON}") from None
    return value


def check_expansion(path: str, value: Any, limit: int = MAX_YAML_VALUES) -> None:
    """Refuse values whose aliases expand beyond ``limit`` items (a "billion laughs")."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(value, False)]
    open_ids: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        if not isinstance(node, dict | list):
            continue
        key = id(node)
        children = list(node.values()) if isinstance(node, dict) else node
        if children_done:
            open_ids.discard(key)
            total = 1 + sum(sizes.get(id(c), 1) for c in children)
            if total > limit:
                raise ParseError(path, f"YAML aliases expand to more than {limit:,} values")
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in open_ids:
            raise ParseError(path, "YAML alias refers to itself")
        open_ids.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if isinstance(c, dict | list))


def _load_json(path: str, text: str, line: int | None) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for k, v in pairs:
            if k in obj:
                raise ParseError(path, f"duplicate key {k!r}", line)
            obj[k] = v
        return obj

    try:
        value = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        where = line if line is not None else exc.lineno
        raise ParseError(path, f"invalid JSON: {exc.msg} (column {exc.colno})", where) from None
    except RecursionError:
        raise ParseError(path, f"invalid JSON: {NESTING_REASON}", line) from None
    _check_value_depth(path, value, line)
    if _SURROGATE_ESCAPE.search(text):  # JSON joins pairs itself, and keeps lone halves
        value = _join_surrogates(path, value, text, line)
    return value


# --- validating records ------------------------------------------------------------------


def describe(value: Any) -> str:
    """How a wrongly typed value is named in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class _Fields:
    """Typed access to one mapping, raising ParseError with a field prefix."""

    def __init__(self, data: dict[Any, Any], path: str, line: int | None, prefix: str = ""):
        self.data, self.path, self.line, self.prefix = data, path, line, prefix

    def fail(self, reason: str) -> ParseError:
        return ParseError(self.path, f"{self.prefix}{reason}", self.line)

    def title(self) -> str:
        if "title" not in self.data:
            raise self.fail("missing title")
        value = self.data["title"]
        if value is None or (isinstance(value, str) and not value.strip()):
            raise self.fail("title is empty")
        if not isinstance(value, str):
            raise self.fail(f"title must be text, not {describe(value)}")
        return " ".join(value.split())

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if type(value) is str:
            return value.strip()
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(f"{key} must be text, not {describe(value)}")
        return str(value).strip()

    def number(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise self.fail(f"{key} must be a number, not {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"{key} must be a number, not {describe(value)}")
        if not math.isfinite(value):
            raise self.fail(f"{key} must be a finite number")
        return float(value)

    def flag(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self.fail(f"{key} must be true or false, not {describe(value)}")

    def when(self, key: str = "publishedDateTime") -> datetime | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.fail(f"{key} must be an ISO 8601 date-time, not {describe(value)}")
        try:
            return parse_datetime(value)
        except ValueError as exc:
            raise self.fail(f"{key} {exc}") from None

    def url(self, key: str) -> str:
        value = self.text(key)
        if value and not is_url(value):
            raise self.fail(f"{key} is not a URL: {value[:80]!r}")
        return value

    def provider(self) -> tuple[str, str]:
        value = self.data.get("provider")
        if value is None:
            return "", ""
        if not isinstance(value, dict):
            raise self.fail(
                f"provider must be a mapping with name and domain, not {describe(value)}"
            )
        sub = _Fields(value, self.path, self.line, f"{self.prefix}provider.")
        return " ".join(sub.text("name").split()), normalize_domain(sub.text("domain"))

    def string_list(self, key: str) -> list[str]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{key} must be a list, not {describe(value)}")
        out: list[str] = []
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise self.fail(f"{key}[{i}] must be text, not {describe(item)}")
            text = " ".join(str(item).split())
            if text and text not in out:
                out.append(text)
        return out

    def list_of_mappings(self, key: str) -> list[dict[Any, Any]]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{key} must be a list, not {describe(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(f"{key}[{i}] must be a mapping, not {describe(item)}")
        return value


def article_from_mapping(data: Any, path: str, line: int | None = None) -> Article:
    """Validate one article mapping (from YAML or JSON) and build an Article."""
    if not isinstance(data, dict):
        raise ParseError(path, f"expected an article mapping, found {describe(data)}", line)
    f = _Fields(data, path, line)
    provider, domain = f.provider()
    article = Article(
        path=path,
        line=line,
        title=f.title(),
        excerpt=f.text("excerpt"),
        body=f.text("body"),
        topics=f.string_list("topics"),
        provider=provider,
        domain=domain,
        category=f.text("category"),
        type=f.text("type"),
        published=f.when(),
        quality=f.number("quality"),
        heat=f.number("heat"),
        is_published=f.flag("published"),
        web_url=f.url("webUrl"),
        original_url=f.url("originalUrl"),
        image_count=len(f.list_of_mappings("images")),
    )
    for i, entry in enumerate(f.list_of_mappings("related")):
        r = _Fields(entry, path, line, f"related[{i}]: ")
        rprovider, rdomain = r.provider()
        article.related.append(
            RelatedEntry(
                title=r.title(),
                excerpt=r.text("excerpt"),
                provider=rprovider,
                domain=rdomain,
                published=r.when(),
                url=r.url("webUrl") or r.url("originalUrl"),
                type=r.text("type"),
                quality=r.number("quality"),
                image_count=len(r.list_of_mappings("images")),
            )
        )
    return article


# --- values --------------------------------------------------------------------------------

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_LONG_YEAR = re.compile(r"[+-]?\d{5,}-")


def parse_datetime(text: str) -> datetime:
    """Parse an ISO 8601 date-time that names its timezone; return it in UTC.

    A bare date (``2024-03-05``) is taken as midnight UTC. Raises ValueError with the
    reason, worded to follow the field name.
    """
    s = text.strip()
    if _LONG_YEAR.match(s) or s.startswith("0000-"):
        raise ValueError(f"year is out of range (1 to 9999): {text!r}")
    try:
        if _DATE_ONLY.fullmatch(s):
            return datetime.fromisoformat(s).replace(tzinfo=UTC)
        value = datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"is not an ISO 8601 date-time: {text[:60]!r}") from None
    if value.tzinfo is None:
        raise ValueError(f"has no timezone: {text!r}")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"is out of range: {text!r}") from None


#: URLs that plainly are absolute http(s) URLs with a host (most are): no need to split.
_PLAIN_URL = re.compile(r"(?i:https?)://[A-Za-z0-9.-]+(?:[/?#][^\s]*)?")


def is_url(text: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    if _PLAIN_URL.fullmatch(text):
        return True
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname) and " " not in text


def normalize_domain(domain: str) -> str:
    """Lower-case a domain and drop a leading ``www.``."""
    d = domain.strip().lower().rstrip(".")
    return d[4:] if d.startswith("www.") else d


_TRACKING_PARAMS = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")
_AMP_PARAMS = {"amp", "outputtype", "amp_js_v", "usqp"}


@functools.lru_cache(maxsize=65536)
def url_key(url: str) -> str:
    """The identity of a URL: scheme, ``www.``, a trailing slash, AMP and CDN-AMP forms,
    fragments and tracking parameters do not count."""
    url = url.strip().replace("\\?", "?").replace("\\&", "&")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path
    if host.endswith(".cdn.ampproject.org"):
        # https://www-nola-com.cdn.ampproject.org/c/s/www.nola.com/news/x.amp.html
        m = re.match(r"/[a-z](?:/s)?/([^/]+)(/.*)?$", path)
        if m:
            host, path = m.group(1).lower(), m.group(2) or "/"
    host = normalize_domain(host)
    if path.endswith(".amp.html"):
        path = path[: -len(".amp.html")] + ".html"
    elif path.endswith("/amp") or path.endswith("/amp/"):
        path = path.rstrip("/")[: -len("/amp")]
    path = path.rstrip("/")
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in _AMP_PARAMS and not k.lower().startswith(_TRACKING_PARAMS)
    ]
    key = host + path
    if query:
        key += "?" + urlencode(sorted(query))
    return key


def item_id(key: str) -> str:
    """A short, stable id for an item identity key."""
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


def path_key(path: str, line: int | None) -> str:
    """The identity of an article that has no URL: its file (and line)."""
    resolved = str(Path(path).resolve())
    return f"file:{resolved}" if line is None else f"file:{resolved}:{line}"
