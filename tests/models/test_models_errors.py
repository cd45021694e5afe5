"""Every bad input becomes one CoscaleError naming the problem (never a KeyError/traceback)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coscale.cli.describe_cmd import describe
from coscale.errors import CoscaleError
from coscale.models import kv_cache_bytes_per_sequence, kv_cache_bytes_per_token, load_model
from coscale.specs.precision import get_kv_format

PRESET_DIR = Path(__file__).parents[2] / "src" / "coscale" / "models" / "presets"


def preset(pid: str) -> dict[str, Any]:
    return json.loads((PRESET_DIR / f"{pid}.json").read_text())


def write(tmp_path: Path, data: Any) -> str:
    path = tmp_path / "config.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def expect(tmp_path: Path, data: Any, *fragments: str) -> None:
    with pytest.raises(CoscaleError) as info:
        load_model(write(tmp_path, data))
    msg = str(info.value)
    assert "\n" not in msg
    for frag in fragments:
        assert frag in msg, msg


def test_unknown_id_suggests_close_matches() -> None:
    with pytest.raises(CoscaleError, match=r"did you mean llama-3\.1-8b"):
        load_model("llama-3.1-8")
    with pytest.raises(CoscaleError, match="qwen3-32b"):
        load_model("qwen3-23b")
    with pytest.raises(CoscaleError, match="coscale list models"):
        load_model("zzzzzz")
    with pytest.raises(CoscaleError, match="empty"):
        load_model(" ")


def test_directory_without_config(tmp_path: Path) -> None:
    with pytest.raises(CoscaleError, match=r"no config\.json"):
        load_model(str(tmp_path))


def test_malformed_json(tmp_path: Path) -> None:
    expect(tmp_path, '{"architectures": ["LlamaForCausalLM"], ', "not valid JSON")
    expect(tmp_path, "[1, 2]", "not an object")


def test_missing_or_bad_architectures(tmp_path: Path) -> None:
    expect(tmp_path, {"hidden_size": 8}, "'architectures' is missing")
    expect(tmp_path, {"architectures": []}, "non-empty list")


def test_unknown_architecture_lists_supported(tmp_path: Path) -> None:
    expect(
        tmp_path, {"architectures": ["BertForMaskedLM"]}, "BertForMaskedLM", "LlamaForCausalLM", "NemotronHForCausalLM"
    )


@pytest.mark.parametrize(
    ("pid", "key"),
    [
        ("llama-3.1-8b", "intermediate_size"),
        ("llama-3.1-8b", "num_hidden_layers"),
        ("mixtral-8x7b", "num_local_experts"),
        ("qwen3-30b-a3b", "moe_intermediate_size"),
        ("deepseek-v3", "kv_lora_rank"),
        ("gpt-oss-20b", "sliding_window"),
        ("nemotron-h-8b", "hybrid_override_pattern"),
        ("nemotron-h-8b", "mamba_num_heads"),
        ("nemotron-3-nano-30b-a3b", "n_routed_experts"),
        ("jamba-1.5-mini", "attn_layer_period"),
        ("mamba2-2.7b", "d_model"),
        ("gpt3-175b", "n_head"),
    ],
)
def test_missing_required_key_is_named(tmp_path: Path, pid: str, key: str) -> None:
    data = preset(pid)
    del data[key]
    # a mamba_ssm config without d_model is no longer recognisable, so it is asked for 'architectures'
    expect(tmp_path, data, "architectures" if key == "d_model" else repr(key), "config.json")


@pytest.mark.parametrize("value", [0, -4, 2.5, "4096", True])
@pytest.mark.parametrize(
    ("pid", "key"),
    [
        ("llama-3.1-8b", "hidden_size"),
        ("nemotron-h-8b", "ssm_state_size"),
        ("gpt3-175b", "n_layer"),
        ("deepseek-v3", "num_attention_heads"),
    ],
)
def test_non_positive_or_non_integer_sizes(tmp_path: Path, pid: str, key: str, value: Any) -> None:
    data = preset(pid)
    data[key] = value
    expect(tmp_path, data, repr(key))


def test_inconsistent_shapes(tmp_path: Path) -> None:
    data = preset("nemotron-h-8b")
    data["hybrid_override_pattern"] = data["hybrid_override_pattern"][:-1]
    expect(tmp_path, data, "51 characters", "num_hidden_layers=52")
    data = preset("nemotron-h-8b")
    data["hybrid_override_pattern"] = "X" + data["hybrid_override_pattern"][1:]
    expect(tmp_path, data, "unknown block", "'X'")
    data = preset("llama-3.1-8b")
    data["num_key_value_heads"] = 5
    expect(tmp_path, data, "not a multiple")
    data = preset("gpt-oss-20b")
    data["layer_types"] = data["layer_types"][:-1]
    expect(tmp_path, data, "layer_types has 23 entries")
    data = preset("gpt-oss-20b")
    data["layer_types"][0] = "chunked_attention"
    expect(tmp_path, data, "chunked_attention")
    data = preset("mixtral-8x7b")
    data["num_experts_per_tok"] = 9
    expect(tmp_path, data, "exceeds")
    data = preset("llama-3.1-8b")
    data["hidden_act"] = "gelu"
    expect(tmp_path, data, "hidden_act")
    data = preset("nemotron-3-nano-30b-a3b")
    data["moe_latent_size"] = 1024
    expect(tmp_path, data, "moe_latent_size")
    data = preset("gpt3-175b")
    data["n_head"] = 100
    expect(tmp_path, data, "n_embd / n_head")


def test_bad_precision_and_sizes() -> None:
    with pytest.raises(CoscaleError, match=r"unknown KV-cache precision 'fp3'.*nvfp4"):
        get_kv_format("fp3")
    with pytest.raises(CoscaleError, match="unknown KV-cache precision"):
        describe("llama-3.1-8b", ["fp3"], True)
    spec = load_model("llama-3.1-8b")
    with pytest.raises(CoscaleError, match="bytes_per_element"):
        kv_cache_bytes_per_token(spec, 0)
    with pytest.raises(CoscaleError, match="context_len"):
        kv_cache_bytes_per_sequence(spec, -1, 2)
