"""`coscale predict inference` (training joins with the planner)."""

from __future__ import annotations

import typer

from coscale.calibrate.family_file import load_efficiency_file
from coscale.cli.engine_flags import check_engine_flags
from coscale.errors import CoscaleError
from coscale.hardware.catalog import load_hardware
from coscale.predict.inference import InferenceScenario, predict_inference
from coscale.report.console import make_console, print_json
from coscale.report.inference import inference_to_dict, print_inference
from coscale.resolve import resolve_model
from coscale.specs.execution import InferenceRequest, Parallelism
from coscale.specs.hardware import System
from coscale.specs.precision import get_precision

app = typer.Typer(help="Predict time, memory, throughput and energy.", no_args_is_help=True)


def parse_batch(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        raise CoscaleError(f"--batch must be a positive integer or 'auto', got '{text}'.") from None
    if value < 1:
        raise CoscaleError(f"--batch must be a positive integer or 'auto', got {value}.")
    return value


@app.command("inference")
def inference(
    model: str = typer.Option("llama-3.1-8b",
                              help="Preset id, config.json path, a directory holding one, or lab:<preset>."),
    hardware: str = typer.Option("h100-sxm", help="Catalog id or path to a hardware JSON file."),
    gpus: int | None = typer.Option(None, help="Total GPUs (default: one instance, max(TP, EP) * PP); "
                                               "GPUs beyond one instance run replicas."),
    tp: int = typer.Option(1, help="Tensor-parallel degree."),
    pp: int = typer.Option(1, help="Pipeline-parallel degree."),
    ep: int = typer.Option(1, help="Expert-parallel degree (MoE; attention runs data-parallel across it)."),
    precision: str = typer.Option("bf16", help="Precision recipe: bf16, fp8, nvfp4, int4-weight-only, ..."),
    kv_precision: str | None = typer.Option(None, help="KV-cache format (default: bf16)."),
    batch: str = typer.Option("auto", help="Concurrent sequences per instance, or 'auto' (largest that fits)."),
    max_batch: int | None = typer.Option(None, help="Upper bound for --batch auto (default 256)."),
    input_len: int = typer.Option(1024, help="Prompt tokens per request."),
    output_len: int = typer.Option(256, help="Generated tokens per request."),
    efficiency: str | None = typer.Option(None, help="Efficiency-family JSON (from `coscale calibrate`) "
                                                     "instead of the chip's shipped family."),
    gemm_input_casts: bool = typer.Option(False, "--gemm-input-casts/--fused-gemm-input-casts",
                                          help="The engine casts each FP8/FP4 GEMM input in a kernel of its own "
                                               "(TensorRT-LLM's PyTorch backend); default fused (TensorRT engines)."),
    moe_a2a_backend: str = typer.Option("nccl", "--moe-a2a-backend",
                                        help="MoE with --ep > 1: who runs the all-to-all: nccl (BF16 rows, NCCL's "
                                             "size curve) or deepep (FP8/FP4 dispatch, BF16 combine, DeepEP's "
                                             "bandwidth)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Predict TTFT, TPOT, throughput, memory per GPU, energy and the binding resource, per operator."""
    if max_batch is not None and max_batch < 1:
        raise CoscaleError(f"--max-batch must be a positive integer, got {max_batch}.")
    fixed_batch = parse_batch(batch)
    if fixed_batch is not None and max_batch is not None:
        raise CoscaleError(f"--max-batch bounds --batch auto; --batch {fixed_batch} is fixed, so it would change "
                           f"nothing: drop --max-batch.")
    for flag, value in (("--pp", pp), ("--gpus", gpus)):  # (--tp and --ep: checked with the layout)
        if value is not None and value < 1:
            raise CoscaleError(f"{flag} must be a positive integer, got {value}.")
    gpus = gpus if gpus is not None else max(tp, ep) * pp
    chip = load_hardware(hardware)
    spec, recipe = resolve_model(model), get_precision(precision, kv_precision)
    check_engine_flags(spec, recipe, (ep,), moe_a2a=moe_a2a_backend, gemm_input_casts=gemm_input_casts,
                       kv_precision=kv_precision)
    scenario = InferenceScenario(
        model=spec,
        system=System(hardware=chip, num_gpus=gpus),
        parallel=Parallelism(gpus=gpus, tp=tp, pp=pp, ep=ep),
        precision=recipe,
        request=InferenceRequest(input_len=input_len, output_len=output_len),
        batch=fixed_batch,
        max_batch=256 if max_batch is None else max_batch,
        efficiency=load_efficiency_file(efficiency) if efficiency else chip.efficiency,
        gemm_input_casts=gemm_input_casts,
        moe_a2a=moe_a2a_backend,
    )
    result = predict_inference(scenario)
    if as_json:
        print_json(inference_to_dict(result))
    else:
        print_inference(result, make_console())
