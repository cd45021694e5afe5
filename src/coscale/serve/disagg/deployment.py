"""A disaggregated deployment: a prefill pool and a decode pool, each a `Deployment` of its own chip,
GPUs, parallel layout and engine settings, joined by a KV link; and how it is built."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from coscale.errors import CoscaleError
from coscale.models.cache import kv_cache_bytes_per_sequence
from coscale.serve.disagg.link import KvPath, kv_path
from coscale.serve.field_words import rename_fields
from coscale.serve.scenario import Built, Deployment, build


@dataclass(frozen=True, kw_only=True, slots=True)
class DisaggDeployment:
    prefill: Deployment
    decode: Deployment
    kv_link: str = "infiniband"
    kv_link_efficiency: float | None = None  # None: the link kind's sourced default
    # the decode side reuses the prompt prefix it already caches and pulls only the rest over the link
    # (vLLM's NixlConnector); the decode instance is then picked by Dynamo's KV-router cost
    decode_prefix_reuse: bool = False

    @property
    def gpus(self) -> int:
        return _gpus(self.prefill) + _gpus(self.decode)


def _gpus(d: Deployment) -> int:
    return d.gpus if d.gpus is not None else max(d.tp, d.ep) * d.pp


@dataclass(frozen=True, kw_only=True, slots=True)
class DisaggBuilt:
    prefill: Built
    decode: Built
    path: KvPath
    decode_prefix_reuse: bool = False
    decode_overlap_weight: float = 1.0  # the KV-router cost's weight of blocks to pull (decode prefix reuse)
    _kv_memo: dict[int, float] = field(default_factory=dict, repr=False, compare=False)

    def kv_bytes(self, tokens: int) -> float:
        """KV bytes of `tokens` prompt tokens of one request (all layers, all KV heads), memoised."""
        got = self._kv_memo.get(tokens)
        if got is None:
            got = self._kv_memo[tokens] = float(kv_cache_bytes_per_sequence(
                self.prefill.model, tokens, self.prefill.precision.kv_cache.bytes_per_element))
        return got

    @property
    def layers(self) -> int:
        return self.prefill.model.num_layers

    @property
    def gpus(self) -> int:
        return self.prefill.parallel.gpus + self.decode.parallel.gpus


POOL_FLAGS = ("hardware", "gpus", "tp", "pp", "ep")  # the deployment flags each pool has its own of


def _pool(d: Deployment, name: str) -> Built:
    """A pool's build; with EP each attention-DP rank is an instance with its own batch and KV pool,
    costed by the core as one rank of a group whose ranks carry the same tokens. A DeepEP all-to-all
    runs the normal kernels on the prefill pool and the low-latency ones on the decode pool, as SGLang's
    disaggregated servers are launched (--deepep-mode normal / low_latency, sglang issue #6017)."""
    try:
        return build(d, deepep_mode="normal" if name == "prefill" else "low_latency")
    except CoscaleError as e:  # naming the pool's own flags (`prefill.parallel.tp`: --prefill-tp)
        own = rename_fields(str(e), lambda f: f"--{name}-{f}" if f in POOL_FLAGS else None,
                            lambda f: f"{name}.parallel.{f}")
        raise CoscaleError(f"the {name} pool cannot run the model: {own}") from None


def build_disagg(d: DisaggDeployment) -> DisaggBuilt:
    if d.prefill.model != d.decode.model:
        raise CoscaleError(f"the prefill pool serves '{d.prefill.model}' but the decode pool '{d.decode.model}'; "
                           f"both pools must serve one model.")
    if d.decode.kv_offload is not None and d.decode.kv_offload.tiers and not d.decode_prefix_reuse:
        raise CoscaleError("KV tiers on the decode pool need decode prefix reuse (without it the decode side "
                           "receives each prompt's whole KV and never reads a prefix); turn on "
                           "--decode-prefix-reuse or give kv_offload to the prefill pool.")
    if d.decode_prefix_reuse and not d.decode.prefix_caching:
        raise CoscaleError("decode prefix reuse needs prefix caching on the decode pool; turn the decode "
                           "pool's prefix_caching on or decode_prefix_reuse off.")
    p, dec = _pool(d.prefill, "prefill"), _pool(d.decode, "decode")
    if p.precision.kv_cache.bytes_per_element != dec.precision.kv_cache.bytes_per_element:
        raise CoscaleError("the pools keep the KV cache in different formats; give both the same --kv-precision.")
    # a transfer leaves one prefill instance (an attention-DP rank's TP x PP GPUs with EP) for one decode instance
    path = kv_path(d.kv_link, p.system.hardware, p.parallel.gpus, p.parallel.tp * p.parallel.pp,
                   dec.system.hardware, dec.parallel.gpus, dec.parallel.tp * dec.parallel.pp, d.kv_link_efficiency)
    return DisaggBuilt(prefill=p, decode=dec, path=path, decode_prefix_reuse=d.decode_prefix_reuse,
                       decode_overlap_weight=d.decode.router_overlap_weight)


def with_pools(d: DisaggDeployment, **prefill_and_decode) -> DisaggDeployment:
    """A copy with fields of the pools changed: `prefill_gpus=4, decode_tp=2, ...`."""
    pre = {k[8:]: v for k, v in prefill_and_decode.items() if k.startswith("prefill_")}
    dec = {k[7:]: v for k, v in prefill_and_decode.items() if k.startswith("decode_")}
    return replace(d, prefill=replace(d.prefill, **pre), decode=replace(d.decode, **dec))
