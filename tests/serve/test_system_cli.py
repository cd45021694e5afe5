"""`coscale serve system`: a shipped example end to end as JSON, and bad scenarios as one line, exit 2
(two through the CLI; every case in-process as the CoscaleError the CLI turns into that line)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from coscale.errors import CoscaleError
from coscale.serve.system.reader import read_scenario
from coscale.serve.system.runner import run_system


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coscale", "serve", "system", *args], capture_output=True, text=True,
                          timeout=300)


def test_agent_example_json() -> None:
    r = run("--scenario", "agent", "--concurrency", "4", "--num-requests", "6", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    g = d["graphs"]["agent_task"]
    assert d["mode"] == "closed" and g["completed"] == 6 and g["binding_stage"] == "loop"
    assert g["e2e_s"]["p99"] >= g["e2e_s"]["p50"] > 0
    assert d["pools"]["llm"]["requests"] == 6 * 8


POOL = '[pools.llm]\nmodel = "llama-3.1-8b"\nhardware = "h100-sxm"\n'
RUN = "[run]\nrate = 1.0\nnum_requests = 2\n"
BAD = {
    "cycle": RUN + POOL + '[[graphs]]\nname = "g"\n[[graphs.stages]]\nname = "a"\nkind = "generate"\npool = "llm"\n'
    'after = ["b"]\n[[graphs.stages]]\nname = "b"\nkind = "generate"\npool = "llm"\n',
    "no pool serves": RUN + POOL + '[[graphs]]\nname = "g"\n[[graphs.stages]]\nname = "a"\nkind = "encode"\n'
    'model = "bge-large-en-v1.5"\n',
    "leaves no KV memory": RUN + '[pools.big]\nmodel = "llama-3.1-405b"\nhardware = "l4"\n[[graphs]]\nname = "g"\n'
    '[[graphs.stages]]\nname = "a"\nkind = "generate"\npool = "big"\n',
    "unknown kind": RUN + POOL + '[[graphs]]\nname = "g"\n[[graphs.stages]]\nname = "a"\nkind = "rerank"\n'
    'pool = "llm"\n',
    "no audio encoder": RUN + POOL + '[[graphs]]\nname = "g"\n[[graphs.stages]]\nname = "a"\nkind = "asr"\n'
    'pool = "llm"\n',
    "is a delay stage, which does not read pool": RUN + POOL + '[[graphs]]\nname = "g"\n[[graphs.stages]]\n'
    'name = "a"\nkind = "delay"\nseconds = 0.1\npool = "llm"\n',
    # named by the pool's keys, not by the aggregated CLI's --gpus / --tp
    "h100-sxm): gpus=3 is not divisible": RUN + POOL + 'gpus = 3\ntp = 2\n[[graphs]]\nname = "g"\n'
    '[[graphs.stages]]\nname = "a"\nkind = "generate"\npool = "llm"\n',
}


@pytest.mark.parametrize("problem", sorted(BAD))
def test_bad_scenarios_are_one_line_errors(problem: str, tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text(BAD[problem])
    with pytest.raises(CoscaleError) as e:
        run_system(read_scenario(f))
    assert problem in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("problem", ["cycle", "leaves no KV memory"])
def test_bad_scenarios_exit_2(problem: str, tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text(BAD[problem])
    r = run("--scenario", str(f))
    assert r.returncode == 2, r.stderr
    assert problem in " ".join(r.stderr.split()) and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
