"""`coscale feedback`: which chip change (and which model change) helps a workload most."""

from __future__ import annotations

import typer

from coscale.explore.feedback.run import run_feedback
from coscale.explore.feedback.workload import load_workload
from coscale.hardware.catalog import load_hardware
from coscale.report.console import make_console, print_json
from coscale.report.feedback import feedback_to_dict, print_feedback


def feedback(
    workload: str = typer.Option(..., help="Workload TOML: model, precision, input_len, output_len and batch / "
                                           "concurrency / rate, or a [[mix]] of such entries with weights."),
    hardware: str = typer.Option("h100-sxm", help="Base chip: catalog id or path to a hardware JSON file."),
    objective: str = typer.Option("throughput_per_gpu", help="Objective to improve: throughput_per_gpu, "
                                                             "cost_per_mtok, tpot_s, ttft_s, joules_per_token, ..."),
    prefill_chip: str | None = typer.Option(None, help="Chip id or file for the 'prefill pool' what-if "
                                                       "(e.g. a compute-dense GDDR part)."),
    model_levers: bool = typer.Option(False, "--model-levers", help="Also rank model changes (or add a "
                                                                    "\\[model_levers] section to the workload)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Rank hardware fields by how much they improve the objective, with what-ifs and the input/output flip."""
    result = run_feedback(load_hardware(hardware), load_workload(workload), objective,
                          prefill_chip=load_hardware(prefill_chip) if prefill_chip else None,
                          model_levers=model_levers)
    data = feedback_to_dict(result)
    if as_json:
        print_json(data)
    else:
        print_feedback(data, make_console())
