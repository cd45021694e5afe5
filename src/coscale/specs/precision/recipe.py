"""`PrecisionRecipe`: the one precision type of coscale. It maps tensor roles to storage formats
for the inference cost model and the training planner, and (for recipes the lab can run) the six
operands of a linear layer's three GEMMs to `coscale.numerics` quantizers for emulation.

Roles: `weights` and `activations` are the GEMM operands (forward; in training `weights` is the
low-precision copy the GEMMs read), `grad_outputs` the dY operand of the backward GEMMs,
`kv_cache` and `ssm_state` the per-sequence inference state, `working_weights` the 16-bit
parameters every non-GEMM op reads (and quantised copies are cast from), `gradients` the weight
gradients, `grad_accumulation` the buffer they accumulate in when FP32 accumulation is on
(Megatron `main_grad`), `master_weights` and `optimizer_state` (per Adam moment) the optimizer's.
Every recipe keeps FP32 master weights and FP32 Adam moments (12 bytes/param, ZeRO's "K = 12",
Rajbhandari et al. 2020 Sec. 3.1) and 16-bit working weights and gradients.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Literal

from coscale.errors import CoscaleError
from coscale.numerics.qlinear_config import QuantLinearConfig
from coscale.specs.precision.formats import STORAGE_FORMATS, StorageFormat

Use = Literal["inference", "training", "lab"]
USES: tuple[Use, ...] = ("inference", "training", "lab")
ADAM_MOMENTS = 2  # Adam keeps a first and a second moment per parameter (Kingma & Ba 2015)

_BF16 = STORAGE_FORMATS["bf16"]
_FP32 = STORAGE_FORMATS["fp32"]


@dataclass(frozen=True, kw_only=True, slots=True)
class PrecisionRecipe:
    name: str
    description: str
    uses: tuple[Use, ...]  # the commands the recipe means something to
    weights: StorageFormat
    activations: StorageFormat  # GEMM input; with `weights` it decides the tensor-core class
    grad_outputs: StorageFormat = _BF16
    kv_cache: StorageFormat = _BF16
    ssm_state: StorageFormat = _BF16  # Mamba conv + SSM state (vLLM's mamba_ssm_cache_dtype = model dtype)
    working_weights: StorageFormat = _BF16
    gradients: StorageFormat = _BF16
    grad_accumulation: StorageFormat = _FP32
    master_weights: StorageFormat = _FP32
    optimizer_state: StorageFormat = _FP32
    # training: quantised copies of each weight the GEMMs read (0: they read the working weights;
    # 2: row- and column-wise copies, since 1-D block scales run along one axis only and Hopper
    # FP8 GEMMs take K-major operands, so dgrad needs a transposed copy)
    weight_copies: int = 0
    # lab emulation: quantizers of the six GEMM operands (None: not a lab recipe; all-None operands: BF16)
    linears: QuantLinearConfig | None = None
    bf16_first_blocks: int = 0  # blocks at the start of the network kept in BF16
    bf16_last_blocks: int = 0  # blocks at the end kept in BF16 (NVFP4 keeps ~15% of linears, mostly last)

    def __post_init__(self) -> None:
        bad = [u for u in self.uses if u not in USES]
        if not self.uses or bad:
            raise CoscaleError(f"recipe {self.name!r}: uses must be some of {', '.join(USES)}, got {self.uses}")
        if ("lab" in self.uses) != (self.linears is not None):
            raise CoscaleError(f"recipe {self.name!r}: a lab recipe needs `linears`, and only a lab recipe has them")
        if self.weight_copies < 0 or min(self.bf16_first_blocks, self.bf16_last_blocks) < 0:
            raise CoscaleError(f"recipe {self.name!r}: weight_copies and bf16 block counts must be >= 0")

    # inference
    @property
    def weight_only(self) -> bool:
        return self.weights.bytes_per_element < self.activations.bytes_per_element

    def with_kv_cache(self, kv: StorageFormat) -> PrecisionRecipe:
        return replace(self, kv_cache=kv)

    # training: tensor-core classes and bytes per parameter of the model state
    @property
    def gemm_class(self) -> str:
        """Forward, dgrad and wgrad GEMMs (weight-only recipes compute at activation precision)."""
        return self.activations.compute_class

    @property
    def attention_class(self) -> str:
        """FlashAttention runs at the working precision in every published FP8/FP4 recipe."""
        return self.working_weights.compute_class

    @property
    def mfu_class(self) -> str:
        """The peak a published MFU is quoted against (NVIDIA's FP8 MFU uses the FP8 peak)."""
        return self.gemm_class

    @property
    def low_precision_gemms(self) -> bool:
        """GEMM inputs are cast below the working precision (each cast is its own kernel)."""
        return self.activations.bytes_per_element < self.working_weights.bytes_per_element

    @property
    def working_weight_bytes(self) -> float:
        return self.working_weights.bytes_per_element

    @property
    def low_precision_weight_bytes(self) -> float:
        return self.weight_copies * self.weights.bytes_per_element

    @property
    def grad_bytes(self) -> float:
        return self.gradients.bytes_per_element

    @property
    def fp32_grad_accum_bytes(self) -> float:
        """Extra bytes when gradients accumulate in the wider buffer (16 -> 18 bytes/param)."""
        return self.grad_accumulation.bytes_per_element - self.gradients.bytes_per_element

    @property
    def master_weight_bytes(self) -> float:
        return self.master_weights.bytes_per_element

    @property
    def adam_state_bytes(self) -> float:
        return ADAM_MOMENTS * self.optimizer_state.bytes_per_element

    # lab
    @property
    def quantized(self) -> bool:
        return self.linears is not None and any(getattr(self.linears, f.name) is not None for f in fields(self.linears))

    def block_is_high_precision(self, index: int, n_blocks: int) -> bool:
        return index < self.bf16_first_blocks or index >= n_blocks - self.bf16_last_blocks
