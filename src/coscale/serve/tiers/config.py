"""What the user asks of the KV tiers: which tiers, their sizes, what is kept and when it is stored.

`--kv-offload dram[,nvme[,shared]]` names the tiers below GPU memory, top to bottom; sizes default to
the chip's per-GPU host DRAM and NVMe (`coscale.specs.hardware.MemorySpec`) and to the pod storage
figure in `shared_storage.json`; `--dram-kv-gib` / `--nvme-kv-gib` (per GPU) and `--shared-kv-gib`
(per pod) override them. A size of 0 switches a tier off; a size between 0 and one KV block is an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from coscale.commalist import comma_items
from coscale.errors import CoscaleError
from coscale.serve.field_words import rename_fields

TIER_ORDER = ("dram", "nvme", "shared")
KEEPS = ("prompt", "prompt+decode")
STORES = ("on_evict", "write_through")
Keep = Literal["prompt", "prompt+decode"]
Store = Literal["on_evict", "write_through"]


@dataclass(frozen=True, kw_only=True, slots=True)
class OffloadConfig:
    """`tiers` top to bottom; sizes in GiB (dram/nvme per GPU, shared per pod; None: the hardware's).

    `keep`: which blocks go down when GPU memory evicts them: prompt blocks only, or also the blocks
    of generated tokens (published when a request finishes). `store`: `on_evict` copies a block out
    when GPU memory reuses it (exclusive tiers: a block lives in one place); `write_through` copies
    every prompt block to the top tier as soon as its prefill completes (LMCache's store path), so the
    copy is paid even when the GPU prefix cache would have hit."""

    tiers: tuple[str, ...] = ()
    dram_gib: float | None = None
    nvme_gib: float | None = None
    shared_gib: float | None = None
    keep: Keep = "prompt"
    store: Store = "on_evict"

    def __post_init__(self) -> None:
        for t in self.tiers:
            if t not in TIER_ORDER:
                raise CoscaleError(f"unknown KV tier '{t}'; --kv-offload takes a comma list of "
                                   f"{', '.join(TIER_ORDER)}.")
        if len(set(self.tiers)) != len(self.tiers):
            raise CoscaleError(f"KV tier listed twice in --kv-offload {','.join(self.tiers)}; name each once.")
        if list(self.tiers) != sorted(self.tiers, key=TIER_ORDER.index):
            raise CoscaleError(f"--kv-offload {','.join(self.tiers)} is out of order; tiers go top to bottom: "
                               f"{','.join(t for t in TIER_ORDER if t in self.tiers)}.")
        for name in ("dram_gib", "nvme_gib", "shared_gib"):
            v = getattr(self, name)
            flag = f"--{name.replace('_gib', '-kv-gib')}"
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < math.inf):
                raise CoscaleError(f"{flag} must be a finite number >= 0 GiB, got {v!r}.")
            tier = name.removesuffix("_gib")
            if v is not None and tier not in self.tiers:
                raise CoscaleError(f"{flag} sizes the {tier} tier, which --kv-offload does not list; add {tier} "
                                   f"to --kv-offload or drop {flag}.")
        if self.keep not in KEEPS:
            raise CoscaleError(f"unknown --kv-keep '{self.keep}'; use one of {', '.join(KEEPS)}.")
        if self.store not in STORES:
            raise CoscaleError(f"unknown --kv-store '{self.store}'; use one of {', '.join(STORES)}.")

    def size_gib(self, tier: str) -> float | None:
        return {"dram": self.dram_gib, "nvme": self.nvme_gib, "shared": self.shared_gib}[tier]


KEY_OF_FLAG = {"kv-offload": "tiers", "dram-kv-gib": "dram_gib", "nvme-kv-gib": "nvme_gib",
               "shared-kv-gib": "shared_gib", "kv-keep": "keep", "kv-store": "store"}  # flag -> section key


def parse_tiers(text: str | None) -> tuple[str, ...]:
    """`dram,nvme` -> ('dram', 'nvme'); 'none' -> ()."""
    if text is None:
        return ()
    parts = tuple(p.lower() for p in comma_items(text, "--kv-offload"))
    return () if parts == ("none",) else parts


def offload_config(value: object) -> OffloadConfig | None:
    """An OffloadConfig from a scenario file's `kv_offload` section (an object, or a tier list string);
    its errors name the section's keys, not the flags that set them on the command line."""
    if value is None or isinstance(value, OffloadConfig):
        return value
    try:
        return _section(value)
    except CoscaleError as e:
        raise CoscaleError(f"scenario 'kv_offload': {rename_fields(str(e), KEY_OF_FLAG.get)}") from None


def _section(value: object) -> OffloadConfig:
    if isinstance(value, str):
        return OffloadConfig(tiers=parse_tiers(value))
    if not isinstance(value, dict):
        raise CoscaleError("give a tier list like \"dram,nvme\" or an object "
                           "{\"tiers\": [...], \"dram_gib\": ..., \"keep\": ..., \"store\": ...}.")
    known = ("tiers", "dram_gib", "nvme_gib", "shared_gib", "keep", "store")
    bad = sorted(set(value) - set(known))
    if bad:
        raise CoscaleError(f"unknown key '{bad[0]}'; use {', '.join(known)}.")
    d = dict(value)
    tiers = d.pop("tiers", ())
    if not isinstance(tiers, str | list):
        raise CoscaleError(f"tiers must be a list like [\"dram\", \"nvme\"] or a string \"dram,nvme\", "
                           f"got {tiers!r}.")
    d["tiers"] = parse_tiers(tiers) if isinstance(tiers, str) else tuple(str(t).lower() for t in tiers)
    return OffloadConfig(**d)
