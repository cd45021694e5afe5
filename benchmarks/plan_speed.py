"""Plan-search speed: layouts evaluated per second, and the wall time of `coscale plan train` for
Llama-3.1-405B on 16,384 H100s (goal: >= 10,000 layouts/s, < 10 s). Last line: one JSON object."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.specs.hardware import System
from coscale.train.context import TrainingContext
from coscale.train.planner import plan_training
from coscale.train.precision import get_training_precision

# Registers the commands as app.py will, then runs the real CLI entry point in a fresh process.
_CLI = ("from coscale.cli import predict_cmd, train_cmd; from coscale.cli.app import app, main; "
        "predict_cmd.app.command('train')(train_cmd.predict_train); "
        "app.add_typer(train_cmd.plan_app, name='plan'); main()")
_ARGS = ["plan", "train", "--model", "llama-3.1-405b", "--hardware", "h100-sxm", "--gpus", "16384",
         "--seq-len", "8192", "--global-batch", "2048", "--json"]


def search_rate(model: str, hardware: str, gpus: int, seq_len: int, global_batch: int) -> dict[str, float]:
    ctx = TrainingContext(model=load_model(model), system=System(hardware=load_hardware(hardware), num_gpus=gpus),
                          precision=get_training_precision("bf16"))
    plan = plan_training(ctx, seq_len, global_batch)
    return {"evaluated": plan.evaluated, "fitting": plan.fitting, "wall_s": plan.wall_s,
            "configs_per_s": plan.configs_per_s}


def main() -> None:
    rates = {
        "llama-3.1-405b@16384xh100": search_rate("llama-3.1-405b", "h100-sxm", 16384, 8192, 2048),
        "llama-3.1-70b@1024xh100": search_rate("llama-3.1-70b", "h100-sxm", 1024, 8192, 512),
        "qwen3-235b-a22b@512xh100": search_rate("qwen3-235b-a22b", "h100-sxm", 512, 4096, 1024),
    }
    for name, r in rates.items():
        print(f"{name}: {r['evaluated']} layouts, {r['fitting']} fit, {r['wall_s']:.2f} s, "
              f"{r['configs_per_s']:,.0f} layouts/s")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CLI, *_ARGS], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    best = json.loads(done.stdout)["ranked"][0]
    print(f"coscale plan train llama-3.1-405b 16384x h100-sxm: {wall:.2f} s wall; best "
          f"{best['layout']} step {best['step_time_s']:.2f} s MFU {best['mfu']:.1%}")
    total = sum(r["evaluated"] for r in rates.values())
    seconds = sum(r["wall_s"] for r in rates.values())
    print(json.dumps({"configs_per_s": total / seconds, "configs_evaluated": total,
                      "plan_train_405b_16384_wall_s": wall, "goal_configs_per_s": 10000, "goal_wall_s": 10.0}))


if __name__ == "__main__":
    main()
