"""Completion of option values and ids from the index, down to bash's own script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from searchidx import completion
from searchidx.completion import ids, shell_word, values
from searchidx.indexing import update_index
from tests.conftest import article, front_matter

SEARCHIDX = str(Path(sys.executable).parent / "searchidx")


def test_provider_names_by_prefix_any_case(sample_index: str) -> None:
    assert values(sample_index, "provider_name", "harb") == [
        "Harbor Wire",
        "Harbor Wire radio bulletin",
    ]
    assert values(sample_index, "provider_name", "COA") == ["Coastal Daily"]  # and "coastal daily"
    everything = values(sample_index, "provider_name", "")
    assert len(everything) == 13 and everything[0] == "Bay Chronicle"  # as stats counts


def test_domains_topics_and_ids(sample_index: str) -> None:
    assert values(sample_index, "domain", "Pine") == ["pinecrestgazette.com"]
    assert values(sample_index, "topic", "l") == ["labor", "local government"]
    assert ids(sample_index, "6defd") == [
        ("6defd3839b06f588", "City council approves $40 million flood barrier plan")
    ]
    assert ids(sample_index, "zz") == []


def test_many_ids_come_without_titles_and_too_many_not_at_all(
    sample_index: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = ids(sample_index, "")
    assert len(every) == 50 and all(title == "" for _, title in every)
    monkeypatch.setattr(completion, "MAX_IDS", 49)
    assert ids(sample_index, "") == []


def test_no_index_completes_nothing(tmp_path: Path) -> None:
    assert values(str(tmp_path / "none"), "provider_name", "") == []
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "CURRENT").write_text("garbage")
    assert values(str(tmp_path / "junk"), "domain", "") == []
    assert ids(str(tmp_path / "junk"), "") == []


def test_updated_index_completes_every_segment(tmp_path: Path) -> None:
    corpus, index = tmp_path / "c", str(tmp_path / "ix")
    corpus.mkdir()
    for n, name in enumerate(["Valley Tribune", "Vale Times", "valley  tribune"]):
        (corpus / f"{n}.md").write_text(
            front_matter(article(f"Story {n}", f"https://x.com/{n}", provider=name)),
            encoding="utf-8",
        )
        update_index(index, [str(corpus)], jobs=1)
    assert values(index, "provider_name", "val") == ["Vale Times", "Valley Tribune"]


def test_bash_words_are_escaped_for_clicks_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_SEARCHIDX_COMPLETE", "bash_complete")
    assert shell_word("Harbor Wire") == "Harbor\\\\ Wire"
    monkeypatch.setenv("_SEARCHIDX_COMPLETE", "zsh_complete")
    assert shell_word("Harbor Wire") == "Harbor Wire"


def bash_complete(words: list[str], env: dict[str, str] | None = None) -> list[str]:
    """Source the completion script searchidx prints for bash, complete the last of
    ``words`` as bash would, and return COMPREPLY."""
    import os

    script = subprocess.run(
        [SEARCHIDX],
        env={**os.environ, "_SEARCHIDX_COMPLETE": "bash_source"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "complete -o nosort -F _searchidx_completion searchidx" in script
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    program = (
        f"{script}\n"
        f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n"
        '_searchidx_completion searchidx\nprintf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    run_env = {
        **os.environ,
        "PATH": f"{Path(SEARCHIDX).parent}:{os.environ['PATH']}",
        **(env or {}),
    }
    proc = subprocess.run(["bash", "-c", program], env=run_env, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return proc.stdout.splitlines()


def test_bash_completes_provider_names(sample_index: str) -> None:
    reply = bash_complete(["searchidx", "--index", sample_index, "search", "--provider", "harb"])
    assert reply == ["Harbor\\ Wire", "Harbor\\ Wire\\ radio\\ bulletin"]
    after = ["searchidx", "search", "--index", sample_index, "--provider", "harb"]
    assert bash_complete(after, {"SEARCHIDX_INDEX": "/nonexistent"}) == reply
    # What bash inserts is one word on the command line.
    words = subprocess.run(
        ["bash", "-c", f'set -- {reply[0]}; echo "$#:$1"'], capture_output=True, text=True
    ).stdout
    assert words == "1:Harbor Wire\n"


def test_bash_completes_from_the_index_in_the_environment(sample_index: str) -> None:
    words = ["searchidx", "facets", "provider", "--domain", "valley"]
    assert bash_complete(words, {"SEARCHIDX_INDEX": sample_index}) == [
        "valleytribune.com",
        "valleytribune.net",
    ]
    assert bash_complete(["searchidx", "--index", sample_index, "show", "6defd"]) == [
        "6defd3839b06f588"
    ]
    assert bash_complete(["searchidx", "--index", sample_index, "search", "--topic", "tra"]) == [
        "transit"
    ]
