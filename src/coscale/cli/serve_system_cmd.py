"""`coscale serve system`: a system of models (several pools, request graphs through them)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer
from rich.table import Table

from coscale.report.console import make_console, print_json
from coscale.serve.system.reader import read_scenario
from coscale.serve.system.runner import run_system, with_load

EXAMPLES = ("retrieval", "voice", "agent")


def scenario_path(name: str) -> Path:
    """A scenario file, or the name of a shipped example (retrieval, voice, agent)."""
    p = Path(name)
    if p.exists() or name not in EXAMPLES:
        return p
    return Path(str(resources.files("coscale.serve.system") / "scenarios" / f"{name}.toml"))


def system_cmd(
    scenario: str = typer.Option(..., "--scenario", help="Scenario TOML file, or an example: retrieval, voice, agent."),
    rate: float = typer.Option(None, "--rate", help="Open loop: graph requests per second (Poisson)."),
    concurrency: int = typer.Option(None, "--concurrency", help="Closed loop: clients each running one graph."),
    num_requests: int = typer.Option(None, "--num-requests", help="Graph requests to simulate."),
    seed: int = typer.Option(None, "--seed", help="Random seed."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Several models on their own pools and request graphs through them (retrieval, voice, agents):
    end-to-end and per-stage latency, throughput, and which stage binds."""
    sc = with_load(read_scenario(scenario_path(scenario)), rate=rate, concurrency=concurrency,
                   num_requests=num_requests, seed=seed)
    rep = run_system(sc).report
    if as_json:
        print_json(rep)
        return
    _print(rep)


def _print(rep: dict) -> None:
    c = make_console()
    load = f"{rep['rate_per_s']:g} req/s" if rep["mode"] == "open" else f"concurrency {rep['concurrency']}"
    for name, g in rep["graphs"].items():
        t = Table(title=f"{rep['scenario']}: graph '{name}' ({load}, {g['completed']} completed, "
                        f"{g['throughput_per_s']:.3g}/s)")
        for col in ("stage", "kind", "pool", "mean s", "p50 s", "p90 s", "p99 s", "queue share", "share of e2e",
                    "pool load"):
            t.add_column(col, justify="left" if col in ("stage", "kind", "pool") else "right")
        for sname, st in g["stages"].items():
            lat = st["latency_s"]
            util = st.get("pool_load")
            t.add_row(sname + (" *" if sname == g["binding_stage"] else ""), st["kind"], st["pool"] or "-",
                      *(f"{lat[k]:.4g}" for k in ("mean", "p50", "p90", "p99")), f"{st['queue_share']:.1%}",
                      f"{st['share_of_e2e']:.1%}", "-" if util is None else f"{util:.1%}")
        e = g["e2e_s"]
        t.add_row("end to end", "", "", *(f"{e[k]:.4g}" for k in ("mean", "p50", "p90", "p99")), "", "", "")
        if "first_output_s" in g:
            f = g["first_output_s"]
            t.add_row(f"first output ({g['first_output_stage']})", "", "",
                      *(f"{f[k]:.4g}" for k in ("mean", "p50", "p90", "p99")), "", "", "")
        c.print(t)
        for sname, st in g["stages"].items():
            if "hit_ratio_by_turn" in st:
                hits = ", ".join(f"{h:.0%}" for h in st["hit_ratio_by_turn"])
                c.print(f"  {sname}: prefix-cache hit ratio by turn {hits}")
        c.print(f"  * binding stage: {g['binding_stage']}")
    t = Table(title="pools")
    for col in ("pool", "model", "hardware", "GPUs", "busy", "capacity (/s)", "load", "L (mean in pool)",
                "lambda (/s)", "W (s)", "out tok/s", "energy"):
        t.add_column(col, justify="left" if col in ("pool", "model", "hardware") else "right")
    for name, p in rep["pools"].items():
        t.add_row(name, p["model"], p["hardware"], str(p["gpus"]), f"{p['utilisation']:.1%}",
                  f"{p['capacity_per_s']:.3g}", f"{p['load']:.1%}",
                  f"{p['mean_in_pool']:.3g}", f"{p['arrival_rate_per_s']:.3g}", f"{p['mean_time_in_pool_s']:.3g}",
                  f"{p['output_tokens_per_s']:,.0f}", f"{p['energy_share']:.0%}")
    c.print(t)
    c.print(f"energy: {rep['energy_j_per_request']:,.4g} J per finished request (every pool's passes and its GPUs' "
            f"idle draw between them)")
    b = rep["bottleneck"]
    c.print(f"most loaded pool: {b['pool']} (offered {b['load']:.0%} of its {b['capacity_per_s']:.3g} requests/s "
            f"capacity; in forward passes {b['utilisation']:.0%} of the run); simulated "
            f"{rep['simulated_s']:.1f} s in {rep['wall_s']:.2f} s wall")


