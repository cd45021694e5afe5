"""The layout rules, one value at a time: every broken rule as a `Violation`, in `CODES` order.

One rule set for inference (`Parallelism`, `predict inference`), training (`TrainLayout`,
`predict train`) and the planner's search (which applies the same rules to arrays, see mask.py):

- TP divides the query heads; TP and the KV heads divide one another (KV heads are replicated
  when TP exceeds them, vLLM / Megatron GQA); TP divides the Mamba heads (Mamba-2) or inner
  channels (Mamba-1), since Megatron-Core and vLLM shard those heads over TP ranks.
- EP needs experts, divides every layer's experts and is a multiple of TP (inference: attention
  runs data-parallel over ep / tp groups; training: Megatron carves EP out of tp * cp * dp).
- CP is rejected on any model with a Mamba layer. Assumption: coscale models CP as ring
  attention only; a selective scan carries its state through the whole sequence, and passing
  that state between CP ranks is not modelled, so such a layout has no prediction -- one rule,
  applied by every consumer.
- Every pipeline chunk (pp * vp of them, ceil(L / chunks) layers each) holds at least one layer.

`model=None` checks only the rules that need no model (the dataclasses validate with it).
"""

from __future__ import annotations

from coscale.feasibility.facts import ModelFacts, model_facts, pipeline_chunks_ok
from coscale.feasibility.violation import Violation
from coscale.specs.model import ModelSpec


def divisors_up_to(n: int, limit: int = 64) -> str:
    return ", ".join(str(d) for d in range(1, min(n, limit) + 1) if n % d == 0)


MAX_COUNT = 2**31 - 1  # any degree, GPU count, batch or length: a 32-bit count (refused above, before any loop)


def positive_violations(values: dict[str, int | None]) -> list[Violation]:
    out = []
    for field, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            out.append(Violation(field=field, reason=f"{field} must be a positive integer, got {value}", fix="",
                                 code="not_positive"))
        elif value > MAX_COUNT:
            shown = f"{value:.3g}" if value < 10**300 else f"a {len(str(value))}-digit number"
            out.append(Violation(field=field, reason=f"{field} is {shown}, more than the {MAX_COUNT:,} allowed",
                                 fix=f"use a positive integer up to {MAX_COUNT:,}", code="not_positive"))
    return out


