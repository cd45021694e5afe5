"""Fixed-seed runs must give the same results byte for byte as the recorded ones (the golden file was
written by the simulator before its block bookkeeping was restructured for speed: any change of a
result, metric or step-log value is a regression). Regenerate only for an intended semantic change:

    PYTHONPATH=src python tests/serve/test_serve_golden.py --write
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from coscale.serve.metrics import Slo, request_arrays
from coscale.serve.scenario import Deployment, WorkloadSpec, build, run

GOLDEN = Path(__file__).parent / "golden" / "serve_runs.json"
MOONCAKE = str(Path(__file__).parents[2] / "src" / "coscale" / "serve" / "traces"
               / "mooncake_fast25_conversation_head3600.jsonl")

# (name, deployment, workload): overload with preemption, prefix hits from a trace and from sessions,
# each engine policy, several replicas
CASES = {
    "vllm-8b-azure-preempting": (
        Deployment(model="llama-3.1-8b", num_gpu_blocks=1500),
        WorkloadSpec(rate=20.0, num_requests=300, length_dist="azure-conv", seed=1)),
    "vllm-8b-mooncake-prefix": (
        Deployment(model="llama-3.1-8b", num_gpu_blocks=9000),
        WorkloadSpec(trace=MOONCAKE, num_requests=90, seed=0)),
    "sglang-8b-sessions-2rep": (
        Deployment(model="llama-3.1-8b", engine="sglang", gpus=2, num_gpu_blocks=30000),
        WorkloadSpec(rate=3.0, num_requests=240, turns=4, think_s=2.0, input_len=900, output_len=120,
                     length_dist="lognormal", input_max=4000, output_max=600, seed=5)),
    "trtllm-8b-closed-loop": (
        # azure-conv prompts exceed one 8,192-token step: chunked, as the file was recorded with
        Deployment(model="llama-3.1-8b", engine="trtllm", num_gpu_blocks=3000, chunked_prefill=True),
        WorkloadSpec(concurrency=48, num_requests=200, length_dist="azure-conv", seed=2)),
    "vllm-70b-tp8-azure": (
        Deployment(model="llama-3.1-70b", gpus=8, tp=8),
        WorkloadSpec(rate=20.0, duration_s=15.0, length_dist="azure-conv", seed=0)),
}


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def outcome(name: str) -> dict[str, object]:
    d, w = CASES[name]
    res, rep = run(d, w, Slo(ttft_s=1.0, tpot_s=0.05), built=build(d), overload=False)
    rep.pop("wall_s"), rep.pop("speedup_vs_real_time")
    rep.pop("events")  # how many events the loop handled: fewer when runs are cut at the next arrival
    r = request_arrays(res)
    rep["requests_sha256"] = _digest(*(np.asarray(getattr(r, f)) for f in r.__dataclass_fields__))
    logs = [rp.log.arrays() for rp in res.replicas]
    rep["steps_sha256"] = _digest(*(lg[k] for lg in logs for k in sorted(lg)))
    rep["itl_sha256"] = _digest(*(np.asarray(x, dtype=float) for rp in res.replicas
                                  for x in (rp.itl_values, rp.itl_weights)))
    return json.loads(json.dumps(rep, sort_keys=True))


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixed_seed_run_is_byte_identical_to_the_golden_file(name):
    golden = json.loads(GOLDEN.read_text())[name]
    assert json.dumps(outcome(name), sort_keys=True) == json.dumps(golden, sort_keys=True)


if __name__ == "__main__" and "--write" in sys.argv:
    GOLDEN.write_text(json.dumps({n: outcome(n) for n in sorted(CASES)}, indent=1, sort_keys=True) + "\n")
