"""Indexes built by earlier releases of the same schema version still open.

``tests/data/index-schema-6-before-whooshdb`` was built (from two of the bundled
samples) when the Whoosh schema module was ``searchidx.schema``. Whoosh keeps the schema
pickled in the index, its analyzers named by module, so such an index opens only while
that name can still be imported."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from searchidx.cli import cli

OLD = Path(__file__).parent / "data" / "index-schema-6-before-whooshdb"


def test_an_index_built_before_the_backend_moved_opens(tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(OLD, index)
    runner = CliRunner()
    found = runner.invoke(cli, ["--index", str(index), "search", "flood", "-f", "json"])
    assert found.exit_code == 0, found.output
    assert '"total": 2' in found.output
    checked = runner.invoke(cli, ["--index", str(index), "stats"])
    assert checked.exit_code == 0, checked.output
    assert "items:     4 (2 articles, 2 related)" in checked.output
