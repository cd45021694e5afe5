"""Spec paths -> command-line flags: the library names what to change by its spec path
(`parallel.tp=3 does not divide ...`), the CLI shows the flag the user typed (`--tp 3 does not ...`)."""

from __future__ import annotations

import re

FLAGS: dict[str, str] = {
    "parallel.tp": "--tp",
    "parallel.pp": "--pp",
    "parallel.ep": "--ep",
    "parallel.cp": "--cp",
    "parallel.dp": "--dp",
    "parallel.vp": "--vp",
    "parallel.gpus": "--gpus",
    **{f"{pool}.parallel.{k}": f"--{pool}-{k}" for pool in ("prefill", "decode") for k in ("gpus", "tp", "pp", "ep")},
    "request.input_len": "--input-len",
    "request.output_len": "--output-len",
    "request.context_len": "--input-len + --output-len",
    "request.batch": "--batch",
    "precision.recipe": "--precision",
    "train.seq_len": "--seq-len",
    "train.global_batch": "--global-batch",
    "train.micro_batch": "--micro-batch",
    "train.recompute": "--recompute",
    "train.zero": "--zero",
}

_PATTERN = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(FLAGS, key=len, reverse=True)) + r")\b(=)?")


def in_flag_words(message: str) -> str:
    """`message` with every spec path replaced by its flag (`parallel.tp=3` -> `--tp 3`)."""
    return _PATTERN.sub(lambda m: FLAGS[m.group(1)] + (" " if m.group(2) else ""), message)


# spec path -> the key of a `feedback` workload file that sets it
WORKLOAD_KEYS: dict[str, str] = {
    "parallel.tp": "tp", "parallel.pp": "pp", "parallel.ep": "ep", "parallel.gpus": "gpus",
    "request.input_len": "input_len", "request.output_len": "output_len",
    "request.context_len": "input_len + output_len", "request.batch": "batch", "precision.recipe": "precision",
}
_WORKLOAD_PATTERN = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(WORKLOAD_KEYS, key=len, reverse=True))
                               + r")\b(=)?")


def in_workload_words(message: str) -> str:
    """`message` with every spec path replaced by the workload file's key (`parallel.tp=3` -> `tp = 3`)."""
    return _WORKLOAD_PATTERN.sub(lambda m: WORKLOAD_KEYS[m.group(1)] + (" = " if m.group(2) else ""), message)
