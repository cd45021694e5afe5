"""Trace readers. Every format becomes requests numbered in arrival order, times relative to the first.

- Azure LLM inference trace (CSV): `TIMESTAMP, ContextTokens, GeneratedTokens`, timestamps as dates.
- Mooncake (JSONL): `timestamp` (ms), `input_length`, `output_length`, `hash_ids` (prefix-chained ids of
  512-token blocks).
- Plain (CSV or JSONL): `arrival_s, input_tokens, output_tokens`, optional `session_id` and
  `prefix_hashes` (ids of `hash_block`-token blocks, default 512; in CSV separated by spaces).
- vLLM benchmark records (JSONL): `input_toks, output_toks, arrival_time` plus the measured
  `queued_ts, scheduled_ts, first_token_ts, last_token_ts` (read by `measured_vllm_trace`).
"""

from __future__ import annotations

import csv
import difflib
import itertools
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from coscale.errors import CoscaleError
from coscale.serve.request import Request

MOONCAKE_BLOCK = 512  # tokens per hash id in the Mooncake traces (FAST25-release README)
MAX_SPAN_S = 1e9  # a trace spans at most ~32 years of arrivals (assumption: beyond it times are corrupt)


@dataclass(frozen=True, kw_only=True, slots=True)
class _Row:
    t: float
    isl: int
    osl: int
    session: int = -1
    hashes: tuple[int, ...] = ()
    block: int = MOONCAKE_BLOCK


def read_trace(path: str | Path) -> tuple[Request, ...]:
    """Requests of a trace file in any supported format (detected from its header or keys).

    The file is read line by line and each line becomes its Request at once: a million-line trace
    never sits in memory as text, a list of lines or parsed rows next to its requests."""
    p = Path(path)
    if not p.is_file():
        raise CoscaleError(f"trace file '{path}' does not exist; give a CSV or JSONL trace.")
    with p.open(encoding="utf-8-sig", errors="replace", newline="") as fh:  # -sig: a leading byte-order mark
        first, blank = fh.readline(), 0
        while first and not first.strip():  # blank lines before the first record
            first, blank = fh.readline(), blank + 1
        if not first:
            raise CoscaleError(f"{p.name}: the trace is empty; give at least one request.")
        if "\x00" in first or "\ufffd" in first:  # undecodable bytes: Parquet, gzip, an image...
            raise CoscaleError(f"{p.name} is not a text trace (binary data); give a CSV or JSONL trace "
                               f"(decompress a .gz one first).")
        lines = itertools.chain([first], fh)
        rows = (_jsonl(p.name, lines, first_line=blank + 1) if first.lstrip().startswith("{")
                else _csv(p.name, lines, first_line=blank + 1))
        out: list[Request] = []
        t0 = prev = 0.0
        for i, (line_no, r) in enumerate(rows):
            if i == 0:
                t0 = prev = r.t
            elif r.t < prev:
                raise CoscaleError(f"{p.name} line {line_no}: timestamp goes back in time; sort the trace by arrival.")
            if r.t - t0 > MAX_SPAN_S:
                raise CoscaleError(f"{p.name} line {line_no}: arrives {r.t - t0:.3g} s after the first request, more "
                                   f"than the {MAX_SPAN_S:.0e} s a trace may span; check the timestamps' unit.")
            prev = r.t
            out.append(Request(rid=i, arrival_s=r.t - t0, input_tokens=r.isl, output_tokens=r.osl,
                               session_id=r.session, prefix_hashes=r.hashes, hash_block=r.block))
    if not out:
        raise CoscaleError(f"{p.name}: the trace has a header but no requests.")
    return tuple(out)


def _int(name: str, line: int, key: str, v: object, minimum: int = 1) -> int:
    """An integer field, exactly (ids beyond 2^53 must not collide through a float), within int64."""
    bad = CoscaleError(f"{name} line {line}: {key} must be an integer >= {minimum} and < 2^63, got {v!r}.")
    if isinstance(v, bool):
        raise bad
    if isinstance(v, int):
        x = v
    else:
        try:
            x = int(str(v).strip())
        except ValueError:  # written as a float: exact only while it is below 2^53
            try:
                f = float(v)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise CoscaleError(f"{name} line {line}: {key} '{v}' is not a number.") from None
            if not math.isfinite(f) or f != int(f) or abs(f) > 2**53:
                raise bad from None
            x = int(f)
    if not minimum <= x < 2**63:
        raise bad
    return x


