"""End-to-end inference prediction: properties and bad input."""

from __future__ import annotations

import pytest

from coscale.errors import CoscaleError
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.predict.inference import InferenceScenario, predict_inference
from coscale.specs.execution import InferenceRequest, Parallelism
from coscale.specs.hardware import System
from coscale.specs.precision import get_precision


def scenario(model="llama-3.1-8b", hw="h100-sxm", gpus=1, tp=1, pp=1, ep=1, precision="bf16", kv=None, batch=None,
             max_batch=256, isl=1024, osl=256) -> InferenceScenario:
    return InferenceScenario(
        model=load_model(model), system=System(hardware=load_hardware(hw), num_gpus=gpus),
        parallel=Parallelism(gpus=gpus, tp=tp, pp=pp, ep=ep), precision=get_precision(precision, kv),
        request=InferenceRequest(input_len=isl, output_len=osl), batch=batch, max_batch=max_batch)


def test_auto_batch_fills_memory_and_respects_max():
    r = predict_inference(scenario(max_batch=10_000))
    cap = r.scenario.system.hardware.memory.hbm.capacity_bytes
    assert r.memory.total <= cap
    with pytest.raises(CoscaleError, match="largest batch that fits is"):
        predict_inference(scenario(batch=r.batch + 1))
    assert predict_inference(scenario(max_batch=7)).batch == 7


def test_more_memory_gives_larger_batch_and_throughput():
    h100 = predict_inference(scenario(max_batch=4096, isl=2000, osl=2000))
    h200 = predict_inference(scenario(hw="h200-sxm", max_batch=4096, isl=2000, osl=2000))
    assert h200.batch > h100.batch
    assert h200.throughput_tok_s > h100.throughput_tok_s


def test_fp8_halves_weight_memory_and_speeds_decode():
    bf16 = predict_inference(scenario(batch=8))
    fp8 = predict_inference(scenario(batch=8, precision="fp8"))
    embeddings = 2 * 128256 * 4096 * 2  # input table + LM head stay BF16
    assert fp8.memory.weights - embeddings == pytest.approx((bf16.memory.weights - embeddings) / 2, rel=0.01)
    assert fp8.tpot_s < bf16.tpot_s


def test_decode_small_batch_is_memory_bound_prefill_compute_bound():
    r = predict_inference(scenario(batch=1))
    assert r.decode.cost.bound == "memory"
    assert r.prefill.cost.bound == "compute"


def test_replicas_scale_throughput_linearly():
    one = predict_inference(scenario(batch=32))
    four = predict_inference(scenario(batch=32, gpus=4))
    assert four.throughput_tok_s == pytest.approx(4 * one.throughput_tok_s)


def test_nvfp4_on_h100_states_the_assumed_compute():
    r = predict_inference(scenario(precision="nvfp4", batch=4))
    assert any("no FP4 tensor cores" in n for n in r.notes)
    b200 = predict_inference(scenario(hw="b200", precision="nvfp4", batch=4))
    assert not any("FP4 tensor cores" in n for n in b200.notes)


def test_hybrid_state_is_constant_and_small():
    short = predict_inference(scenario(model="nemotron-h-8b", batch=4, isl=1000))
    long = predict_inference(scenario(model="nemotron-h-8b", batch=4, isl=7_000))
    assert short.memory.ssm_state == long.memory.ssm_state > 0
    llama = predict_inference(scenario(batch=4, isl=7_000))
    assert long.memory.kv_cache < llama.memory.kv_cache / 4  # 4 attention layers of 52 vs 32 of 32


def test_sliding_window_layers_cap_gpt_oss_kv():
    r1 = predict_inference(scenario(model="gpt-oss-20b", batch=1, isl=10_000))
    r2 = predict_inference(scenario(model="gpt-oss-20b", batch=1, isl=20_000))
    # only the 12 full-attention layers grow: 12 * 8 heads * 128 * 2 bytes per token
    assert r2.memory.kv_cache - r1.memory.kv_cache == pytest.approx(10_000 * 12 * 8 * 128 * 2)


def test_attention_dp_with_expert_parallel():
    r = predict_inference(scenario(model="qwen3-30b-a3b", gpus=8, ep=8, batch=64))
    assert r.scenario.parallel.attention_dp == 8
    plain = predict_inference(scenario(model="qwen3-30b-a3b", batch=64))
    assert r.memory.weights < plain.memory.weights / 3


@pytest.mark.parametrize("kwargs, message", [
    (dict(tp=3, gpus=3), "does not divide the 32 attention heads"),
    (dict(gpus=3, tp=2), "not divisible"),
    (dict(ep=2, gpus=2), "needs a mixture-of-experts model"),
    (dict(model="llama-3.1-405b"), "does not fit"),
    (dict(precision="fp5"), "unknown precision 'fp5'"),
    (dict(kv="fp7"), "unknown KV-cache precision"),
    (dict(isl=0), "request.input_len must be a positive integer"),
    (dict(model="llama-2-70b", gpus=8, tp=8, isl=8000), "exceeds the 4096-token context"),
])
def test_bad_input_is_a_clear_error(kwargs, message):
    with pytest.raises(CoscaleError, match=message):
        predict_inference(scenario(**kwargs))
