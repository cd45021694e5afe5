"""Regenerate the hostile input files under tests/hostile/files/ (committed; run after a format change):

    PYTHONPATH=src python tests/hostile/make_corpus.py

Each file is a shipped preset or catalog file with one hostile mutation: wrong types, missing keys,
extreme and non-finite values, unicode and rich markup, huge and deeply nested structures.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "src" / "coscale"
OUT = Path(__file__).with_name("files")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    model = json.loads((ROOT / "models" / "presets" / "llama-3.1-8b.json").read_text())
    hw = json.loads((ROOT / "hardware" / "catalog" / "h100-sxm.json").read_text())
    models = {
        "m-huge-int-vocab": {**model, "vocab_size": 10**400},
        "m-float-vocab": {**model, "vocab_size": 1e300},
        "m-huge-layers": {**model, "num_hidden_layers": 10**12},
        "m-many-layers": {**model, "num_hidden_layers": 99_999},
        "m-negative-hidden": {**model, "hidden_size": -4096},
        "m-string-hidden": {**model, "hidden_size": "4096"},
        "m-bool-heads": {**model, "num_attention_heads": True},
        "m-null-heads": {**model, "num_attention_heads": None},
        "m-missing-hidden": {k: v for k, v in model.items() if k != "hidden_size"},
        "m-markup-name": {**model, "name": "[/]evil[bold]"},
        "m-unicode": {**model, "architectures": ["Llama\u202eForCausalLM\U0001f4a5"]},
        "m-zero-kv-heads": {**model, "num_key_value_heads": 0},
        "m-heads-not-dividing": {**model, "num_attention_heads": 7},
        "m-empty-architectures": {**model, "architectures": []},
        "m-list-top": [model],
    }
    for name, doc in models.items():
        (OUT / f"{name}.json").write_text(json.dumps(doc))
    (OUT / "m-nan-hidden.json").write_text(json.dumps(model).replace('"hidden_size": 4096', '"hidden_size": NaN'))
    (OUT / "m-deep-nesting.json").write_text("[" * 20000 + "]" * 20000)
    (OUT / "m-not-json.json").write_text("{ this is not json")
    (OUT / "m-binary.json").write_bytes(b"\xff\xfe\x00garbage\x00")
    (OUT / "m-empty.json").write_text("")

    def hw_with(path: tuple[str, ...], value) -> dict:
        doc = copy.deepcopy(hw)
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return doc

    q = lambda v, unit: {"value": v, "unit": unit, "source": "hostile test"}  # noqa: E731
    hardware = {
        "h-markup-name": {**hw, "name": "[/]chip[link=file:///etc/passwd]x"},
        "h-tiny-bandwidth": hw_with(("memory", "hbm", "bandwidth"), q(1e-300, "TB/s")),
        "h-huge-capacity": hw_with(("memory", "hbm", "capacity"), q(1e30, "GiB")),
        "h-zero-tdp": hw_with(("power", "tdp"), q(0, "W")),
        "h-idle-above-tdp": hw_with(("power", "idle"), q(2000, "W")),
        "h-negative-flops": hw_with(("compute", "bf16"), q(-1, "TFLOP/s")),
        "h-string-flops": hw_with(("compute", "bf16"), q("989", "TFLOP/s")),
        "h-unknown-unit": hw_with(("compute", "bf16"), q(989, "furlongs")),
        "h-no-compute": hw_with(("compute",), {}),
        "h-fractional-domain": hw_with(("links", "scaleup", "domain_size"), q(7.5, "GPUs")),
        "h-huge-latency": hw_with(("links", "scaleup", "latency"), q(1e9, "s")),
        "h-unknown-field": {**hw, "warp_drive": True},
        "h-only-int8": hw_with(("compute",), {"int8": q(750, "TOPS")}),
    }
    for name, doc in hardware.items():
        (OUT / f"{name}.json").write_text(json.dumps(doc))
    (OUT / "h-deep-nesting.json").write_text('{"id": ' + "[" * 20000 + "]" * 20000 + "}")


if __name__ == "__main__":
    main()
