"""Every command of `cli/app.py`, run through the installed `coscale` entry point with nothing
re-wired: removing a command's wiring (or pointing it at the wrong function) fails here.

Each case runs the real command cheaply: a small answer with a key only that command prints, or,
where the cheapest real run is minutes long (the lab's training, the report, a GPU calibration), a
bad input that only that command's own validation reports. A typer "No such command" is exit 2
too, so those cases match the command's own message, never just the exit code.
"""

from __future__ import annotations

import json

import pytest
import typer.main
from tests.cli.entry import one_model_space, run_in_one_interpreter

from coscale.cli.app import app

WORKLOAD = 'model = "llama-3.1-8b"\nprecision = "bf16"\ninput_len = 1024\noutput_len = 256\nbatch = 32\n'
SPACE = one_model_space("wiring", "llama-3.1-8b")
TRAIN = ["--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--gpus", "8", "--global-batch", "64",
         "--seq-len", "2048", "--json"]


# command path -> (arguments, exit code, what its output must hold: a JSON key or an error text);
# "{tmp}" is a per-run folder holding w.toml and space.toml
CASES: dict[tuple[str, ...], tuple[list[str], int, str]] = {
    ("list", "models"): (["list", "models", "--json"], 0, "key:models"),
    ("list", "hardware"): (["list", "hardware", "--json"], 0, "key:hardware"),
    ("describe",): (["describe", "--model", "nemotron-h-8b", "--json"], 0, "key:ssm_state_format"),
    ("predict", "inference"): (["predict", "inference", "--json"], 0, "key:ttft_s"),
    ("predict", "train"): (["predict", "train", *TRAIN], 0, "key:step_time_s"),
    ("plan", "train"): (["plan", "train", *TRAIN[:-1], "--top", "1", "--json"], 0, "key:fitting"),
    ("validate",): (["validate", "--no-serving", "--json"], 0, "key:codesign_not_reproduced"),
    ("feedback",): (["feedback", "--workload", "{tmp}/w.toml", "--json"], 0, "key:objective"),
    ("calibrate",): (["calibrate", "--device", "cpu"], 2, "text:--device cpu needs --hardware"),
    ("report",): (["report", "--scenario", "{tmp}/none.toml"], 2, "text:scenario file"),
    ("numerics", "formats"): (["numerics", "formats", "--json"], 0, "key:formats"),
    ("numerics", "schemes"): (["numerics", "schemes", "--json"], 0, "key:schemes"),
    ("numerics", "error"): (["numerics", "error", "--scheme", "fp8_e4m3", "--n", "4096", "--json"], 0, "key:qsnr_db"),
    ("lab", "train"): (["lab", "train", "--preset", "nope"], 2, "text:unknown preset 'nope'"),
    ("lab", "compare"): (["lab", "compare", "--preset", "nope"], 2, "text:unknown preset 'nope'"),
    ("lab", "scaling"): (["lab", "scaling", "--widths", "64,abc"], 2, "text:--widths must be comma-separated integers"),
    ("lab", "recipes"): (["lab", "recipes", "--json"], 0, "key:recipes"),
    ("lab", "describe"): (["lab", "describe", "--json"], 0, "key:preset"),
    ("explore",): (["explore", "--space", "{tmp}/space.toml", "--out", "{tmp}/r.parquet", "--json"], 0,
                   "key:feasible_points"),
    ("explore", "query"): (["explore", "query", "{tmp}/r.parquet", "SELECT count(*) AS n FROM results", "--json"], 0,
                           "key:rows"),
    ("explore", "pareto"): (["explore", "pareto", "{tmp}/r.parquet", "--objectives",
                             "throughput_per_gpu,tokens_per_s_per_user", "--json"], 0, "key:front"),
    ("serve", "simulate"): (["serve", "simulate", "--rate", "5", "--num-requests", "20", "--json"], 0, "key:ttft_s"),
    ("serve", "capacity"): (["serve", "capacity", "--num-requests", "300", "--json"], 0, "key:max_rate_rps"),
    ("serve", "sweep"): (["serve", "sweep", "--rates", "1,2", "--num-requests", "20", "--json"], 0, "key:points"),
    ("serve", "compare"): (["serve", "compare", "--gpus", "2", "--kv-link", "pigeon"], 2,
                           "text:unknown --kv-link 'pigeon'"),
    ("serve", "system"): (["serve", "system", "--scenario", "retrieval", "--num-requests", "20", "--json"], 0,
                          "key:graphs"),
}


def leaf_commands() -> set[tuple[str, ...]]:
    """Every runnable command path of the real app (a group with its own callback counts too)."""
    out: set[tuple[str, ...]] = set()

    def walk(cmd, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs is None or getattr(cmd, "invoke_without_command", False):
            out.add(path)
        for name, sub in (subs or {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return out


def test_every_command_of_the_app_has_a_wiring_case() -> None:
    assert leaf_commands() == set(CASES)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, ...], dict]:
    """All cases in one interpreter (driver.py), in CASES order (explore before its query and pareto)."""
    tmp = tmp_path_factory.mktemp("wiring")
    (tmp / "w.toml").write_text(WORKLOAD)
    (tmp / "space.toml").write_text(SPACE)
    return dict(zip(CASES, run_in_one_interpreter([args for args, _, _ in CASES.values()], tmp), strict=True))


@pytest.mark.parametrize("path", list(CASES), ids=" ".join)
def test_the_command_runs_through_the_entry_point(path: tuple[str, ...], outcomes: dict) -> None:
    _, code, expect = CASES[path]
    o = outcomes[path]
    assert not o["crash"], o["crash"]
    assert o["code"] == code, (o["code"], o["stderr"][-500:])
    kind, what = expect.split(":", 1)
    if kind == "key":
        assert what in json.loads(o["stdout"]), sorted(json.loads(o["stdout"]))
    else:
        assert what in " ".join(o["stderr"].split()), o["stderr"]
        assert "No such command" not in o["stderr"]