def _float(name: str, line: int, key: str, v: object) -> float:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CoscaleError(f"{name} line {line}: {key} '{v}' is not a number.") from None
    if not math.isfinite(x) or x < 0:
        raise CoscaleError(f"{name} line {line}: {key} must be a finite number >= 0, got {v}.")
    return x


def _csv(name: str, lines: Iterable[str], first_line: int = 1) -> Iterator[tuple[int, _Row]]:
    reader = csv.reader(lines)
    header = [h.strip() for h in next(reader)]
    azure = {"TIMESTAMP", "ContextTokens", "GeneratedTokens"}
    plain = {"arrival_s", "input_tokens", "output_tokens"}
    if azure <= set(header):
        kind = "azure"
    elif plain <= set(header):
        kind = "plain"
    else:
        raise CoscaleError(f"{name} line {first_line}: header {','.join(header)} lacks the columns of an Azure trace "
                           f"(TIMESTAMP, ContextTokens, GeneratedTokens) or a plain one (arrival_s, input_tokens, "
                           f"output_tokens).")
    _check_keys(name, first_line, header, "Azure" if kind == "azure" else "plain", set())
    col = {h: i for i, h in enumerate(header)}
    for n, rec in enumerate(reader, start=first_line + 1):
        if not rec or not "".join(rec).strip():
            continue
        if len(rec) < len(header):
            raise CoscaleError(f"{name} line {n}: {len(rec)} fields, the header has {len(header)}.")
        if kind == "azure":
            t = _azure_time(name, n, rec[col["TIMESTAMP"]])
            yield n, _Row(t=t, isl=_int(name, n, "ContextTokens", rec[col["ContextTokens"]]),
                          osl=_int(name, n, "GeneratedTokens", rec[col["GeneratedTokens"]]))
        else:
            d = dict(zip(header, rec, strict=False))
            hashes = tuple(_int(name, n, "prefix_hashes", h, 0) for h in d.get("prefix_hashes", "").split())
            yield n, _plain(name, n, d, hashes)


def _plain(name: str, n: int, d: dict, hashes: tuple[int, ...]) -> _Row:
    session = d.get("session_id")
    return _Row(t=_float(name, n, "arrival_s", d["arrival_s"]), isl=_int(name, n, "input_tokens", d["input_tokens"]),
                osl=_int(name, n, "output_tokens", d["output_tokens"]),
                session=_int(name, n, "session_id", session, 0) if session not in (None, "") else -1,
                hashes=hashes, block=_int(name, n, "hash_block", d.get("hash_block", MOONCAKE_BLOCK)))


def _azure_time(name: str, n: int, text: str) -> float:
    s = text.strip()
    if "." in s:  # the trace has 7 fractional digits; datetime takes at most 6
        head, frac = s.split(".", 1)
        s = f"{head}.{frac[:6]}"
    try:
        return datetime.fromisoformat(s).timestamp()
    except ValueError:
        raise CoscaleError(f"{name} line {n}: TIMESTAMP '{text}' is not a date-time.") from None


# The optional keys (JSONL) or columns (CSV) each trace format reads beyond its required ones. Other keys
# (another tool's metadata, vLLM's timestamps) are ignored, except two kinds that would silently switch
# prefix caching or sessions off: another format's optional key (a plain line's `hash_ids`) and a near miss
# of the format's own (`hash_id`, `HASH_IDS`, `sesion_id`).
READS = {"Mooncake": frozenset({"hash_ids"}), "plain": frozenset({"prefix_hashes", "session_id", "hash_block"}),
         "vLLM": frozenset(), "Azure": frozenset()}
OPTIONAL_KEYS = frozenset().union(*READS.values())


def _check_keys(name: str, n: int, keys: Iterable[str], fmt: str, passed: set[tuple]) -> None:
    """Refuse another format's optional key and a near miss of one of `fmt`'s; `passed` holds the key lists
    already checked (a trace's lines mostly share one), so each is checked once."""
    seen = (fmt, *keys)
    if seen in passed:
        return
    stray = sorted((set(seen[1:]) & OPTIONAL_KEYS) - READS[fmt])
    if stray:
        reads = ", ".join(sorted(READS[fmt])) or "none"
        raise CoscaleError(f"{name} line {n}: {stray[0]} is not read by the {fmt} format (its optional keys: "
                           f"{reads}); rename it to that format's key or drop it.")
    for key in set(seen[1:]) - OPTIONAL_KEYS:
        meant = _near(str(key), READS[fmt])
        if meant:
            raise CoscaleError(f"{name} line {n}: unknown key '{key}'; did you mean '{meant}'?")
    passed.add(seen)


