"""Fixed runs of the KV-tiers and disaggregated paths must give the same results byte for byte as the
recorded ones (the golden file was written by the simulator before these paths were sped up: any
change of a request record, step-log value, ITL sample, tier counter or transfer is a regression).
Regenerate only for an intended semantic change:

    PYTHONPATH=src python tests/serve/test_serve_golden_disagg_tiers.py --write
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from coscale.serve.disagg.deployment import DisaggDeployment
from coscale.serve.disagg.run import run_disagg
from coscale.serve.metrics import Slo, request_arrays
from coscale.serve.scenario import Deployment, WorkloadSpec, build, run
from coscale.serve.tiers.config import OffloadConfig

GOLDEN = Path(__file__).parent / "golden" / "serve_runs_disagg_tiers.json"
MOONCAKE = str(Path(__file__).parents[2] / "src" / "coscale" / "serve" / "traces"
               / "mooncake_fast25_conversation_head3600.jsonl")
TIERS = OffloadConfig(tiers=("dram", "nvme"), dram_gib=8.0, nvme_gib=32.0)
P70 = Deployment(model="llama-3.1-70b", hardware="h100-sxm", gpus=4, tp=4)

# aggregated with tiers: a small GPU pool so blocks go down and come back; kv_aware routing
AGG = {
    "tiers-8b-mooncake-kv-aware-4rep": (
        Deployment(model="llama-3.1-8b", gpus=4, router="kv_aware", num_gpu_blocks=9000, kv_offload=TIERS),
        WorkloadSpec(trace=MOONCAKE, num_requests=240)),
    "tiers-8b-sessions-write-through-keep-decode": (
        Deployment(model="llama-3.1-8b", num_gpu_blocks=1200,
                   kv_offload=replace(TIERS, store="write_through", keep="prompt+decode")),
        WorkloadSpec(rate=3.0, num_requests=160, turns=4, think_s=2.0, input_len=900, output_len=120,
                     length_dist="lognormal", input_max=4000, output_max=600, seed=5)),
}
# disaggregated: the benchmark's deployment on a short window; a tight decode pool (reservations wait)
DISAGG = {
    "disagg-70b-tp4-tp4-azure": (
        DisaggDeployment(prefill=P70, decode=P70, kv_link="infiniband"),
        WorkloadSpec(rate=4.0, duration_s=30.0, length_dist="azure-conv", seed=0)),
    "disagg-8b-tight-decode-pool": (
        DisaggDeployment(prefill=Deployment(model="llama-3.1-8b", gpus=2),
                         decode=Deployment(model="llama-3.1-8b", num_gpu_blocks=900), kv_link="roce"),
        WorkloadSpec(rate=12.0, num_requests=200, length_dist="azure-conv", seed=3)),
    "disagg-8b-prefill-tiers-kv-aware-mooncake": (
        DisaggDeployment(prefill=Deployment(model="llama-3.1-8b", gpus=2, router="kv_aware", num_gpu_blocks=9000,
                                            kv_offload=TIERS),
                         decode=Deployment(model="llama-3.1-8b", gpus=2), kv_link="infiniband"),
        WorkloadSpec(trace=MOONCAKE, num_requests=200)),
    "disagg-8b-prefill-tiers-sessions-write-through": (
        DisaggDeployment(prefill=Deployment(model="llama-3.1-8b", num_gpu_blocks=1200,
                                            kv_offload=replace(TIERS, store="write_through")),
                         decode=Deployment(model="llama-3.1-8b"), kv_link="infiniband"),
        WorkloadSpec(rate=3.0, num_requests=160, turns=4, think_s=2.0, input_len=900, output_len=60,
                     length_dist="lognormal", input_max=4000, output_max=300, seed=5)),
    # decode prefix reuse: two decode instances picked by the KV-router cost, a tight decode pool
    "disagg-8b-decode-prefix-reuse-sessions": (
        DisaggDeployment(prefill=Deployment(model="llama-3.1-8b", num_gpu_blocks=1200),
                         decode=Deployment(model="llama-3.1-8b", gpus=2, num_gpu_blocks=700), kv_link="ethernet",
                         decode_prefix_reuse=True),
        WorkloadSpec(rate=3.0, num_requests=160, turns=4, think_s=2.0, input_len=900, output_len=60,
                     length_dist="lognormal", input_max=4000, output_max=300, seed=5)),
}


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _fold(res, rep: dict, replicas) -> dict[str, object]:
    for k in ("wall_s", "speedup_vs_real_time", "events"):
        rep.pop(k, None)
    r = request_arrays(res)
    rep["requests_sha256"] = _digest(*(np.asarray(getattr(r, f)) for f in r.__dataclass_fields__))
    rep["sequences_sha256"] = _digest(np.array([(s.req.rid, s.scheduled_s, s.first_token_s, s.finish_s, s.hit_tokens,
                                                 s.rehit_tokens, s.prefilled, s.discarded, s.preemptions)
                                                for s in res.sequences], dtype=float))
    logs = [rp.log.arrays() for rp in replicas]
    rep["steps_sha256"] = _digest(*(lg[k] for lg in logs for k in sorted(lg)))
    rep["itl_sha256"] = _digest(*(np.asarray(x, dtype=float) for rp in replicas
                                  for x in (rp.itl_values, rp.itl_weights)))
    return json.loads(json.dumps(rep, sort_keys=True))


def outcome(name: str) -> dict[str, object]:
    slo = Slo(ttft_s=1.0, tpot_s=0.05)
    if name in AGG:
        d, w = AGG[name]
        res, rep = run(d, w, slo, built=build(d), overload=False, engine="python")
        return _fold(res, rep, res.replicas)
    dd, w = DISAGG[name]
    dres, rep = run_disagg(dd, w, slo, overload=False)
    rep["transfers_sha256"] = _digest(np.array([(t.rid, t.src, t.dst, t.bytes, t.start_s, t.finish_s, t.exposed_s)
                                                for t in dres.transfers], dtype=float))
    rep["waits_sha256"] = _digest(np.array(sorted(dres.decode_wait_s.items()), dtype=float),
                                  np.array(sorted(dres.block_wait_s.items()), dtype=float))
    return _fold(dres.sim, rep, dres.prefill + dres.decode)


CASES = sorted(AGG) + sorted(DISAGG)


@pytest.mark.parametrize("name", CASES)
def test_fixed_run_is_byte_identical_to_the_golden_file(name):
    golden = json.loads(GOLDEN.read_text())[name]
    assert json.dumps(outcome(name), sort_keys=True) == json.dumps(golden, sort_keys=True)


if __name__ == "__main__" and "--write" in sys.argv:
    GOLDEN.write_text(json.dumps({n: outcome(n) for n in CASES}, indent=1, sort_keys=True) + "\n")
