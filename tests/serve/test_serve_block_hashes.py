"""The prompt block hashes: the aligned fast path (block size dividing the trace's block) gives the
same hashes as the general per-block computation, and a prompt's keys can reuse another pool's."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.serve.request import Request, _aligned_hashes, _general_hashes, block_hashes, prompt_keys


@settings(max_examples=150, deadline=None)
@given(hb_exp=st.integers(0, 9), bs_exp=st.integers(0, 9), ids=st.lists(st.integers(-2**40, 2**40), max_size=12),
       extra=st.integers(1, 3000), shared_only=st.booleans(), rid=st.integers(0, 10**6))
def test_aligned_hashes_equal_the_general_ones(hb_exp, bs_exp, ids, extra, shared_only, rid):
    hb = 2 ** hb_exp
    bs = 2 ** min(bs_exp, hb_exp)  # divides hb
    req = Request(rid=rid, arrival_s=0.0, input_tokens=len(ids) * hb + extra, output_tokens=1,
                  prefix_hashes=tuple(ids), hash_block=hb)
    assert _aligned_hashes(req, bs, shared_only) == _general_hashes(req, bs, shared_only)
    assert block_hashes(req, bs, shared_only) == _general_hashes(req, bs, shared_only)


def test_block_straddling_trace_blocks_uses_the_general_path():
    req = Request(rid=1, arrival_s=0.0, input_tokens=1000, output_tokens=1, prefix_hashes=(5, 6), hash_block=300)
    got = block_hashes(req, 64, shared_only=True)
    assert got == _general_hashes(req, 64, True) and len(got) == 600 // 64


def test_prompt_keys_reuse_given_shared_hashes():
    req = Request(rid=3, arrival_s=0.0, input_tokens=2000, output_tokens=4, prefix_hashes=(1, 2, 3), hash_block=512)
    k = prompt_keys(req, 16)
    again = prompt_keys(req, 16, k.shared)
    assert again.shared is k.shared and again.n == k.n == 125 and len(k.shared) == 96