def _near(key: str, options: frozenset[str]) -> str | None:
    """The option `key` misspells: the same but for case, or close in letters and length."""
    lower = key.lower()
    if lower in options:
        return lower
    close = difflib.get_close_matches(lower, sorted(options), n=1, cutoff=0.8)
    return close[0] if close and abs(len(close[0]) - len(lower)) <= 3 else None


def _jsonl(name: str, lines: Iterable[str], first_line: int = 1) -> Iterator[tuple[int, _Row]]:
    passed: set[tuple] = set()
    for n, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            raise CoscaleError(f"{name} line {n}: not valid JSON ({e.msg}).") from None
        except (ValueError, RecursionError) as e:  # nesting deeper than json recurses, an integer too long
            raise CoscaleError(f"{name} line {n}: unreadable JSON ({type(e).__name__}); one flat object per line.") \
                from None
        if not isinstance(d, dict):
            raise CoscaleError(f"{name} line {n}: expected one JSON object per line.")
        if {"timestamp", "input_length", "output_length"} <= d.keys():
            _check_keys(name, n, d, "Mooncake", passed)
            hashes = d.get("hash_ids", [])
            if not isinstance(hashes, list):
                raise CoscaleError(f"{name} line {n}: hash_ids must be a list of integers.")
            yield n, _Row(t=_float(name, n, "timestamp", d["timestamp"]) / 1000.0,
                          isl=_int(name, n, "input_length", d["input_length"]),
                          osl=_int(name, n, "output_length", d["output_length"]),
                          hashes=tuple(_int(name, n, "hash_ids", h, 0) for h in hashes))
        elif {"arrival_s", "input_tokens", "output_tokens"} <= d.keys():
            _check_keys(name, n, d, "plain", passed)
            hashes = d.get("prefix_hashes", [])
            if not isinstance(hashes, list):
                raise CoscaleError(f"{name} line {n}: prefix_hashes must be a list of integers.")
            yield n, _plain(name, n, d, tuple(_int(name, n, "prefix_hashes", h, 0) for h in hashes))
        elif {"input_toks", "output_toks", "arrival_time"} <= d.keys():
            _check_keys(name, n, d, "vLLM", passed)
            yield n, _Row(t=_float(name, n, "arrival_time", d["arrival_time"]),
                          isl=_int(name, n, "input_toks", d["input_toks"]),
                          osl=_int(name, n, "output_toks", d["output_toks"]))
        else:
            raise CoscaleError(f"{name} line {n}: keys {sorted(d)} are neither Mooncake (timestamp, input_length, "
                               f"output_length) nor plain (arrival_s, input_tokens, output_tokens).")


@dataclass(frozen=True, kw_only=True, slots=True)
class MeasuredRun:
    """A measured vLLM benchmark run: the requests and what each one saw."""

    requests: tuple[Request, ...]
    ttft_s: np.ndarray
    tpot_s: np.ndarray  # NaN for single-token outputs
    queue_s: np.ndarray


def measured_vllm_trace(path: str | Path) -> MeasuredRun:
    """vLLM per-request records: TTFT = first_token_ts - queued_ts (engine-side timestamps, one clock),
    TPOT = (last_token_ts - first_token_ts) / (output - 1)."""
    reqs = read_trace(path)
    recs = [json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()]
    order = np.argsort([r["arrival_time"] for r in recs], kind="stable")
    recs = [recs[i] for i in order]
    q = np.array([r["queued_ts"] for r in recs])
    sched = np.array([r["scheduled_ts"] for r in recs])
    first = np.array([r["first_token_ts"] for r in recs])
    last = np.array([r["last_token_ts"] for r in recs])
    osl = np.array([r["output_toks"] for r in recs], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(osl > 1, (last - first) / np.maximum(osl - 1, 1), np.nan)
    return MeasuredRun(requests=reqs, ttft_s=first - q, tpot_s=tpot, queue_s=sched - q)


def shipped_trace(name: str) -> Path:
    """A trace shipped with the package (see traces/README.md for sources and licences)."""
    p = Path(__file__).parent / "traces" / name
    if not p.is_file():
        names = sorted(x.name for x in p.parent.iterdir() if x.suffix in (".csv", ".jsonl"))
        raise CoscaleError(f"no shipped trace '{name}'; use one of {', '.join(names)}.")
    return p
