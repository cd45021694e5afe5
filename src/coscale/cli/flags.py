"""Spec paths -> command-line flags: the library names what to change by its spec path
(`parallel.tp=3 does not divide ...`), the CLI shows the flag the user typed (`--tp 3 does not ...`)."""

from __future__ import annotations

import re
from collections.abc import Callable

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

# spec path -> the key of a `feedback` workload file that sets it
WORKLOAD_KEYS: dict[str, str] = {
    "parallel.tp": "tp", "parallel.pp": "pp", "parallel.ep": "ep", "parallel.gpus": "gpus",
    "request.input_len": "input_len", "request.output_len": "output_len",
    "request.context_len": "input_len + output_len", "request.batch": "batch", "precision.recipe": "precision",
}


def _renamer(names: dict[str, str], value_sep: str) -> Callable[[str], str]:
    """A function replacing every spec path of `names` in a message by its name there, `path=3` by the
    name, `value_sep` and the value (the longest path first, so none is cut short by a prefix)."""
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True)) + r")\b(=)?")
    return lambda message: pattern.sub(lambda m: names[m.group(1)] + (value_sep if m.group(2) else ""), message)


# `message` with every spec path replaced by its flag (`parallel.tp=3` -> `--tp 3`)
in_flag_words = _renamer(FLAGS, " ")
# `message` with every spec path replaced by the workload file's key (`parallel.tp=3` -> `tp = 3`)
in_workload_words = _renamer(WORKLOAD_KEYS, " = ")
