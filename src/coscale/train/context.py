"""Everything fixed across the layouts of one question, plus the per-shape cost cache.

The planner evaluates thousands of layouts that share few distinct (tp, cp, ep, micro-batch)
shapes; per-layer costs depend only on those, so they are computed once here and reused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coscale.cost.efficiency import EfficiencyModel
from coscale.specs.hardware import Link, System
from coscale.specs.model import LayerSpec, ModelSpec
from coscale.train.costs import LayerCosts, head_costs, layer_costs
from coscale.train.flops import SampleFlops, sample_flops
from coscale.train.layout import TrainLayout, TrainOptions
from coscale.train.memory import Composition, StageParams, stage_compositions, stage_params, unique_layers
from coscale.train.passes import ShardKey
from coscale.train.precision import TrainingPrecision
from coscale.train.topology import GroupPlacement, link_pair


@dataclass(frozen=True, kw_only=True, slots=True)
class ShardCosts:
    layers: tuple[LayerCosts, ...]  # aligned with TrainingContext.unique_layers()
    first: LayerCosts  # embedding (first stage)
    last: LayerCosts  # LM head + loss (last stage)


@dataclass(kw_only=True, slots=True)
class TrainingContext:
    model: ModelSpec
    system: System
    precision: TrainingPrecision
    options: TrainOptions = field(default_factory=TrainOptions)
    efficiency: EfficiencyModel | None = None  # None: the chip family's model (system.hardware.efficiency)
    _cache: dict[tuple[ShardKey, tuple[bool, bool, bool]], ShardCosts] = field(default_factory=dict)
    _flops: dict[int, SampleFlops] = field(default_factory=dict)
    _unique: list[LayerSpec] = field(default_factory=list)
    _links: list[Link] = field(default_factory=list)
    _stages: dict[tuple[int, int], tuple[Composition, ...]] = field(default_factory=dict)
    _params: dict[tuple[int, int, int, int], list[StageParams]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.efficiency is None:
            self.efficiency = self.system.hardware.efficiency

    def shard_costs(self, key: ShardKey, groups: GroupPlacement) -> ShardCosts:
        domain = self.system.hardware.links.scaleup.domain_size
        links = tuple(groups.intra_domain(kind, domain) for kind in ("tp", "cp", "ep"))
        cached = self._cache.get((key, links))
        if cached is None:
            args = (self.model, key, self.system, self.precision, self.efficiency, groups)
            first, last = head_costs(*args, self.options)
            cached = ShardCosts(layers=layer_costs(*args, self.options, self.unique_layers()), first=first, last=last)
            self._cache[(key, links)] = cached
        return cached

    def links(self) -> tuple[Link, Link]:
        if not self._links:
            self._links.extend(link_pair(self.system))
        return self._links[0], self._links[1]

    def unique_layers(self) -> tuple[LayerSpec, ...]:
        if not self._unique:
            self._unique.extend(unique_layers(self.model))
        return tuple(self._unique)

    def stage_compositions(self, pp: int, vp: int) -> tuple[Composition, ...]:
        if (pp, vp) not in self._stages:
            self._stages[(pp, vp)] = stage_compositions(self.model, pp, vp)
        return self._stages[(pp, vp)]

    def stage_params(self, layout: TrainLayout) -> list[StageParams]:
        key = (layout.tp, layout.pp, layout.vp, layout.ep)
        if key not in self._params:
            self._params[key] = stage_params(self.model, layout, self.stage_compositions(layout.pp, layout.vp))
        return self._params[key]

    def sample_flops(self, seq_len: int) -> SampleFlops:
        if seq_len not in self._flops:
            self._flops[seq_len] = sample_flops(self.model, seq_len, self.system.hardware, self.precision)
        return self._flops[seq_len]
