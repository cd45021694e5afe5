"""Prompt block keys against the obviously correct rule they encode: two prompts share block i's key exactly
when they share every token up to its end, tokens spelled out one by one from the trace's block ids."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.serve.request import Request, block_hashes, prompt_keys


def _tokens(req: Request) -> list[tuple]:
    """The prompt token by token: (trace block id, offset) where the trace names it, else unique to the request."""
    hb, ids = req.hash_block, req.prefix_hashes
    return [(ids[t // hb], t % hb) if t // hb < len(ids) else ("own", req.rid, t) for t in range(req.input_tokens)]


def _slow_keys(req: Request, bs: int) -> list[tuple]:
    """Block i's key as its whole token prefix, for the full blocks whose every token the trace names."""
    toks = _tokens(req)
    named = len(req.prefix_hashes) * req.hash_block
    ends = [(i + 1) * bs for i in range(req.input_tokens // bs)]
    return [tuple(toks[:end]) for end in ends if end <= named]


_ids = st.lists(st.integers(0, 3), max_size=6)


@settings(max_examples=200, deadline=None)
@given(hb=st.integers(1, 40), bs=st.integers(1, 40), ids_a=_ids, ids_b=_ids, extra_a=st.integers(1, 90),
       extra_b=st.integers(-40, 90))
def test_keys_are_equal_exactly_when_the_token_prefixes_are(hb, bs, ids_a, ids_b, extra_a, extra_b):
    a = Request(rid=1, arrival_s=0.0, input_tokens=len(ids_a) * hb + extra_a, output_tokens=1,
                prefix_hashes=tuple(ids_a), hash_block=hb)
    b = Request(rid=2, arrival_s=0.0, input_tokens=max(1, len(ids_b) * hb + extra_b), output_tokens=1,
                prefix_hashes=tuple(ids_b), hash_block=hb)
    ka, kb = block_hashes(a, bs), block_hashes(b, bs)
    sa, sb = _slow_keys(a, bs), _slow_keys(b, bs)
    assert len(ka) == len(sa) and len(kb) == len(sb)
    keys_a, slow_a = {k: i for i, k in enumerate(ka)}, {k: i for i, k in enumerate(sa)}
    assert len(keys_a) == len(ka)  # distinct blocks of one prompt never share a key
    for j, (k, s) in enumerate(zip(kb, sb, strict=True)):
        assert (k in keys_a) == (s in slow_a)
        if k in keys_a:
            assert keys_a[k] == slow_a[s] == j


def test_prompt_keys_reuse_given_shared_hashes():
    req = Request(rid=3, arrival_s=0.0, input_tokens=2000, output_tokens=4, prefix_hashes=(1, 2, 3), hash_block=512)
    k = prompt_keys(req, 16)
    again = prompt_keys(req, 16, k.shared)
    assert again.shared is k.shared and again.n == k.n == 125 and len(k.shared) == 96
