"""Progress of long work that commands start without asking for it, such as grouping
an index's stories the first time a command needs them.

The core reports through :data:`grouping`, a context variable holding a callback (or
None: nobody is told); the command line sets it when standard error is a terminal and
draws the reports there. Nothing here prints."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

#: What a report counts: items read (0 of them before the reading, every one after),
#: or steps done (blocks of days and boundaries between them, one by one; the last
#: report of a grouping says every step is done).
ITEMS_READ = "items read"
STEPS_DONE = "steps done"
#: Told ``(done, total, what)`` as stories are grouped, ``what`` one of the above.
Report = Callable[[int, int, str], None]
grouping: ContextVar[Report | None] = ContextVar("grouping", default=None)


def report(done: int, total: int, what: str) -> None:
    """Tell whoever listens (see :data:`grouping`) how far grouping is."""
    listener = grouping.get()
    if listener is not None:
        listener(done, total, what)
