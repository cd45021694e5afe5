"""Threads: never more than the cores, fewer when the machine is busy, at least one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from coscale.lab.threads import available_cores, pick_threads


@given(limit=st.integers(1, 64) | st.none(), cores=st.integers(1, 256), load=st.floats(0, 500))
def test_threads_bounded_by_cores_load_and_limit(limit, cores, load):
    t = pick_threads(limit, cores=cores, load=load).threads
    assert 1 <= t <= cores
    assert limit is None or t <= limit
    assert t <= max(1, cores - int(load))


def test_examples_and_this_machine():
    assert pick_threads(8, cores=2, load=0.2).threads == 2
    assert pick_threads(8, cores=2, load=1.5).threads == 1
    assert pick_threads(2, cores=16, load=3).threads == 2
    assert pick_threads(None, cores=16, load=3).threads == 13
    assert 1 <= pick_threads().threads <= available_cores()
