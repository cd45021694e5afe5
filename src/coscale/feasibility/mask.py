"""The same rules as scalar.py over arrays of layouts: a feasibility mask and a reason code each.

Arguments broadcast against each other (numpy rules); optional ones left as None skip their
rules exactly as the scalar form does. `code` is 0 where feasible, otherwise the index + 1 in
`CODES` of the first rule broken, which is the code of `layout_violations(...)[0]`.
"""

from __future__ import annotations

import numpy as np

from coscale.feasibility.codes import CODES
from coscale.feasibility.facts import ModelFacts, model_facts
from coscale.specs.model import ModelSpec

IntArray = np.ndarray


def _any_not_divisible(counts: tuple[int, ...], by: IntArray) -> IntArray:
    out = np.zeros(by.shape, dtype=bool)
    for n in counts:
        out |= (n % by) != 0
    return out


def layout_mask(model: ModelSpec | ModelFacts | None, *, tp, pp, ep=1, cp=1, vp=1, dp=None, gpus=None,
                seq_len=None, global_batch=None, micro_batch=None,
                context_len=None) -> tuple[IntArray, IntArray]:
    """(ok: bool array, code: int array) for every broadcast combination of the arguments."""
    given = {"tp": tp, "pp": pp, "ep": ep, "cp": cp, "vp": vp, "dp": dp, "gpus": gpus, "seq_len": seq_len,
             "global_batch": global_batch, "micro_batch": micro_batch, "context_len": context_len}
    names = [k for k, v in given.items() if v is not None]
    arrays = dict(zip(names, np.broadcast_arrays(*(np.asarray(given[k], dtype=np.int64) for k in names)),
                      strict=True))
    shape = arrays["tp"].shape
    positive = np.ones(shape, dtype=bool)
    for a in arrays.values():
        positive &= a >= 1
    # safe copies: where a value is not positive the positivity code wins, so any finite stand-in works
    v = {k: np.where(positive, a, 1) for k, a in arrays.items()}
    tp_, pp_, ep_, cp_, vp_ = v["tp"], v["pp"], v["ep"], v["cp"], v["vp"]
    training = dp is not None
    rules: dict[str, IntArray] = {"not_positive": ~positive}
    none = np.zeros(shape, dtype=bool)
    rules["gpus_instance"] = (v["gpus"] % (np.maximum(tp_, ep_) * pp_) != 0) if gpus is not None and not training \
        else none
    rules["gpus_product"] = (tp_ * cp_ * pp_ * v["dp"] != v["gpus"]) if gpus is not None and training else none
    rules["ep_tp"] = (ep_ > 1) & (ep_ % tp_ != 0)
    rules["ep_dp"] = ((ep_ > 1) & ((tp_ * cp_ * v["dp"]) % ep_ != 0)) if training else none
    rules["vp_pp"] = (vp_ > 1) & (pp_ == 1)
    rules["cp_seq"] = ((cp_ > 1) & (v["seq_len"] % (2 * cp_) != 0)) if seq_len is not None else none
    if global_batch is not None and micro_batch is not None and training:
        per_step = v["dp"] * v["micro_batch"]
        rules["batch_dp"] = v["global_batch"] % per_step != 0
        rules["vp_microbatches"] = ~rules["batch_dp"] & (vp_ > 1) & ((v["global_batch"] // per_step) % pp_ != 0)
    else:
        rules["batch_dp"] = rules["vp_microbatches"] = none
    for code in CODES[9:]:
        rules[code] = none
    if model is not None:
        f = model if isinstance(model, ModelFacts) else model_facts(model)
        rules["tp_heads"] = _any_not_divisible(f.query_heads, tp_)
        kv = np.zeros(shape, dtype=bool)
        for k in f.kv_heads:
            kv |= (k % tp_ != 0) & (tp_ % k != 0)
        rules["tp_kv_heads"] = kv
        rules["tp_mamba_heads"] = _any_not_divisible(f.mamba_heads, tp_)
        rules["ep_dense"] = (ep_ > 1) & (not f.has_experts)
        rules["ep_experts"] = _any_not_divisible(f.experts, ep_)
        rules["cp_mamba"] = (cp_ > 1) & f.has_mamba
        chunks = pp_ * vp_
        size = -(-f.num_layers // chunks)
        rules["pp_layers"] = size * (chunks - 1) >= f.num_layers
        ctx_len = v["context_len"] if context_len is not None else (v["seq_len"] if training and seq_len is not None
                                                                     else None)
        rules["context"] = (ctx_len > f.max_context) if ctx_len is not None and f.max_context else none
    code = np.zeros(shape, dtype=np.int64)
    for i in range(len(CODES), 0, -1):  # the first broken rule wins: write later rules first
        code = np.where(rules[CODES[i - 1]], i, code)
    return code == 0, code
