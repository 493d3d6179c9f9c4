"""Holding Ctrl-C back for a moment, so that it lands between steps of a run."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C back while the block runs: Whoosh's multi-process writer may fork a
    sub-writer inside ``add_document``, and a child inherits the blocked signal, so
    Ctrl-C reaches only this process, which stops the run cleanly; and a process pool
    used in such blocks never has Ctrl-C land inside its own locks."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
