"""A workload option is refused exactly when it would change nothing: each rule of
`check_workload_mode` is checked against the workload the simulator really draws with and without
the option (a refused option leaves the requests identical; an accepted one changes them)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from coscale.cli.serve_options import check_workload_mode
from coscale.errors import CoscaleError
from coscale.serve.scenario import WorkloadSpec, make_workload
from coscale.serve.traces import shipped_trace
from coscale.serve.workload import ClosedLoop, RequestColumns

TRACE = str(shipped_trace("azure_llm_2023_conv.csv"))
# each option with a value other than its default (so that, when the option is read, it changes the draw)
OPTIONS = {"arrival": "constant", "burstiness": 2.0, "input_len": 300, "output_len": 50, "length_dist": "lognormal",
           "turns": 3, "think_s": 4.0, "seed": 7, "duration_s": 5.0, "num_requests": 12}
# ways of sending requests, each with random lengths where lengths are drawn (so that a seed matters)
BASES = {
    "trace": {"trace": TRACE},
    "closed loop": {"concurrency": 4, "length_dist": "exponential"},
    "open loop": {"rate": 2.0, "length_dist": "exponential"},
    "gamma arrivals": {"rate": 2.0, "length_dist": "exponential", "arrival": "gamma"},
    "sessions": {"rate": 2.0, "length_dist": "exponential", "turns": 3},
    "counted open loop": {"rate": 2.0, "length_dist": "exponential", "num_requests": 40},
    "length preset": {"rate": 2.0, "length_dist": "azure-conv"},
}
CASES = [(base, option) for base in BASES for option in OPTIONS if option not in BASES[base]]


def _drawn(given: dict) -> tuple:
    """What the simulator receives: every request's arrival and lengths (and session and prefix)."""
    w = make_workload(WorkloadSpec(**given))
    if isinstance(w, ClosedLoop):
        return ("closed", w.concurrency, w.isl.tolist(), w.osl.tolist())
    reqs = w.requests
    if isinstance(reqs, RequestColumns):
        return ("open", reqs.arrival_s.tolist(), reqs.input_tokens.tolist(), reqs.output_tokens.tolist())
    return ("open", tuple(reqs))


def _refused(given: dict) -> bool:
    try:
        check_workload_mode(given)
    except CoscaleError:
        return True
    return False


@pytest.mark.parametrize(("base", "option"), CASES, ids=[f"{b}+{o}" for b, o in CASES])
def test_an_option_is_refused_exactly_when_it_changes_nothing(base: str, option: str) -> None:
    given = BASES[base]
    assert not _refused(given)
    with_option = {**given, option: OPTIONS[option]}
    unchanged = _drawn(with_option) == _drawn(given)
    assert _refused(with_option) == unchanged, (base, option, "unchanged" if unchanged else "changed")


def test_the_cases_cover_every_rule() -> None:
    """Each way of sending requests ignores something, and reads something."""
    outcomes = {base: {_refused({**BASES[base], o: OPTIONS[o]}) for b, o in CASES if b == base} for base in BASES}
    assert all(o == {True, False} for o in outcomes.values()), outcomes
    # trace: all 8 but the two that cut it; closed loop: arrival, burstiness, turns, think time, duration;
    # open loops: burstiness without gamma arrivals, think time without turns, duration beside a count,
    # the two means beside a length preset
    assert sum(_refused({**BASES[b], o: OPTIONS[o]}) for b, o in CASES) == 8 + 5 + 2 + 1 + 1 + 3 + 4


@pytest.mark.parametrize(("args", "needle"), [
    (("--trace", TRACE, "--input-len", "4000"), "--input-len has no effect with --trace"),
    (("--concurrency", "4", "--duration", "10"), "--duration has no effect with --concurrency"),
    (("--rate", "2", "--burstiness", "3"), "--arrival gamma"),
])
def test_the_cli_names_the_ignored_flag(args: tuple[str, ...], needle: str) -> None:
    r = subprocess.run([sys.executable, "-m", "coscale", "serve", "simulate", *args], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and needle in r.stderr, r.stderr
