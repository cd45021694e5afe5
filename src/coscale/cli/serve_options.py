"""The option values of `coscale serve` (from flags or a `--scenario` JSON file): names, types and bounds.

A scenario file is data: every key must be an option the commands read (did-you-mean otherwise),
every value of the option's type (no booleans for numbers, no fractional counts, finite numbers),
and counts within bounds that keep a run's arrays in memory, checked before anything is drawn.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any

from coscale.errors import CoscaleError
from coscale.jsonfile import read_json_file
from coscale.serve.workload import LENGTH_PRESETS
from coscale.specpaths import beside

# at most this many requests per run (flag, file or rate x duration): the simulator keeps a record of
# every request (tens of bytes in arrays plus a Python object each; benchmarks/serve_memory.py
# measures the bytes per request), so 10^7 stays within a few GiB (assumption; split longer runs)
MAX_REQUESTS = 10**7

INT_KEYS = ("gpus", "tp", "pp", "ep", "max_num_seqs", "max_batched_tokens", "block_size", "num_gpu_blocks",
            "concurrency", "input_len", "output_len", "num_requests", "seed", "turns")
FLOAT_KEYS = ("gpu_memory_utilization", "host_overhead_s", "rate", "burstiness", "duration_s", "think_s",
              "slo_ttft", "slo_tpot", "usd_per_gpu_hour")
STR_KEYS = ("model", "hardware", "precision", "kv_precision", "engine", "router", "arrival", "trace", "length_dist",
            "mode", "kv_link", "admission", "moe_a2a_backend")
BOOL_KEYS = ("gemm_input_casts", "decode_prefix_reuse", "chunked_prefill")
# disaggregated pools: `prefill_<field>` / `decode_<field>` keys (or `prefill` / `decode` objects)
POOL_KEYS = tuple(f"{pool}_{k}" for pool in ("prefill", "decode") for k in ("gpus", "tp", "pp", "ep"))
INT_KEYS += POOL_KEYS
FLOAT_KEYS += ("kv_link_efficiency", "router_overlap_weight", "admission_ttft_s")
STR_KEYS += ("prefill_hardware", "decode_hardware")
# objects checked by their own readers (serve.tiers.config.offload_config, cli.serve_disagg_cmd)
SECTION_KEYS = ("kv_offload", "prefill_kv_offload", "decode_kv_offload", "prefill", "decode")
KEYS = INT_KEYS + FLOAT_KEYS + STR_KEYS + BOOL_KEYS + SECTION_KEYS
# the flag that sets each key, for messages (a file key and its flag name the same option)
FLAG = {**{k: "--" + k.replace("_", "-") for k in KEYS}, "host_overhead_s": "--host-overhead",
        "duration_s": "--duration", "think_s": "--think-time", "admission_ttft_s": "--admission-ttft"}
# values that may be a file path, read beside the scenario file (`coscale.specpaths`); also a pool
# section's `hardware`
PATH_KEYS = ("model", "hardware", "prefill_hardware", "decode_hardware", "trace")
NON_NEGATIVE = ("seed",)  # every other integer option counts something: >= 1
# bounds of numbers whose commands have no range check of their own
POSITIVE_FLOATS = ("slo_ttft", "slo_tpot")
NON_NEGATIVE_FLOATS = ("usd_per_gpu_hour",)


def read_scenario(path: str | None) -> dict[str, Any]:
    """The options of a scenario file, checked: known keys, typed values."""
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise CoscaleError(f"scenario file '{path}' does not exist.")
    data = read_json_file(p, where=f"scenario file '{path}'", fix="give one JSON object of option names and values")
    if not isinstance(data, dict):
        raise CoscaleError(f"scenario file '{path}' must hold one JSON object of option names and values.")
    for key, value in data.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise CoscaleError(f"scenario file '{path}': unknown option '{key}'; {hint}use some of {', '.join(KEYS)}.")
        check_value(key, value, f"scenario file '{path}': {key}")
    return _paths_beside(data, p)


def _paths_beside(data: dict[str, Any], spec_file: Path) -> dict[str, Any]:
    """The file's relative paths (a trace, a config.json, a hardware JSON) read from its own folder."""
    out = {k: beside(v, spec_file) if k in PATH_KEYS else v for k, v in data.items()}
    for pool in ("prefill", "decode"):
        section = out.get(pool)
        if isinstance(section, dict) and isinstance(section.get("hardware"), str):
            out[pool] = {**section, "hardware": beside(section["hardware"], spec_file)}
    return out


# options each way of sending requests ignores: a value given for one of them would silently change nothing
IGNORED_BY = {
    "trace": (("arrival", "burstiness", "input_len", "output_len", "length_dist", "turns", "think_s", "seed"),
              "a trace replays its own arrivals and lengths"),
    "concurrency": (("arrival", "burstiness", "turns", "think_s", "duration_s"),
                    "a closed loop sends each client's next request when its last one finishes (--num-requests "
                    "sets the run's length)"),
}


