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


COMMANDS = {"m-": "model_commands", "h-": "hardware_commands", "t-": "trace_commands", "s-": "scenario_commands"}


def _files() -> list[Path]:
    return sorted(f for f in (HERE / "files").iterdir() if f.is_file())


def _file_cases() -> list[tuple[str, list[str], int]]:
    out = []
    for f in _files():
        commands = CASES[COMMANDS[f.name[:2]]]
        expected = CASES["files"].get(f.name, {})
        for name, template in commands.items():
            args = [str(f) if a == "{file}" else a for a in template]
            out.append((f"{f.name}:{name}", args, expected.get(name, CASES["default_exit"])))
    return out


FILE_CASES = _file_cases()


def test_the_corpus_covers_every_file_and_kind() -> None:
    files = _files()
    assert all(f.name[:2] in COMMANDS for f in files), [f.name for f in files if f.name[:2] not in COMMANDS]
    assert len(files) >= 70 and len(FILE_CASES) == sum(len(CASES[COMMANDS[f.name[:2]]]) for f in files)
    assert {f.name[:2] for f in files} == set(COMMANDS)
    assert set(CASES["files"]) | set(CASES["stderr_contains"]) <= {f.name for f in files}


@pytest.mark.parametrize(("label", "args", "code"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_hostile_file(label: str, args: list[str], code: int) -> None:
    outcome = invoke(args)
    assert problems(outcome, [code], "--json" in args) == [], label
    needle = CASES["stderr_contains"].get(label.split(":")[0])
    if needle is not None:
        assert needle in " ".join(outcome.stderr.split()), (label, outcome.stderr)


@pytest.mark.parametrize("case", CASES["args"], ids=[" ".join(c["args"])[:60] for c in CASES["args"]])
def test_hostile_arguments(case: dict) -> None:
    codes = case["exit"] if isinstance(case["exit"], list) else [case["exit"]]
    outcome = invoke(case["args"])
    assert problems(outcome, codes, "--json" in case["args"]) == [], case["args"]
    if "stderr" in case:  # the line names what to fix
        assert case["stderr"] in outcome.stderr, (case["args"], outcome.stderr)
