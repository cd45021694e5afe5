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
    serve_files()


PLAIN = "arrival_s,input_tokens,output_tokens\n"


def serve_files() -> None:
    """Serving traces (t-*: CSV and JSONL in every supported format) and `serve --scenario` files (s-*)."""
    traces = {
        "t-missing-column.csv": "arrival_s,input_tokens\n0,10\n",
        "t-negative-length.csv": PLAIN + "0,10,5\n1,-5,5\n",
        "t-nonnumeric-length.csv": PLAIN + "0,10,5\n1,10,5\n2,abc,5\n",
        "t-unsorted.csv": PLAIN + "0,10,5\n2,10,5\n1,10,5\n",
        "t-nan-arrival.csv": PLAIN + "nan,10,5\n",
        "t-inf-output.csv": PLAIN + "0,10,inf\n",
        "t-float-tokens.csv": PLAIN + "0,10.5,5\n",
        "t-short-row.csv": PLAIN + "0,10,5\n1,10\n",
        "t-empty.csv": "",
        "t-header-only.csv": PLAIN,
        "t-huge-tokens.csv": PLAIN + "0," + "1" + "0" * 30 + ",5\n",
        "t-beyond-context.csv": PLAIN + "0,100000,100000\n",
        "t-markup-session.csv": "arrival_s,input_tokens,output_tokens,session_id\n0,10,5,[/]\n",
        "t-azure-bad-date.csv": "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,100,10\n"
                                "yesterday,100,10\n",
        "t-azure-unsorted.csv": "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,100,10\n"
                                "2023-11-16 18:15:45.0000000,100,10\n",
        "t-mooncake-bad-hashes.jsonl": '{"timestamp": 0, "input_length": 10, "output_length": 5, "hash_ids": 7}\n',
        "t-mooncake-unsorted.jsonl": '{"timestamp": 5000, "input_length": 10, "output_length": 5}\n'
                                     '{"timestamp": 1000, "input_length": 10, "output_length": 5}\n',
        "t-jsonl-not-object.jsonl": "[0, 10, 5]\n",
        "t-jsonl-bad-json.jsonl": '{"arrival_s": 0, "input_tokens": 10, "output_tokens": 5}\n{"arrival_s": 1, \n',
        "t-jsonl-unknown-keys.jsonl": '{"when": 0, "in": 10, "out": 5}\n',
        "t-jsonl-negative-timestamp.jsonl": '{"timestamp": -1000, "input_length": 10, "output_length": 5}\n',
        "t-jsonl-bad-hash.jsonl": '{"arrival_s": 0, "input_tokens": 10, "output_tokens": 5, '
                                  '"prefix_hashes": [1, "x"]}\n',
        "t-jsonl-string-length.jsonl": '{"arrival_s": 0, "input_tokens": "many", "output_tokens": 5}\n',
        "t-jsonl-deep.jsonl": '{"arrival_s": 0, "input_tokens": 10, "output_tokens": 5, "prefix_hashes": '
                              + "[" * 5000 + "]" * 5000 + "}\n",
        "t-huge-gap.csv": PLAIN + "0,10,5\n1e308,10,5\n",
        "t-ok-small.csv": PLAIN + "0,100,20\n0.5,200,10\n1.0,50,30\n",
        # content ids above 2^53 are distinct integers: read exactly, not through a float
        "t-huge-hash-id.jsonl": '{"arrival_s": 0, "input_tokens": 10, "output_tokens": 5, '
                                '"prefix_hashes": [1267650600228229401496703205376]}\n',
        "t-bool-length.jsonl": '{"arrival_s": 0, "input_tokens": true, "output_tokens": 5}\n',
    }
    for name, text in traces.items():
        (OUT / name).write_text(text)
    (OUT / "t-binary.csv").write_bytes(b"\xff\xfe\x00garbage\x00\n")
    scenarios = {
        "s-not-object": [1, 2],
        "s-string-rate": {"rate": "fast", "num_requests": 10},
        "s-unknown-key": {"rate": 5, "num_requests": 20, "warp_drive": 1},
        "s-misspelt-key": {"rate": 5, "duration": 100},
        "s-huge-num-requests": {"rate": 5, "num_requests": 10**12},
        "s-huge-concurrency": {"concurrency": 10**12, "num_requests": 10},
        "s-huge-duration": {"rate": 5, "duration_s": 1e12},
        "s-bool-gpus": {"gpus": True, "rate": 5, "num_requests": 10},
        "s-float-tp": {"tp": 1.5, "rate": 5, "num_requests": 10},
        "s-zero-max-seqs": {"rate": 5, "num_requests": 10, "max_num_seqs": 0},
        "s-negative-seed": {"rate": 5, "num_requests": 10, "seed": -1},
        "s-markup-model": {"model": "[/]", "rate": 5, "num_requests": 10},
        "s-null-rate": {"rate": None, "num_requests": 10},
        "s-huge-rate": {"rate": 1e308, "num_requests": 10},
        "s-ok": {"rate": 5, "num_requests": 20, "input_len": 256, "output_len": 32},
        "s-huge-gpus": {"gpus": 100_000_000, "rate": 5, "num_requests": 10},
        "s-huge-blocks": {"num_gpu_blocks": 10**11, "rate": 5, "num_requests": 10},
        "s-huge-input": {"input_len": 10**23, "rate": 5, "num_requests": 10},
        "s-many-turns": {"turns": 10_000, "rate": 5, "num_requests": 20},
        "s-negative-price": {"usd_per_gpu_hour": -1, "rate": 5, "num_requests": 10},
        "s-zero-slo": {"slo_ttft": 0, "rate": 5, "num_requests": 10},
        "s-tiers-not-list": {"kv_offload": {"tiers": 5}, "rate": 5, "num_requests": 10},
        "s-tier-size-string": {"kv_offload": {"tiers": ["dram"], "dram_gib": "x"}, "rate": 5, "num_requests": 10},
        "s-tier-size-bool": {"kv_offload": {"tiers": ["dram"], "dram_gib": True}, "rate": 5, "num_requests": 10},
        "s-pool-int-hardware": {"mode": "disaggregated", "prefill": {"hardware": 5}, "rate": 5, "num_requests": 10},
        "s-pool-unknown-field": {"mode": "disaggregated", "prefill": {"tpp": 2}, "rate": 5, "num_requests": 10},
        "s-disagg-with-tp": {"mode": "disaggregated", "tp": 2, "rate": 5, "num_requests": 10},
    }
    for name, doc in scenarios.items():
        (OUT / f"{name}.json").write_text(json.dumps(doc))
    (OUT / "s-nan-rate.json").write_text('{"rate": NaN, "num_requests": 10}')
    (OUT / "s-infinite-tier-size.json").write_text(
        '{"kv_offload": {"tiers": ["dram"], "dram_gib": Infinity}, "rate": 5, "num_requests": 10}')
    (OUT / "s-deep-nesting.json").write_text('{"rate": ' + "[" * 20000 + "]" * 20000 + "}")
    (OUT / "s-not-json.json").write_text("{ rate: 5 ")


if __name__ == "__main__":
    main()
