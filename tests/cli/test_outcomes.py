"""The outcome convention (README, "Exit codes") for `serve` and `explore`, through the installed entry
point: 0 with "feasible": true; 2 for bad input; 3 with {"feasible": false, "reason": ...} for a valid
request whose answer is "does not fit / infeasible"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.entry import one_model_space, run_in_one_interpreter

NOTHING_FITS = one_model_space("nothing-fits", "llama-3.1-70b")
SIM = ["serve", "simulate", "--json"]
# label -> (arguments, exit code, text the stderr line holds)
CASES: dict[str, tuple[list[str], int, str]] = {
    "weights leave no KV memory": ([*SIM, "--model", "llama-3.1-70b", "--rate", "5"], 3, "no KV memory"),
    "request beyond the KV pool": ([*SIM, "--rate", "5", "--num-gpu-blocks", "10", "--input-len", "1000"], 3,
                                   "KV blocks"),
    "overloaded": ([*SIM, "--max-num-seqs", "16", "--input-len", "1000", "--output-len", "100", "--rate", "200",
                    "--duration", "3000"], 3, "overloaded"),
    "no rate meets the SLO": (["serve", "capacity", "--num-requests", "50", "--slo-tpot-p99", "0.0001", "--json"], 3,
                              "no arrival rate"),
    "beyond the context is bad input": ([*SIM, "--rate", "5", "--input-len", "200000"], 2, "context"),
    "nothing in the space fits": (["explore", "--space", "{tmp}/none.toml", "--out", "{tmp}/none.parquet", "--json"],
                                  3, "every point of the space is infeasible"),
    "fits": ([*SIM, "--rate", "5", "--num-requests", "20"], 0, ""),
    "a sweep is a curve": (["serve", "sweep", "--rates", "1,400", "--num-requests", "200", "--max-num-seqs", "8",
                            "--json"], 0, ""),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("outcomes")
    (tmp / "none.toml").write_text(NOTHING_FITS)
    return dict(zip(CASES, run_in_one_interpreter([args for args, _, _ in CASES.values()], tmp), strict=True))


@pytest.mark.parametrize("label", list(CASES))
def test_exit_code_stderr_and_json(label: str, outcomes: dict) -> None:
    _, code, needle = CASES[label]
    o = outcomes[label]
    assert not o["crash"], o["crash"]
    assert o["code"] == code, (o["code"], o["stderr"])
    lines = [ln for ln in o["stderr"].splitlines() if ln.strip()]
    if code == 0:
        assert lines == [] and json.loads(o["stdout"])["feasible"] is True
        return
    assert len(lines) == 1 and needle in " ".join(lines[0].split()), o["stderr"]
    if code == 2:
        assert lines[0].startswith("error:") and o["stdout"] == ""
        return
    assert lines[0].startswith("does not fit:")
    doc = json.loads(o["stdout"])
    assert doc["feasible"] is False and needle in doc["reason"]


def test_overload_and_infeasible_space_add_their_fields(outcomes: dict) -> None:
    over = json.loads(outcomes["overloaded"]["stdout"])
    assert over["capacity_rps"] > 0 and f"{over['capacity_rps']:.3g}" in over["reason"]
    space = json.loads(outcomes["nothing in the space fits"]["stdout"])
    assert space["points"] == 2 and space["reasons"] == {"model_does_not_fit": 2}
    assert Path(space["out"]).is_file()  # every point is still written, with its reason


def test_a_sweep_keeps_overloaded_rates_as_rows(outcomes: dict) -> None:
    points = json.loads(outcomes["a sweep is a curve"]["stdout"])["points"]
    assert [p["overloaded"] for p in points] == [False, True]
    assert points[1]["capacity_rps"] > 0
