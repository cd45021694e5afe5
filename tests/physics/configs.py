"""Hypothesis strategies for random valid configurations of every predictor.

A draw is a configuration in the space a user can ask for (catalog models and chips, degrees that
divide what they shard, lengths within the context); the predictor itself decides whether it is
feasible, and a rejection (CoscaleError) is counted, not asserted on.
"""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st

from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.predict.inference import InferenceScenario
from coscale.specs.execution import InferenceRequest, Parallelism
from coscale.specs.hardware import System
from coscale.specs.model import MoESpec
from coscale.specs.precision import get_precision
from coscale.train.context import TrainingContext
from coscale.train.layout import TrainLayout, TrainOptions
from coscale.train.precision import get_training_precision

MODELS = ("llama-3.1-8b", "qwen3-8b", "qwen3-30b-a3b", "mixtral-8x7b", "gpt-oss-20b", "nemotron-h-8b",
          "mamba2-2.7b", "jamba-1.5-mini", "llama-3.1-70b", "nemotron-3-nano-30b-a3b")
HARDWARE = ("h100-sxm", "h200-sxm", "b200", "gb200", "mi300x", "mi355x", "gaudi3", "tpu-v5p", "tpu-v6e", "l40s",
            "a100-sxm-80gb", "rtx-5090", "groq-lpu", "cerebras-wse3", "jetson-agx-thor")
INFERENCE_PRECISIONS = ("bf16", "fp8", "nvfp4")
TRAINING_PRECISIONS = ("bf16", "fp8")
POW2 = (1, 2, 4, 8)


@cache
def model(name: str):
    return load_model(name)


@cache
def is_moe(name: str) -> bool:
    return any(isinstance(layer.ffn, MoESpec) for layer in model(name).layers)


@cache
def hardware(name: str):
    return load_hardware(name)


@st.composite
def inference_scenarios(draw: st.DrawFn) -> InferenceScenario:
    name = draw(st.sampled_from(MODELS))
    m = model(name)
    hw = hardware(draw(st.sampled_from(HARDWARE)))
    tp, pp = draw(st.sampled_from(POW2)), draw(st.sampled_from((1, 2, 4)))
    ep = draw(st.sampled_from((1, tp, 2 * tp))) if is_moe(name) else 1
    inst = max(tp, ep) * pp
    gpus = inst * draw(st.sampled_from((1, 2)))
    limit = m.max_position_embeddings or 131072
    isl = draw(st.integers(1, min(limit - 1, 32768)))
    osl = draw(st.integers(1, min(limit - isl, 4096)))
    batch = draw(st.one_of(st.none(), st.integers(1, 256)))
    return InferenceScenario(model=m, system=System(hardware=hw, num_gpus=gpus),
                             parallel=Parallelism(gpus=gpus, tp=tp, pp=pp, ep=ep),
                             precision=get_precision(draw(st.sampled_from(INFERENCE_PRECISIONS))),
                             request=InferenceRequest(input_len=isl, output_len=osl), batch=batch,
                             max_batch=draw(st.sampled_from((8, 64, 256))))


@st.composite
def training_cases(draw: st.DrawFn) -> tuple[TrainingContext, TrainLayout]:
    name = draw(st.sampled_from(MODELS))
    m = model(name)
    hw = hardware(draw(st.sampled_from(HARDWARE)))
    tp, pp, cp, dp = (draw(st.sampled_from(v)) for v in (POW2, (1, 2, 4), (1, 2), (1, 2, 4, 8)))
    ep = draw(st.sampled_from(sorted({e for e in (1, tp, 2 * tp, tp * cp * dp)
                                      if e == 1 or (e % tp == 0 and (tp * cp * dp) % e == 0)}))) if is_moe(name) else 1
    vp = draw(st.sampled_from((1, 2))) if pp > 1 else 1
    micro = draw(st.sampled_from((1, 2)))
    m_count = draw(st.sampled_from((1, 2, 4, 8))) * (pp if vp > 1 else 1)
    limit = m.max_position_embeddings or 131072
    seq = 2 * cp * draw(st.integers(64, min(limit, 131072) // (2 * cp)))
    gpus = tp * pp * cp * dp
    layout = TrainLayout(gpus=gpus, tp=tp, pp=pp, vp=vp, dp=dp, cp=cp, ep=ep, micro_batch=micro,
                         global_batch=dp * micro * m_count, seq_len=seq,
                         recompute=draw(st.sampled_from(("none", "selective", "full"))),
                         zero=draw(st.sampled_from((0, 1, 2, 3))))
    options = TrainOptions(sequence_parallel=draw(st.booleans()), tp_comm_overlap=draw(st.booleans()),
                           dp_overlap=draw(st.booleans()), cp_overlap=draw(st.booleans()),
                           fp32_grad_accum=draw(st.booleans()))
    ctx = TrainingContext(model=m, system=System(hardware=hw, num_gpus=gpus),
                          precision=get_training_precision(draw(st.sampled_from(TRAINING_PRECISIONS))),
                          options=options)
    return ctx, layout


@st.composite
def plan_cases(draw: st.DrawFn) -> tuple[TrainingContext, int, int]:
    m = model(draw(st.sampled_from(MODELS)))
    hw = hardware(draw(st.sampled_from(("h100-sxm", "b200", "mi300x", "gb200", "tpu-v5p", "gaudi3"))))
    gpus = draw(st.sampled_from((8, 16, 32, 64)))
    seq = draw(st.sampled_from((1024, 2048, 4096, 8192)))
    batch = gpus * draw(st.sampled_from((1, 2, 4)))
    ctx = TrainingContext(model=m, system=System(hardware=hw, num_gpus=gpus),
                          precision=get_training_precision(draw(st.sampled_from(TRAINING_PRECISIONS))))
    return ctx, seq, batch
