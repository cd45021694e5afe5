"""Every preset's parameter counts against the published figures, and its cache sizes against the
values derived in the shared reference (models.json `derived`, copied here as numbers)."""

from __future__ import annotations

import pytest

from coscale.models import (
    count_params,
    kv_cache_bytes_per_sequence,
    kv_cache_bytes_per_token,
    list_presets,
    load_model,
    preset_info,
    ssm_state_bytes_per_sequence,
)

PRESETS = [
    "llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "llama-2-70b", "qwen3-8b", "qwen3-32b",
    "qwen3-30b-a3b", "qwen3-235b-a22b", "mixtral-8x7b", "deepseek-v3", "gpt-oss-20b", "gpt-oss-120b",
    "nemotron-h-8b", "nemotron-h-56b", "nemotron-nano-9b-v2", "nemotron-3-nano-30b-a3b", "mamba2-2.7b",
    "jamba-1.5-mini", "gpt3-175b", "bge-large-en-v1.5", "bge-reranker-large", "whisper-large-v3", "orpheus-3b",
]  # fmt: skip

# models.json "derived": kv_cache_bytes_per_token_bf16 (gpt-3: fp16, same 2 bytes)
KV_BF16 = {
    "llama-3.1-8b": 131072, "llama-3.1-70b": 327680, "llama-3.1-405b": 516096, "llama-2-70b": 327680,
    "qwen3-8b": 147456, "qwen3-32b": 262144, "qwen3-235b-a22b": 192512, "qwen3-30b-a3b": 98304,
    "mixtral-8x7b": 131072, "deepseek-v3": 70272, "gpt-oss-20b": 24576, "gpt-oss-120b": 36864,
    "nemotron-h-8b": 16384, "nemotron-h-56b": 40960, "nemotron-nano-9b-v2": 16384,
    "nemotron-3-nano-30b-a3b": 6144, "jamba-1.5-mini": 16384, "gpt3-175b": 4718592, "mamba2-2.7b": 0,
    # encoders hold K/V only during their pass; Whisper's decoder self-attention (cross K/V is per sequence)
    "bge-large-en-v1.5": 98304, "bge-reranker-large": 98304, "whisper-large-v3": 163840, "orpheus-3b": 114688,
}  # fmt: skip


def test_all_23_presets_are_listed() -> None:
    assert list_presets() == sorted(PRESETS)


@pytest.mark.parametrize("pid", PRESETS)
def test_params_within_one_percent_of_published(pid: str) -> None:
    info = preset_info(pid)
    count = count_params(load_model(pid))
    active = count.active if info.active_counts_input_embedding else count.active_excluding_input_embedding
    assert count.total == pytest.approx(info.params_total, rel=0.01)
    assert active == pytest.approx(info.params_active, rel=0.01)
    assert count.active <= count.total


@pytest.mark.parametrize("pid", PRESETS)
def test_kv_bytes_per_token_bf16(pid: str) -> None:
    assert kv_cache_bytes_per_token(load_model(pid), 2) == KV_BF16[pid]


def test_exact_third_party_count_nemotron_h_8b() -> None:
    assert count_params(load_model("nemotron-h-8b")).total == 8_100_852_736


def test_gpt_oss_active_conventions() -> None:
    c = count_params(load_model("gpt-oss-20b"))
    assert c.active == pytest.approx(4.19e9, rel=0.005)  # embedding counted
    assert c.active_excluding_input_embedding == pytest.approx(3.61e9, rel=0.005)  # model card


def test_deepseek_mtp_is_noted_not_counted() -> None:
    spec = load_model("deepseek-v3")
    assert any("multi-token" in n for n in spec.notes)
    assert [layer.kind for layer in spec.layers[:4]] == ["mla+mlp"] * 3 + ["mla+moe"]


@pytest.mark.parametrize(
    ("pid", "window_layers", "capped_bytes"),
    [("gpt-oss-20b", 12, 3145728), ("gpt-oss-120b", 18, 4718592)],
)
def test_sliding_layers_capped_at_window(pid: str, window_layers: int, capped_bytes: int) -> None:
    spec = load_model(pid)
    per_token = kv_cache_bytes_per_token(spec, 2)
    for ctx in (1, 100, 128, 129, 4096, 131072):
        expected = per_token * ctx + capped_bytes * min(ctx, 128) / 128
        assert kv_cache_bytes_per_sequence(spec, ctx, 2) == expected
    assert sum(1 for layer in spec.layers if layer.kind == "swa+moe") == window_layers


@pytest.mark.parametrize(
    ("pid", "state"),
    [("nemotron-h-8b", 51806208), ("mamba2-2.7b", 85950464)],
)
def test_ssm_state_bytes_bf16(pid: str, state: int) -> None:
    assert ssm_state_bytes_per_sequence(load_model(pid), 2) == state


def test_ssm_state_mamba1_jamba() -> None:
    # 28 Mamba-1 layers, d_inner 8192: conv 8192*3 + ssm 8192*16 elements each
    assert ssm_state_bytes_per_sequence(load_model("jamba-1.5-mini"), 2) == 28 * (8192 * 3 + 8192 * 16) * 2


