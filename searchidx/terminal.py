"""Paging text taller than the terminal, as git does.

 text output taller than the terminal goes through ``$SEARCHIDX_PAGER``, else
``$PAGER``, else ``less -FRX`` (quit if it fits, keep colours, leave the text on the
screen), when standard output is a terminal and ``--no-pager`` is not given. A pager
set to the empty string or ``cat`` means none. The paging itself is click's.
"""

from __future__ import annotations

import os
import shutil
import sys

import click

PAGER_ENV = "SEARCHIDX_PAGER"
DEFAULT_PAGER = "less -FRX"


def pager_command() -> str | None:
    """The pager to run, or None for none."""
    for name in (PAGER_ENV, "PAGER"):
        value = os.environ.get(name)
        if value is not None:
            return value.strip() if value.strip() not in ("", "cat") else None
    return DEFAULT_PAGER


def rows_needed(text: str, columns: int) -> int:
    """Screen rows ``text`` takes on a terminal ``columns`` wide (long lines wrap)."""
    width = max(columns, 1)
    return sum(max(1, -(-click.unstyle(line).__len__() // width)) for line in text.split("\n"))


def echo_paged(text: str, color: bool, paging: bool = True) -> None:
    """Print ``text`` and a newline, through the pager when ``paging``, standard output
    is a terminal and the text is taller than it."""
    command = pager_command() if paging else None
    if command is not None and sys.stdout.isatty():
        size = shutil.get_terminal_size()
        if rows_needed(text, size.columns) >= size.lines:
            saved = os.environ.get("PAGER")
            os.environ["PAGER"] = command  # what click's pager runs
            try:
                click.echo_via_pager(text, color=color)
            finally:
                if saved is None:
                    del os.environ["PAGER"]
                else:
                    os.environ["PAGER"] = saved
            return
    click.echo(text, color=color)
