"""Feed-forward operators: dense MLP (SwiGLU, ReLU², GELU) and mixture of experts."""

from __future__ import annotations

import math
import statistics
from dataclasses import replace

import numpy as np

from coscale.specs.model import MlpActivation, MLPSpec, MoESpec
from coscale.workload.forward_pass import OUTPUT_BYTES, ForwardPass
from coscale.workload.ops import Collective, Op
from coscale.workload.projections import gemm
from coscale.workload.shape import Array


def up_width(intermediate: int, activation: MlpActivation) -> int:
    """Output width of the up projection: gated activations (SwiGLU) need gate and up."""
    return 2 * intermediate if activation == "swiglu" else intermediate


def mlp_ops(spec: MLPSpec, p: ForwardPass, layer: str, count: int, hidden: int) -> list[Op]:
    inter = math.ceil(spec.intermediate_size / p.tp)
    t = p.tokens
    return [
        gemm("mlp.up_proj", layer, count, p, t, up_width(inter, spec.activation), hidden),
        gemm("mlp.down_proj", layer, count, p, t, hidden, inter),
    ]


def expected_active_experts(num_experts: int, top_k: int, tokens: Array | float) -> Array | float:
    """Distinct experts hit by `tokens` tokens routing uniformly at random to top_k of num_experts.

    Decode batches are small, so not every expert's weights are read each step; this is the
    expectation 1 - (1 - k/E)^T per expert under uniform routing (real routers are skewed, which
    touches fewer experts; the uniform case is the conservative, bandwidth-heavy one)."""
    return num_experts * (1.0 - (1.0 - top_k / num_experts) ** tokens)


def expected_destinations(spec: MoESpec, destinations: int) -> float:
    """Distinct destinations (ranks or nodes) among one token's top_k experts when the experts are
    split evenly and contiguously over `destinations` (`hit_probability` of each)."""
    per = spec.num_experts // destinations
    return sum(hit_probability(spec, d * per, (d + 1) * per) for d in range(destinations))