def check_workload_mode(values: dict[str, Any]) -> None:
    """Refuse workload options that the way requests are sent (trace, closed loop, open loop) would
    ignore: a given value that changes nothing is a silently wrong answer to the question asked."""
    given = {k for k, v in values.items() if v is not None}
    for mode, (ignored, why) in IGNORED_BY.items():
        if mode in given:
            for key in ignored:
                if key in given:
                    raise CoscaleError(f"{FLAG[key]} has no effect with {FLAG[mode]}: {why}; drop {FLAG[key]}.")
    if values.get("length_dist") in LENGTH_PRESETS:
        for key in ("input_len", "output_len"):
            if key in given:
                raise CoscaleError(f"{FLAG[key]} has no effect with --length-dist {values['length_dist']} (a fit of a "
                                   f"published trace with its own means); drop {FLAG[key]}, or give --length-dist "
                                   f"lognormal with your means.")
    if "burstiness" in given and values.get("arrival") != "gamma":
        raise CoscaleError("--burstiness shapes only --arrival gamma (the CV of its gaps; Poisson's is 1); add "
                           "--arrival gamma or drop --burstiness.")
    if "think_s" in given and (values.get("turns") or 1) <= 1:
        raise CoscaleError("--think-time is the pause between a session's turns; add --turns N (N > 1) or drop "
                           "--think-time.")
    if "rate" in given and "trace" not in given and {"num_requests", "duration_s"} <= given:
        raise CoscaleError("give --num-requests or --duration, not both: an open loop draws --num-requests "
                           "arrivals whatever their span.")


def check_overlap_weight(router: str | None, weight: float | None, decode_prefix_reuse: bool = False) -> None:
    """`--router-overlap-weight` weighs Dynamo's KV-router cost: only the kv_aware router (or, in a
    disaggregated run with decode prefix reuse, the decode side's choice) reads it."""
    if weight is None or decode_prefix_reuse or (router or "").replace("-", "_") == "kv_aware":
        return
    raise CoscaleError(f"--router-overlap-weight weighs the kv_aware router's cost; router "
                       f"'{router or 'least_loaded'}' does not read it: add --router kv_aware or drop it.")


def check_value(key: str, value: Any, where: str) -> None:
    """One option value of the right type (and, for counts, range)."""
    if value is None:
        return
    if key in SECTION_KEYS:
        tiers = key.endswith("kv_offload")  # a tier list, as its flag takes, or the object
        if not isinstance(value, dict) and not (tiers and isinstance(value, str)):
            shape = ('a tier list like "dram,nvme" or an object {"tiers": [...], "dram_gib": ..., "keep": ..., '
                     '"store": ...}') if tiers else "an object (its own keys and values)"
            raise CoscaleError(f"{where} must be {shape}, got {value!r}.")
        return
    if key in BOOL_KEYS:
        if not isinstance(value, bool):
            raise CoscaleError(f"{where} must be true or false, got {value!r}.")
        return
    if key in STR_KEYS:
        if not isinstance(value, str):
            raise CoscaleError(f"{where} must be a string, got {value!r}.")
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CoscaleError(f"{where} must be a number, got {value!r}.")
    if not math.isfinite(value):
        raise CoscaleError(f"{where} must be a finite number, got {value}.")
    if key in POSITIVE_FLOATS and value <= 0:
        raise CoscaleError(f"{where} must be > 0, got {value}.")
    if key in NON_NEGATIVE_FLOATS and value < 0:
        raise CoscaleError(f"{where} must be >= 0, got {value}.")
    if key in INT_KEYS:
        if value != int(value):
            raise CoscaleError(f"{where} must be an integer, got {value}.")
        low = 0 if key in NON_NEGATIVE else 1
        if value < low:
            raise CoscaleError(f"{where} must be an integer >= {low}, got {int(value)}.")
        if key in ("num_requests", "concurrency") and value > MAX_REQUESTS:
            raise CoscaleError(f"{where} = {int(value):,} is more than the {MAX_REQUESTS:,} requests one run "
                               "simulates; split the run.")
        high = 2**32 - 1 if key == "seed" else 2**31 - 1
        if value > high:
            raise CoscaleError(f"{where} = {int(value):,} is beyond {high:,}, the most it may be; give a smaller "
                               "value.")


def check_options(values: dict[str, Any]) -> None:
    """Flag or file values merged: each checked, and the request count they imply bounded up front."""
    for key, value in values.items():
        if key in KEYS and key not in SECTION_KEYS:  # sections arrive parsed (e.g. an OffloadConfig)
            check_value(key, value, FLAG[key])
    rate, duration = values.get("rate"), values.get("duration_s")
    if values.get("num_requests") is None and rate and duration and rate * duration > MAX_REQUESTS:
        raise CoscaleError(f"--rate {rate:g} x --duration {duration:g} s = {rate * duration:,.0f} requests, more than "
                           f"the {MAX_REQUESTS:,} one run simulates; shorten --duration or give --num-requests.")