@pytest.mark.parametrize(
    ("pid", "counts"),
    [
        ("nemotron-h-8b", {"mamba2": 24, "mlp": 24, "attention": 4}),
        ("nemotron-h-56b", {"mamba2": 54, "mlp": 54, "attention": 10}),
        ("nemotron-nano-9b-v2", {"mamba2": 27, "mlp": 25, "attention": 4}),
        ("nemotron-3-nano-30b-a3b", {"mamba2": 23, "moe": 23, "attention": 6}),
        ("jamba-1.5-mini", {"mamba1+mlp": 12, "mamba1+moe": 16, "attention+mlp": 4}),
        ("deepseek-v3", {"mla+mlp": 3, "mla+moe": 58}),
        ("gpt-oss-20b", {"swa+moe": 12, "attention+moe": 12}),
        ("mamba2-2.7b", {"mamba2": 64}),
        ("bge-large-en-v1.5", {"bidirectional+mlp": 24}),
        ("whisper-large-v3", {"attention": 32, "cross_attention+mlp": 32}),
    ],
)
def test_layer_kind_counts(pid: str, counts: dict[str, int]) -> None:
    got: dict[str, int] = {}
    for layer in load_model(pid).layers:
        got[layer.kind] = got.get(layer.kind, 0) + 1
    assert got == counts


def test_jamba_layer_positions() -> None:
    layers = load_model("jamba-1.5-mini").layers
    assert [i for i, layer in enumerate(layers) if layer.kind.startswith("attention")] == [4, 12, 20, 28]
    assert [i for i, layer in enumerate(layers) if layer.kind.endswith("moe")] == list(range(1, 32, 2))


def test_nemotron_attention_positions() -> None:
    layers = load_model("nemotron-nano-9b-v2").layers
    assert [i for i, layer in enumerate(layers) if layer.kind == "attention"] == [14, 21, 30, 39]


def test_mamba2_vocab_is_padded() -> None:
    spec = load_model("mamba2-2.7b")
    assert spec.vocab_size == 50288 and spec.tie_word_embeddings
    assert spec.architecture == "MambaLMHeadModel"


# Vendor-reported counts as printed (the rounding of the printed figure sets its precision), and
# whether the vendor's active figure includes the input embedding. DeepSeek-V3's "37B activated"
# matches 36.6B without the input embedding (37.6B with it would print as 38B).
VENDOR = {
    "llama-3.1-8b": ("8B", "8B", True), "llama-3.1-70b": ("70B", "70B", True),
    "llama-3.1-405b": ("405B", "405B", True), "llama-2-70b": ("69B", "69B", True),
    "qwen3-8b": ("8.2B", "8.2B", True), "qwen3-32b": ("32.8B", "32.8B", True),
    "qwen3-30b-a3b": ("30.5B", "3.3B", True), "qwen3-235b-a22b": ("235B", "22B", True),
    "mixtral-8x7b": ("46.7B", "12.9B", True), "deepseek-v3": ("671B", "37B", False),
    "gpt-oss-20b": ("20.9B", "3.6B", False), "gpt-oss-120b": ("116.8B", "5.1B", False),
    "nemotron-h-8b": ("8B", "8B", True), "nemotron-h-56b": ("56B", "56B", True),
    "nemotron-nano-9b-v2": ("8.89B", "8.89B", True), "nemotron-3-nano-30b-a3b": ("31.6B", "3.6B", True),
    "mamba2-2.7b": ("2.7B", "2.7B", True), "jamba-1.5-mini": ("52B", "12B", True),
    "gpt3-175b": ("175.0B", "175.0B", True),
    "bge-large-en-v1.5": ("0.335B", "0.335B", True), "bge-reranker-large": ("0.560B", "0.560B", True),
    "whisper-large-v3": ("1.55B", "1.55B", True), "orpheus-3b": ("3B", "3B", True),
}  # fmt: skip


def _within_vendor_figure(computed: float, printed: str) -> bool:
    """Within 1 %, or consistent with the printed figure rounded or truncated to its last digit
    (Qwen prints 3.35B active as "3.3B": 3.3B covers 3.25B up to 3.4B)."""
    digits = printed[:-1]
    value = float(digits) * 1e9
    unit = 10.0 ** -(len(digits.split(".")[1]) if "." in digits else 0) * 1e9
    return abs(computed - value) <= 0.01 * value or value - unit / 2 <= computed < value + unit


@pytest.mark.parametrize("pid", PRESETS)
def test_params_match_vendor_figures(pid: str) -> None:
    total, active, with_embedding = VENDOR[pid]
    count = count_params(load_model(pid))
    assert _within_vendor_figure(count.total, total), (count.total, total)
    computed_active = count.active if with_embedding else count.active_excluding_input_embedding
    assert _within_vendor_figure(computed_active, active), (computed_active, active)
