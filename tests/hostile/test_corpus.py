"""Replay the committed hostile corpus (files/ and cases.json) through the real CLI entry point:
every invocation ends in exit 0 with finite numbers, exit 2 (bad input) or exit 3 (does not fit)
with exactly one stderr line, never a traceback and never a hang (60 s per invocation)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .replay import invoke, problems

HERE = Path(__file__).parent
CASES = json.loads((HERE / "cases.json").read_text(encoding="utf-8"))


def _file_cases() -> list[tuple[str, list[str], int]]:
    out = []
    for f in sorted((HERE / "files").glob("*.json")):
        commands = CASES["model_commands"] if f.name.startswith("m-") else CASES["hardware_commands"]
        expected = CASES["files"].get(f.name, {})
        for name, template in commands.items():
            args = [str(f) if a == "{file}" else a for a in template]
            out.append((f"{f.name}:{name}", args, expected.get(name, CASES["default_exit"])))
    return out


FILE_CASES = _file_cases()


def test_the_corpus_covers_every_file_and_kind() -> None:
    files = list((HERE / "files").glob("*.json"))
    assert len(files) >= 30 and len(FILE_CASES) == sum(3 for _ in files)
    assert set(CASES["files"]) <= {f.name for f in files}


@pytest.mark.parametrize(("label", "args", "code"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_hostile_file(label: str, args: list[str], code: int) -> None:
    outcome = invoke(args)
    assert problems(outcome, [code], "--json" in args) == [], label


@pytest.mark.parametrize("case", CASES["args"], ids=[" ".join(c["args"])[:60] for c in CASES["args"]])
def test_hostile_arguments(case: dict) -> None:
    codes = case["exit"] if isinstance(case["exit"], list) else [case["exit"]]
    outcome = invoke(case["args"])
    assert problems(outcome, codes, "--json" in case["args"]) == [], case["args"]
