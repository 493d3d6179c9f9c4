"""The package's structure: Whoosh behind the backend, no import cycles, a light CLI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from searchidx.store import IndexDir
from searchidx.whooshdb.storage import create, open_live
from searchidx.whooshdb.writing import MPWRITER_PARTS, Writer, missing_parts
from tests.conftest import ROOT

PACKAGE = ROOT / "searchidx"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports at run time, at the top or inside functions
    (imports made for type checkers only are left out)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking_only(child):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                found.add(child.module)
                # ``from searchidx import options``: a module, not a name in one
                found.update(
                    f"{child.module}.{alias.name}"
                    for alias in child.names
                    if f"{child.module}.{alias.name}" in MODULES
                )
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def test_whoosh_is_imported_by_the_backend_only() -> None:
    outside = {
        name
        for name, path in MODULES.items()
        if not name.startswith("searchidx.whooshdb")
        and any(m == "whoosh" or m.startswith("whoosh.") for m in imports(path))
    }
    inside = {
        name
        for name, path in MODULES.items()
        if any(m == "whoosh" or m.startswith("whoosh.") for m in imports(path))
    }
    assert outside == set()
    assert "searchidx.whooshdb.schema" in inside  # the walk does see Whoosh's imports


def test_no_import_cycles() -> None:
    graph = {
        name: {m for m in imports(path) if m in MODULES and m != name}
        for name, path in MODULES.items()
    }
    # A package's __init__ runs before its modules; importing the package is no cycle.
    for name in graph:
        graph[name] -= {p for p in MODULES if name.startswith(p + ".")}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert cycles == []
    assert "searchidx.engine" in graph["searchidx.searching"]  # edges are found


@pytest.mark.parametrize(
    "code",
    [
        "import searchidx.cli",
        "from searchidx.cli import cli; cli(['--help'], standalone_mode=False)",
    ],
    ids=["import", "help"],
)
def test_the_command_line_starts_without_whoosh(code: str) -> None:
    check = "import sys; print(sorted({m.split('.')[0] for m in sys.modules} & {'whoosh', 'yaml', 'rapidfuzz'}))"
    proc = subprocess.run(
        [sys.executable, "-c", f"{code}\n{check}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.splitlines()[-1] == "[]"


def test_parallel_writing_finds_what_it_uses_in_the_installed_whoosh(tmp_path: Path) -> None:
    ixdir = IndexDir(str(tmp_path / "index"))
    data_dir = ixdir.new_data_dir({}, create)
    writer = Writer(ixdir, data_dir, fresh=True)
    writer.begin(procs=2)
    try:
        assert writer.batch_folder is not None
        assert missing_parts(writer._w) == []
    finally:
        writer.abandon()
    assert missing_parts(object()) == list(MPWRITER_PARTS)


def test_the_per_document_reader_has_what_writing_replaces_and_uses(sample_index: str) -> None:
    from searchidx.whooshdb.writing import PERDOC_PARTS, _cached_column_reader

    with open_live(IndexDir(sample_index)).reader() as reader:
        leaf = reader.leaf_readers()[0][0]
        perdoc = leaf._perdoc
        assert [p for p in PERDOC_PARTS if not hasattr(perdoc, p)] == []
        assert type(perdoc)._cached_reader is _cached_column_reader


def _run(code: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return proc.stdout.splitlines()


def test_a_search_imports_no_urllib_asyncio_or_english_word_forms(sample_index: str) -> None:
    code = (
        "import sys\n"
        "from searchidx.searching import search\n"
        f"print(search({sample_index!r}, 'harbor flood~').total > 0)\n"
        "morph = sys.modules['whoosh.lang.morph_en']\n"
        "print(sorted(m for m in ('urllib.request', 'asyncio', 'email') if m in sys.modules))\n"
        "print(getattr(morph, '__stand_in__', False), 'whoosh.query.terms' in sys.modules)\n"
        "import importlib.util\n"
        "print(importlib.util.find_spec('whoosh.lang.morph_en').origin.endswith('morph_en.py'))\n"
    )
    assert _run(code) == ["True", "[]", "True True", "True"]


def test_what_whoosh_was_imported_without_is_imported_for_real_when_used() -> None:
    code = (
        "import sys\n"
        "import searchidx.whooshdb.snapshot\n"
        "import whoosh.compat\n"
        "from whoosh.lang.morph_en import variations\n"
        "print(sorted(variations('render'))[:3])\n"
        "import whoosh.lang.morph_en as morph\n"
        "print(hasattr(morph, '_partitions'), getattr(morph, '__stand_in__', False))\n"
        "import urllib.request\n"
        "print(callable(urllib.request.urlopen), urllib.request.__file__.endswith('request.py'))\n"
        "print(whoosh.compat.urlretrieve.__name__, callable(whoosh.compat.urlretrieve))\n"
        "import asyncio\n"
        "print(asyncio.run(asyncio.sleep(0, 'ran')))\n"
    )
    assert _run(code) == [
        "['rend', 'rende', 'rended']",
        "True False",
        "True True",
        "call True",
        "ran",
    ]


def test_a_wheel_holds_every_module_and_the_samples(tmp_path: Path) -> None:
    """What ``pip install`` (not editable) installs: every file of the package, its
    subpackages and the bundled samples (a wheel of the package alone once installed a
    command that failed on ``searchidx.whooshdb``)."""
    import shutil
    import zipfile

    source = tmp_path / "source"
    shutil.copytree(
        ROOT / "searchidx", source / "searchidx", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    build = "import sys, setuptools.build_meta as b; b.build_wheel(sys.argv[1])"
    done = subprocess.run(
        [sys.executable, "-c", build, str(tmp_path / "dist")],
        cwd=source,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("searchidx-*.whl")
    files = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "searchidx").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {"searchidx/whooshdb/writing.py", "searchidx/samples/032-bay-chronicle.rss"} <= files
    assert files - set(zipfile.ZipFile(wheel).namelist()) == set()