def _structure(*, tp: int, pp: int, ep: int, cp: int, vp: int, dp: int | None, gpus: int | None,
               seq_len: int | None, global_batch: int | None, micro_batch: int | None) -> list[Violation]:
    out: list[Violation] = []
    if gpus is not None and dp is None and gpus % (max(tp, ep) * pp):
        inst = max(tp, ep) * pp
        out.append(Violation(
            field="parallel.gpus", code="gpus_instance",
            reason=f"parallel.gpus={gpus} is not divisible by the GPUs of one model instance "
                   f"({inst} = max(tp*pp, ep*pp))",
            fix=f"use a multiple of {inst}"))
    if gpus is not None and dp is not None and tp * cp * pp * dp != gpus:
        out.append(Violation(
            field="parallel.gpus", code="gpus_product",
            reason=f"parallel.gpus={gpus} != tp*cp*pp*dp = {tp}*{cp}*{pp}*{dp} = {tp * cp * pp * dp}",
            fix=f"pick degrees whose product is {gpus} (or omit parallel.dp to derive it)"))
    if ep > 1 and ep % tp:
        out.append(Violation(
            field="parallel.ep", code="ep_tp",
            reason=f"parallel.ep={ep} must be a multiple of parallel.tp={tp}",
            fix="attention runs data-parallel in ep/tp groups; use an ep that tp divides"))
    if dp is not None and ep > 1 and (tp * cp * dp) % ep:
        out.append(Violation(
            field="parallel.ep", code="ep_dp",
            reason=f"parallel.ep={ep} does not divide tp*cp*dp = {tp * cp * dp}",
            fix="experts are sharded over the data-parallel ranks; use an ep dividing tp*cp*dp"))
    if vp > 1 and pp == 1:
        out.append(Violation(field="parallel.vp", code="vp_pp",
                             reason=f"parallel.vp={vp} (interleaved pipeline) needs parallel.pp > 1",
                             fix="set parallel.vp=1"))
    if seq_len is not None and cp > 1 and seq_len % (2 * cp):
        out.append(Violation(
            field="train.seq_len", code="cp_seq",
            reason=f"train.seq_len={seq_len} must be divisible by 2*cp = {2 * cp}",
            fix="load-balanced ring attention splits each sequence into 2*cp chunks"))
    if global_batch is not None and micro_batch is not None and dp is not None:
        per_step = dp * micro_batch
        if global_batch % per_step:
            lower = global_batch // per_step * per_step
            fits = f"{lower} or {lower + per_step}" if lower else f"a multiple of {per_step}"
            out.append(Violation(
                field="train.global_batch", code="batch_dp",
                reason=f"train.global_batch={global_batch} is not divisible by dp*micro-batch = {dp}*{micro_batch} "
                       f"= {per_step}",
                fix=f"use {fits}"))
        elif vp > 1 and (global_batch // per_step) % pp:
            out.append(Violation(
                field="train.global_batch", code="vp_microbatches",
                reason=f"interleaved pipeline needs micro-batches per step ({global_batch // per_step}) to be a "
                       f"multiple of parallel.pp={pp}",
                fix="change train.global_batch or use parallel.vp=1"))
    return out


def _model_rules(f: ModelFacts, *, tp: int, pp: int, ep: int, cp: int, vp: int,
                 context_len: int | None, training: bool = False) -> list[Violation]:
    out: list[Violation] = []
    bad_q = next((h for h in f.query_heads if h % tp), None)
    if bad_q is not None:
        out.append(Violation(field="parallel.tp", code="tp_heads",
                             reason=f"parallel.tp={tp} does not divide the {bad_q} attention heads of {f.name}",
                             fix=f"use one of: {divisors_up_to(bad_q)}"))
    bad_kv = next((k for k in f.kv_heads if k % tp and tp % k), None)
    if bad_kv is not None:
        out.append(Violation(field="parallel.tp", code="tp_kv_heads",
                             reason=f"parallel.tp={tp} and the {bad_kv} KV heads of {f.name} neither divide the other",
                             fix=f"use a divisor or multiple of {bad_kv}"))
    bad_m = next((h for h in f.mamba_heads if h % tp), None)
    if bad_m is not None:
        what = "Mamba heads" if f.mamba_version == 2 else "Mamba inner channels"
        out.append(Violation(field="parallel.tp", code="tp_mamba_heads",
                             reason=f"parallel.tp={tp} does not divide the {bad_m} {what} of {f.name}",
                             fix=f"use one of: {divisors_up_to(bad_m)}"))
    if ep > 1 and not f.has_experts:
        out.append(Violation(field="parallel.ep", code="ep_dense",
                             reason=f"parallel.ep={ep} needs a mixture-of-experts model; {f.name} is dense",
                             fix="use parallel.ep=1"))
    bad_e = next((n for n in f.experts if n % ep), None)
    if bad_e is not None:
        out.append(Violation(field="parallel.ep", code="ep_experts",
                             reason=f"parallel.ep={ep} does not divide the {bad_e} experts of {f.name}",
                             fix=f"use one of: {divisors_up_to(bad_e, 512)}"))
    if cp > 1 and f.has_mamba:
        out.append(Violation(
            field="parallel.cp", code="cp_mamba",
            reason=f"parallel.cp={cp} splits the sequence across ranks, but the Mamba layers of {f.name} scan it "
                   f"whole",
            fix="use parallel.cp=1 (shard with tp, pp or dp instead)"))
    chunks = pp * vp
    if not pipeline_chunks_ok(f.num_layers, chunks):
        what = f"parallel.pp={pp}" if vp == 1 else f"parallel.pp={pp} x parallel.vp={vp} = {chunks} pipeline chunks"
        out.append(Violation(
            field="parallel.pp", code="pp_layers",
            reason=f"{what} leaves some chunks of the {f.num_layers} layers of {f.name} empty "
                   f"(chunks of ceil({f.num_layers}/{chunks}) layers)",
            fix=f"use a pp*vp of at most {f.num_layers} that divides it evenly, e.g. one of: "
                f"{divisors_up_to(f.num_layers, 512)}"))
    if context_len is not None and f.max_context and context_len > f.max_context and training:
        out.append(Violation(
            field="train.seq_len", code="context",
            reason=f"train.seq_len={context_len} exceeds the {f.max_context}-token context of {f.name} "
                   f"(max_position_embeddings)",
            fix=f"use a train.seq_len of at most {f.max_context} (or extend the model's context first)"))
    elif context_len is not None and f.max_context and context_len > f.max_context:
        out.append(Violation(
            field="request.input_len", code="context",
            reason=f"request.input_len + request.output_len = {context_len} exceeds the {f.max_context}-token "
                   f"context of {f.name} (max_position_embeddings)",
            fix=f"use at most {f.max_context} tokens in all"))
    return out


def layout_violations(model: ModelSpec | ModelFacts | None, *, tp: int, pp: int, ep: int = 1, cp: int = 1,
                      vp: int = 1, dp: int | None = None, gpus: int | None = None, seq_len: int | None = None,
                      global_batch: int | None = None, micro_batch: int | None = None,
                      context_len: int | None = None) -> list[Violation]:
    """Every rule the layout breaks, in `CODES` order. `dp` given means a training layout (GPUs are
    tp*cp*pp*dp and EP is carved out of tp*cp*dp); without it GPUs beyond one instance are replicas."""
    bad = positive_violations({"parallel.tp": tp, "parallel.pp": pp, "parallel.ep": ep, "parallel.cp": cp,
                               "parallel.vp": vp, "parallel.dp": dp, "parallel.gpus": gpus, "train.seq_len": seq_len,
                               "train.global_batch": global_batch, "train.micro_batch": micro_batch,
                               "request.context_len": context_len})
    if bad:
        return bad
    out = _structure(tp=tp, pp=pp, ep=ep, cp=cp, vp=vp, dp=dp, gpus=gpus, seq_len=seq_len,
                     global_batch=global_batch, micro_batch=micro_batch)
    if model is not None:
        facts = model if isinstance(model, ModelFacts) else model_facts(model)
        training = dp is not None and context_len is None  # a training sequence must fit the context too
        out += _model_rules(facts, tp=tp, pp=pp, ep=ep, cp=cp, vp=vp,
                            context_len=seq_len if training else context_len, training=training)
    return out
