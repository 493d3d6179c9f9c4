"""Shell completion of values from the index: provider names, domains, topics, ids.

Values come from the terms of the index's key fields (``provider_name``, ``domain``,
``topic``, ``id``), never from stored documents, so completing is quick on a big index.
Whatever goes wrong (no index yet, a damaged one) completes nothing: completion must
never print an error in the middle of a command line.
"""

from __future__ import annotations

import os

from searchidx.fields import provider_key

#: Ids completed at most; a shorter prefix completes nothing (type more of the id).
MAX_IDS = 1000
#: Ids matching fewer than this come with their titles (shells that show them).
TITLED_IDS = 50

#: Which field's terms complete which option.
FIELDS = {"providers": "provider_name", "domains": "domain", "topics": "topic"}


def values(index_path: str, fieldname: str, prefix: str) -> list[str]:
    """The field's values starting with ``prefix``, compared case-insensitively."""
    from searchidx.store import IndexDir
    from searchidx.whooshdb.terms import terms_with_prefix

    folded = prefix.casefold()
    try:
        found = {
            value
            for value in terms_with_prefix(IndexDir(index_path).data_dir(), fieldname, prefix)
            if value.casefold().startswith(folded)
        }
    except Exception:
        return []
    # One spelling of each name as filters compare them (case and spacing aside).
    out: dict[str, str] = {}
    for value in sorted(found, key=lambda v: (v.casefold(), v)):
        out.setdefault(provider_key(value), value)
    return list(out.values())


def ids(index_path: str, prefix: str) -> list[tuple[str, str]]:
    """Item ids starting with ``prefix``, with titles when there are few of them."""
    from searchidx.store import IndexDir
    from searchidx.whooshdb.terms import ids_with_prefix

    try:
        return ids_with_prefix(IndexDir(index_path).data_dir(), prefix, MAX_IDS, TITLED_IDS)
    except Exception:
        return []


def shell_word(value: str) -> str:
    """``value`` as bash must receive it to insert it as one word: click's bash script
    reads each completion with ``read`` (which drops one level of backslashes) and
    inserts it as is, so a space or quote is escaped twice. Other shells quote values
    themselves."""
    if not os.environ.get("_SEARCHIDX_COMPLETE", "").startswith("bash"):
        return value
    special = set(" \t'\"\\$`!&;|<>()*?[]{}#~")
    escaped = "".join("\\" + ch if ch in special else ch for ch in value)
    return escaped.replace("\\", "\\\\")
