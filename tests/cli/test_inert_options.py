"""Options given where they would change nothing are refused with the reason, in one line (exit 2);
the same options where they do apply still run. Each refused case was found by running the command
with and without the option and getting the same answer."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from coscale.cli.app import app
from coscale.errors import CoscaleError

SERVE = ("serve", "simulate", "--rate", "2", "--num-requests", "4", "--json")
PREDICT = ("predict", "inference", "--json")

REFUSED = [
    ((*PREDICT, "--batch", "8", "--max-batch", "4"), "--max-batch bounds --batch auto"),
    ((*PREDICT, "--moe-a2a-backend", "deepep"), "has no experts"),
    ((*PREDICT, "--model", "qwen3-30b-a3b", "--moe-a2a-backend", "deepep"), "at EP 1"),
    ((*PREDICT, "--gemm-input-casts"), "runs its GEMMs on BF16 inputs"),
    ((*PREDICT, "--precision", "int4-weight-only", "--gemm-input-casts"), "runs its GEMMs on BF16 inputs"),
    ((*PREDICT, "--model", "mamba2-2.7b", "--kv-precision", "fp8"), "has no attention layers"),
    ((*SERVE, "--moe-a2a-backend", "deepep"), "has no experts"),
    ((*SERVE, "--gemm-input-casts"), "runs its GEMMs on BF16 inputs"),
    ((*SERVE, "--mode", "disaggregated", "--gemm-input-casts"), "runs its GEMMs on BF16 inputs"),
    ((*SERVE, "--admission-ttft", "0.5"), "--admission-ttft is the limit of admission control"),
    ((*SERVE, "--gpus", "2", "--router-overlap-weight", "3"), "does not read it"),
    ((*SERVE, "--mode", "disaggregated", "--router-overlap-weight", "3"), "does not read it"),
    ((*SERVE, "--num-gpu-blocks", "3000", "--gpu-memory-utilization", "0.5"), "pins the KV pool"),
    ((*SERVE, "--length-dist", "azure-conv", "--input-len", "300"), "--input-len has no effect with --length-dist"),
    (("serve", "compare", "--gpus", "2", "--length-dist", "azure-conv", "--output-len", "50"),
     "--output-len has no effect with --length-dist"),
    (("explore", "--workers", "2", "query", "r.parquet", "select 1"), "--workers belongs to the sweep"),
    (("explore", "--json", "pareto", "r.parquet"), "--json belongs to the sweep"),
    (("explore", "--space", "codesign-task", "--address", "10.0.0.1:6379"), "the local backend does not use it"),
    (("lab", "train", "--vocab", "4096", "--steps", "1"), "--vocab sizes the BPE tokenizer"),
]

ACCEPTED = [
    (*PREDICT, "--batch", "8"),
    (*PREDICT, "--max-batch", "64"),
    (*PREDICT, "--model", "qwen3-30b-a3b", "--ep", "4", "--moe-a2a-backend", "deepep", "--precision", "fp8"),
    (*PREDICT, "--precision", "fp8", "--gemm-input-casts"),
    (*PREDICT, "--model", "nemotron-3-nano-30b-a3b", "--kv-precision", "fp8"),
    (*SERVE, "--gpus", "2", "--router", "kv_aware", "--router-overlap-weight", "3"),
    (*SERVE, "--mode", "disaggregated", "--router-overlap-weight", "3", "--decode-prefix-reuse"),
    (*SERVE, "--admission", "reject", "--admission-ttft", "0.5"),
    (*SERVE, "--length-dist", "lognormal", "--input-len", "300"),
    (*SERVE, "--precision", "fp8", "--gemm-input-casts"),
    (*SERVE, "--model", "mamba2-2.7b", "--num-gpu-blocks", "400"),  # no KV cache: a pinned pool runs
]


@pytest.mark.parametrize(("args", "needle"), REFUSED, ids=[" ".join(a[:2]) + f" {i}" for i, (a, _) in
                                                          enumerate(REFUSED)])
def test_an_inert_option_is_refused_with_the_reason(args: tuple[str, ...], needle: str) -> None:
    r = CliRunner().invoke(app, list(args))
    assert isinstance(r.exception, CoscaleError), (r.exit_code, r.output)
    assert needle in str(r.exception) and "\n" not in str(r.exception)


@pytest.mark.parametrize("args", ACCEPTED, ids=[" ".join(a[:2]) + f" {i}" for i, a in enumerate(ACCEPTED)])
def test_the_same_option_where_it_applies_runs(args: tuple[str, ...]) -> None:
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, (r.output, r.exception)
    assert json.loads(r.output)


@pytest.mark.parametrize(("kind", "key", "value"), [("generate", "tool_s", "0.5"), ("generate", "turns", "3"),
                                                    ("delay", "input_tokens", "100"), ("encode", "tool_tokens", "5")])
def test_a_stage_key_its_kind_does_not_read_is_refused(tmp_path, kind: str, key: str, value: str) -> None:
    from coscale.serve.system.reader import read_scenario

    pool = "" if kind == "delay" else 'pool = "p"\n'
    model = "bge-large-en-v1.5" if kind == "encode" else "llama-3.1-8b"
    f = tmp_path / "s.toml"
    f.write_text(f'[pools.p]\nmodel = "{model}"\n[[graphs]]\nname = "g"\n[[graphs.stages]]\nname = "s"\n'
                 f'kind = "{kind}"\n{pool}{key} = {value}\n')
    with pytest.raises(CoscaleError, match=f"is a {kind} stage, which does not read {key}"):
        read_scenario(f)


def test_a_top_level_hold_in_a_feedback_workload_is_refused() -> None:
    from coscale.explore.feedback.workload import parse_workload

    base = {"model": "llama-3.1-8b", "precision": "bf16", "input_len": 1024, "output_len": 256, "batch": 8}
    with pytest.raises(CoscaleError, match=r"belongs in the \[model_levers\] table"):
        parse_workload({**base, "hold": "total"})
    assert parse_workload({**base, "model_levers": {"hold": "total"}})