def hit_probability(spec: MoESpec, lo: int, hi: int) -> float:
    """Probability that one of a token's top_k experts lies among experts lo..hi-1.

    Unrestricted routing picks top_k distinct experts uniformly: 1 - C(E - held, k) / C(E, k).
    Group-limited routing (`MoESpec.routing_groups` G, `groups_per_token` T of group size g = E / G):
    every T-subset of groups is equally likely to be selected (i.i.d. scores); each selected group
    holds at least its best expert (a group's score is made of its best experts', so it is where the
    group was chosen for), and the other k - T picks fall uniformly on the selected groups' remaining
    T (g - 1) experts. So the range, overlapping group i by a_i experts, is missed with probability
    E over subsets [prod over selected i of (1 - a_i / g) x C(T (g - 1) - A, k - T) / C(T (g - 1), k - T)],
    A the selected overlap, summed by a dynamic programme over the overlapped groups. With G = T = 1
    this is the uniform formula exactly; against a simulation of DeepSeek-V3's router (sigmoid scores,
    a group scored by its top-2, 4 of 8 groups, top-8 of 256) it is within 1.5 % for 2 to 64 equal
    destinations (tests/core/test_moe_routing.py)."""
    groups, chosen, k = spec.routing_groups, spec.groups_per_token, spec.top_k
    size = spec.num_experts // groups
    overlaps = [min(hi, (i + 1) * size) - max(lo, i * size) for i in range(lo // size, min(-(-hi // size), groups))]
    # ways[j][a]: over subsets of j overlapped groups with a of the range's experts, the summed chance
    # that none of their best experts lies in the range
    ways = [[0.0] * (hi - lo + 1) for _ in range(chosen + 1)]
    ways[0][0] = 1.0
    for a_i in overlaps:
        for j in range(min(chosen, len(overlaps)), 0, -1):
            for a in range(hi - lo, a_i - 1, -1):
                ways[j][a] += ways[j - 1][a - a_i] * (1.0 - a_i / size)
    rest, pool = k - chosen, chosen * (size - 1)
    others = groups - len(overlaps)
    miss = 0.0
    for j in range(chosen + 1):
        subsets = math.comb(others, chosen - j)
        if not subsets:
            continue
        for a, w in enumerate(ways[j]):
            if w:
                miss += w * subsets * _miss_uniform(pool, rest, a)
    return 1.0 - miss / math.comb(groups, chosen)


def _miss_uniform(pool: int, picks: int, held: int) -> float:
    """Probability that `picks` distinct experts drawn uniformly from `pool` avoid `held` of them."""
    miss = 1.0
    for i in range(picks):
        miss *= max(pool - held - i, 0) / (pool - i)
    return miss


def deepep_normal_share(spec: MoESpec, ep: int, domain: int) -> float:
    """Share of a token's top_k expert rows that DeepEP's high-throughput (normal) kernels move.

    They send a token once per destination rank inside one NVLink domain (intranode kernels), and
    across domains once per destination node over RDMA, forwarding it to the experts' ranks over
    NVLink (internode kernels, whose RDMA stage is the bottleneck DeepEP reports). DeepEP's own tests
    define its measured bandwidths over exactly these deduplicated bytes (tests/test_intranode.py:
    the received rows, one per token and rank; tests/test_internode.py: `num_rdma_token_sent`, one
    per token and node), so the validation cases K-DEP-INTRA / K-DEP-INTER calibrate and check a
    rate for them. The low-latency kernels of decode send one row per token and expert (share 1).
    Group-limited routing reaches fewer nodes (DeepSeek-V3 over 4 nodes of 2 groups each: 3.14
    instead of 3.61 per token, `hit_probability`)."""
    if domain <= 0 or ep <= domain:
        return expected_destinations(spec, ep) / spec.top_k
    # whole domains of `domain` ranks and, when ep is not a multiple of it, one domain of the rest
    # (EP128 over 72-GPU NVL72 racks: 72 + 56 ranks)
    per_rank = spec.num_experts // ep
    held = domain * per_rank
    nodes = sum(hit_probability(spec, lo, min(lo + held, spec.num_experts)) for lo in range(0, spec.num_experts, held))
    return nodes / spec.top_k


def expected_max_normal(n: int) -> float:
    """Expected largest of n independent standard normals (Blom's 1958 approximation
    Phi^-1((n - 0.375) / (n + 0.25)); 0 for n = 1). Within 5 % of exact at n = 2, 1 % for n >= 8."""
    if n <= 1:
        return 0.0
    return statistics.NormalDist().inv_cdf((n - 0.375) / (n + 0.25))


def ep_load_imbalance(num_experts: int, top_k: int, ep: int, tokens: Array | float) -> Array | float:
    """Load of the most loaded EP rank over the mean load, under uniform top-k routing.

    Each token sends its top_k distinct experts' picks to ranks holding E/ep experts each: the picks a
    rank receives from one token are hypergeometric (mean k/ep, variance k (1/ep)(1-1/ep)(E-k)/(E-1)).
    Over `tokens` tokens a rank's load is about normal, and the step waits for the most loaded of the
    ep ranks (the combine all-to-all synchronises them): mean + sigma * E[max of ep normals]. Uniform
    routing is an assumption and the *least* imbalance a real router shows (learned routers skew more)."""
    if ep <= 1:
        return np.ones_like(np.asarray(tokens, dtype=np.float64))[()]
    t = np.maximum(np.asarray(tokens, dtype=np.float64), 1e-9)
    p = 1.0 / ep
    var_per_token = top_k * p * (1.0 - p) * (num_experts - top_k) / max(num_experts - 1, 1)
    mean = t * top_k * p
    return (1.0 + np.sqrt(t * var_per_token) * expected_max_normal(ep) / mean)[()]


def moe_ops(spec: MoESpec, p: ForwardPass, layer: str, count: int, hidden: int) -> list[Op]:
    """Router, routed experts as one grouped GEMM per projection, shared experts, EP all-to-all.

    With ep > 1, experts are sharded over `ep` GPUs and each GPU receives the routed tokens of all
    attention-DP groups destined to its experts, timed on the most loaded rank; with ep == 1, every
    expert is TP-sharded."""
    t = p.tokens
    ops = [gemm("moe.router", layer, count, p, t, spec.num_experts, hidden)]
    if p.ep > 1:
        experts_here = spec.num_experts / p.ep
        expert_inter = spec.expert_intermediate_size
        # tokens of the whole EP group (TP ranks hold the same tokens): every rank carrying this rank's,
        # unless the step says what the ranks carry together (lock-step ranks of unequal batches)
        own_group = t * p.attention_dp
        group_tokens = own_group if p.shape.group_tokens is None else p.shape.group_tokens
        # the most loaded rank sets the pace (uniform routing; see ep_load_imbalance)
        imbalance = ep_load_imbalance(spec.num_experts, spec.top_k, p.ep, group_tokens)
        own_imbalance = imbalance if p.shape.group_tokens is None else \
            ep_load_imbalance(spec.num_experts, spec.top_k, p.ep, own_group)
        routed = group_tokens * spec.top_k / p.ep * imbalance
    else:
        experts_here = float(spec.num_experts)
        expert_inter = math.ceil(spec.expert_intermediate_size / p.tp)
        group_tokens = t
        routed = t * spec.top_k
    active = np.minimum(experts_here, expected_active_experts(spec.num_experts, spec.top_k, group_tokens)
                        * experts_here / spec.num_experts)
    up = up_width(expert_inter, spec.activation)
    for name, n, k in (("moe.experts_up", up, hidden), ("moe.experts_down", hidden, expert_inter)):
        ops.append(Op(
            name=name, kind="grouped_gemm", layer=layer, count=count, flops=2.0 * routed * n * k,
            weight_bytes=active * n * k * p.weight_bpe,
            act_bytes=routed * (k * p.act_bpe + n * OUTPUT_BYTES), compute_class=p.gemm_class,
            gemm_mnk=(np.maximum(np.floor(routed / np.maximum(active, 1.0)), 1.0), n, k),
            groups=np.maximum(np.round(active), 1.0),
        ))
    if spec.num_shared_experts:
        shared = MLPSpec(intermediate_size=spec.shared_intermediate_size, activation=spec.activation)
        for op in mlp_ops(shared, p, layer, count, hidden):
            ops.append(replace(op, name="moe.shared_" + op.name.split(".")[1]))
    if p.ep > 1:
        # dispatch and combine: each rank's share of its group's tokens goes to top_k experts (the busiest
        # receiver's rows; DeepEP's normal kernels deduplicate them, `deepep_normal_share`); dispatch in the
        # pass's dispatch format, combine in BF16
        # (its own tokens' rows: in a lock-step group the exchange lasts as long as its heaviest sender's)
        rows = t / p.tp * spec.top_k * hidden * own_imbalance
        if p.moe_a2a == "deepep" and p.deepep_mode != "low_latency":
            share = deepep_normal_share(spec, p.ep, p.scaleup_domain)
            normal = p.shape.prefill.tokens > 0 if p.deepep_mode == "auto" else True  # auto: by the step
            rows = rows * np.where(normal, share, 1.0)[()]
        for name, bpe in (("moe.dispatch", p.dispatch_bpe), ("moe.combine", OUTPUT_BYTES)):
            ops.append(Op(name=name, kind="collective", layer=layer, count=count,
                          collective=Collective(kind="all_to_all", bytes=rows * bpe, group=p.ep, backend=p.moe_a2a)))
    return ops
