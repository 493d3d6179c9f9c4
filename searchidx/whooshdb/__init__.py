"""The Whoosh backend: the only part of searchidx that imports Whoosh.

- :mod:`~searchidx.whooshdb.schema`: analyzers and the schema of :mod:`searchidx.fields`;
- :mod:`~searchidx.whooshdb.query`: the query language, filters, ranking, exact totals;
- :mod:`~searchidx.whooshdb.snapshot`: one committed state of an index, read through
  the :class:`searchidx.engine.Snapshot` protocol;
- :mod:`~searchidx.whooshdb.ranking`: queries of words and phrases ranked a block of
  postings at a time, as Whoosh ranks them;
- :mod:`~searchidx.whooshdb.bulk`: a segment's terms and postings read in bulk;
- :mod:`~searchidx.whooshdb.writing`: writing segments, in parallel for big builds.

Importing this package first imports, lightly, the modules of Whoosh that would bring
in much that searchidx never uses (:func:`import_lightly`).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import types
from collections.abc import Callable
from typing import Any


def _loader(name: str) -> Callable[[], types.ModuleType]:
    """A function that imports module ``name`` for real (in place of a stand-in)."""

    def load() -> types.ModuleType:
        found = sys.modules.get(name)
        if found is not None and not getattr(found, "__stand_in__", False):
            return found
        sys.modules.pop(name, None)
        return importlib.import_module(name)

    return load


def stand_in(name: str, **names: Any) -> types.ModuleType:
    """A module standing in for module ``name`` without importing it: it has ``names``,
    and any other of its names imports the real module and gives the real name."""
    load = _loader(name)

    def __getattr__(attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):  # the import system's questions
            raise AttributeError(attr)
        return getattr(load(), attr)

    module = types.ModuleType(name)
    module.__dict__.update(names, __stand_in__=True, __getattr__=__getattr__)
    # Where the real module is, for whatever asks (importlib.util.find_spec, pkgutil).
    module.__spec__ = importlib.util.find_spec(name)
    return module


def calling(name: str, attr: str) -> Callable[..., Any]:
    """A function that imports module ``name`` when first called and calls its
    ``attr``."""
    load = _loader(name)

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(load(), attr)(*args, **kwargs)

    return call


def _import_with(module: str, stand_ins: dict[str, types.ModuleType], keep: bool) -> None:
    """Import ``module`` with the stand-ins in place of the modules they stand for that
    are not imported yet; unless ``keep``, the stand-ins then go (a later import of
    those modules imports them for real)."""
    placed = [m for m in stand_ins if m not in sys.modules]
    for name in placed:
        sys.modules[name] = stand_ins[name]
    try:
        importlib.import_module(module)
    finally:
        if not keep:
            for name in placed:
                if sys.modules.get(name) is stand_ins[name]:
                    del sys.modules[name]


def import_lightly() -> None:
    """Import what Whoosh imports at start-up without what searchidx never uses: a
    search would otherwise import urllib.request (with http, email and ssl, for
    ``whoosh.compat.urlretrieve``), asyncio (for one check of ``cached_property``), and
    compile the regular expressions of English word forms (``whoosh.lang.morph_en``,
    for a query type the query language does not make). About a sixth of the start-up
    of ``searchidx search``. Each is imported for real if it is used after all."""
    if "whoosh.compat" not in sys.modules:
        request = stand_in("urllib.request", urlretrieve=calling("urllib.request", "urlretrieve"))
        _import_with("whoosh.compat", {"urllib.request": request}, keep=False)
    if "cached_property" not in sys.modules:
        # Whoosh's one cached property is a plain method: inspect answers as asyncio does.
        aio = stand_in("asyncio", iscoroutinefunction=inspect.iscoroutinefunction)
        _import_with("cached_property", {"asyncio": aio}, keep=False)
    if "whoosh.lang.morph_en" not in sys.modules:
        morph = stand_in(
            "whoosh.lang.morph_en", variations=calling("whoosh.lang.morph_en", "variations")
        )
        sys.modules["whoosh.lang.morph_en"] = morph  # until its first use


import_lightly()
