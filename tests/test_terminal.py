"""Colour and paging, run as the real command on a pseudo-terminal and in a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from searchidx.terminal import DEFAULT_PAGER, pager_command, rows_needed
from tests.conftest import ROOT, SAMPLES

EXE = [sys.executable, "-m", "searchidx"]
PAGER_SCRIPT = """#!/bin/sh
{ echo "pager: $*"; echo "LESS=${LESS-unset}"; cat; } > "$PAGED_TO"
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("terminal") / "index")
    subprocess.run([*EXE, "--index", path, "index", str(SAMPLES)], check=True, capture_output=True)
    return path


@pytest.fixture
def pager(tmp_path: Path) -> tuple[Path, Path]:
    """A pager that writes what it is given (and its arguments) to a file."""
    script = tmp_path / "fake-pager"
    script.write_text(PAGER_SCRIPT)
    script.chmod(0o755)
    return script, tmp_path / "paged.txt"


def environment(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"NO_COLOR", "PAGER", "SEARCHIDX_PAGER", "LESS", "TERM"}
    }
    return {**env, "TERM": "xterm", "LINES": "10", "COLUMNS": "100", **extra}


def on_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run searchidx with a pseudo-terminal as stdin, stdout and stderr; return what
    the terminal showed."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [*EXE, *args], stdin=child, stdout=child, stderr=child, env=env, cwd=ROOT
    )
    os.close(child)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal is gone: the command has ended
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    assert proc.wait() == 0, shown
    return shown.decode("utf-8", "replace").replace("\r\n", "\n")


def test_long_text_opens_the_pager_on_a_terminal(index: str, pager: tuple[Path, Path]) -> None:
    script, paged = pager
    env = environment(SEARCHIDX_PAGER=f"{script} --from-env", PAGED_TO=str(paged), PAGER="false")
    shown = on_terminal(["--index", index, "search", "flood barrier"], env)
    text = paged.read_text()
    assert text.startswith("pager: --from-env\nLESS=unset\n\x1b[1m7 results for 'flood barrier'")
    assert "\x1b[1;33mflood\x1b[0m" in text  # colour kept for the pager
    assert "7 results" not in shown


def test_pager_falls_back_to_pager_then_less(index: str, pager: tuple[Path, Path]) -> None:
    script, paged = pager
    env = environment(PAGER=str(script), PAGED_TO=str(paged), LINES="5")
    on_terminal(["--index", index, "stats"], env)
    assert paged.read_text().startswith("pager: \nLESS=unset\nindex:")


def test_default_pager_is_less_frx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEARCHIDX_PAGER", raising=False)
    monkeypatch.delenv("PAGER", raising=False)
    assert pager_command() == DEFAULT_PAGER == "less -FRX"
    monkeypatch.setenv("PAGER", "more")
    assert pager_command() == "more"
    monkeypatch.setenv("SEARCHIDX_PAGER", "cat")
    assert pager_command() is None
    monkeypatch.setenv("SEARCHIDX_PAGER", "")
    assert pager_command() is None


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["--no-pager", "search", "flood barrier"], {}),  # asked not to
        (["search", "flood", "barrier", "--limit", "1"], {}),  # fits on the screen
        (["search", "flood barrier"], {"LINES": "200"}),  # a taller terminal
        (["search", "flood barrier", "--format", "json"], {}),  # not text
    ],
)
def test_no_pager(
    index: str, pager: tuple[Path, Path], args: list[str], extra: dict[str, str]
) -> None:
    script, paged = pager
    env = environment(SEARCHIDX_PAGER=str(script), PAGED_TO=str(paged), **extra)
    shown = on_terminal(["--index", index, *args], env)
    assert not paged.exists()
    assert "flood" in shown


def test_no_pager_in_a_pipe(index: str, pager: tuple[Path, Path]) -> None:
    script, paged = pager
    env = environment(SEARCHIDX_PAGER=str(script), PAGED_TO=str(paged))
    proc = subprocess.run(
        [*EXE, "--index", index, "search", "flood barrier"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("7 results for 'flood barrier'")
    assert not paged.exists()


@pytest.mark.parametrize(
    ("option", "no_color", "coloured"),
    [
        ([], "", True),
        ([], "1", False),  # NO_COLOR wins over auto
        (["--color", "auto"], "1", False),
        (["--color", "never"], "", False),
        (["--color", "always"], "1", True),  # an explicit choice wins over NO_COLOR
    ],
)
def test_color_on_a_terminal(index: str, option: list[str], no_color: str, coloured: bool) -> None:
    env = environment(**({"NO_COLOR": no_color} if no_color else {}))
    shown = on_terminal([*option, "--index", index, "--no-pager", "search", "flood"], env)
    assert ("\x1b[1;33mflood\x1b[0m" in shown) is coloured
    assert "flood" in shown


@pytest.mark.parametrize(
    ("mode", "coloured"), [("auto", False), ("never", False), ("always", True)]
)
def test_color_in_a_pipe(index: str, mode: str, coloured: bool) -> None:
    proc = subprocess.run(
        [*EXE, "--color", mode, "--index", index, "search", "flood"],
        capture_output=True,
        text=True,
        env=environment(),
    )
    assert ("\x1b[1;33mflood\x1b[0m" in proc.stdout) is coloured


def test_always_keeps_colour_through_a_pager(index: str, pager: tuple[Path, Path]) -> None:
    script, paged = pager
    env = environment(SEARCHIDX_PAGER=str(script), PAGED_TO=str(paged), NO_COLOR="1")
    on_terminal(["--color", "always", "--index", index, "facets", "month"], env)
    assert "\x1b[2mmonth    count   share\x1b[0m" in paged.read_text()
    on_terminal(["--index", index, "facets", "month"], env)
    assert "\x1b[" not in paged.read_text()


def test_rows_needed_counts_wrapped_lines() -> None:
    assert rows_needed("a\nb", 80) == 2
    assert rows_needed("x" * 81, 80) == 2
    assert rows_needed("\x1b[1m" + "x" * 80 + "\x1b[0m\n", 80) == 2  # escapes take no room
