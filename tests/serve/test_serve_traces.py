"""Trace readers, shipped traces, and prefix caching on the Mooncake conversation trace."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from coscale.errors import CoscaleError
from coscale.serve.engine import simulate
from coscale.serve.metrics import request_arrays
from coscale.serve.traces import measured_vllm_trace, read_trace, shipped_trace
from coscale.serve.workload import OpenLoop


def test_shipped_traces_read_with_their_published_statistics():
    conv = read_trace(shipped_trace("azure_llm_2023_conv.csv"))
    assert len(conv) == 19366  # the trace's request count (workload_stats.json)
    assert np.mean([r.input_tokens for r in conv]) == pytest.approx(1154.697, rel=1e-5)
    assert conv[-1].arrival_s == pytest.approx(3501.72, rel=1e-5)
    moon = read_trace(shipped_trace("mooncake_fast25_conversation_head3600.jsonl"))
    assert len(moon) == 3600 and moon[0].prefix_hashes[:3] == (0, 1, 2)
    run = measured_vllm_trace(shipped_trace("vllm019_rtxpro6000x2_qwen3-32b_tp2.jsonl"))
    assert len(run.requests) == 300
    assert run.ttft_s.mean() * 1e3 == pytest.approx(36905.2, rel=1e-4)  # case LSS-PRO6000-Q32-ttft


def test_mooncake_prefix_hits_two_ways(cheap, replicas_factory):
    trace = read_trace(shipped_trace("mooncake_fast25_conversation_head3600.jsonl"))[:1200]
    reqs = tuple(dataclasses.replace(r, arrival_s=float(i)) for i, r in enumerate(trace))
    blocks = sum(-(-(r.input_tokens + r.output_tokens) // 512) for r in reqs) + 10
    res = simulate(replicas_factory(cheap, num_blocks=blocks, block_size=512), OpenLoop(requests=reqs))
    engine = request_arrays(res).hit_tokens
    seen: set[int] = set()
    direct = []
    for r in reqs:
        k = 0
        for h in r.prefix_hashes[:(r.input_tokens - 1) // 512]:
            if h not in seen:
                break
            k += 1
        direct.append(k * 512)
        seen.update(r.prefix_hashes[:r.input_tokens // 512])
    assert engine.tolist() == direct
    rate = engine.sum() / sum(r.input_tokens for r in reqs)
    assert 0.2 < rate < 0.6


def test_lru_eviction_lowers_hits_in_a_small_pool(cheap, replicas_factory):
    trace = read_trace(shipped_trace("mooncake_fast25_conversation_head3600.jsonl"))[:400]
    reqs = tuple(dataclasses.replace(r, arrival_s=float(i)) for i, r in enumerate(trace))
    big = simulate(replicas_factory(cheap, num_blocks=200_000, block_size=16), OpenLoop(requests=reqs))
    need = max(-(-(r.input_tokens + r.output_tokens) // 16) for r in reqs)
    small = simulate(replicas_factory(cheap, num_blocks=need + 50, block_size=16), OpenLoop(requests=reqs))
    hb, hs = request_arrays(big).hit_tokens.sum(), request_arrays(small).hit_tokens.sum()
    assert 0 < hs < hb


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(("name", "text", "needle"), [
    ("a.csv", "TIMESTAMP,ContextTokens\n2023-11-16 18:15:46.68,3\n", "line 1"),
    ("b.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,3,4\n2023-11-16 18:15:47,-5,4\n",
     "line 3"),
    ("c.csv", "arrival_s,input_tokens,output_tokens\n0.5,10,x\n", "line 2"),
    ("d.csv", "arrival_s,input_tokens,output_tokens\n2.0,10,5\n1.0,10,5\n", "line 3"),
    ("e.jsonl", '{"timestamp": 0, "input_length": 10, "output_length": 5}\n{"timestamp": 3, "input_length": 1.5,'
                ' "output_length": 5}\n', "line 2"),
    ("f.jsonl", '{"arrival_s": 0, "input_tokens": 10}\n', "line 1"),
    ("g.jsonl", '{"arrival_s": 0, "input_tokens": 10, "output_tokens": 2}\n{not json\n', "line 2"),
    ("h.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,3,4\n", "line 2"),
    # blank lines before the first record count in the line numbers
    ("i.jsonl", '\n\n{"arrival_s": 0, "input_tokens": 10}\n', "line 3"),
    ("j.csv", "\narrival_s,input_tokens,output_tokens\n0.5,10\n", "line 3"),
    # a misspelt optional key would silently switch prefix caching or sessions off
    ("k.jsonl", '{"timestamp": 0, "input_length": 10, "output_length": 5, "hash_id": [1]}\n',
     "line 1: unknown key 'hash_id'; did you mean 'hash_ids'?"),
    ("l.jsonl", '{"arrival_s": 0, "input_tokens": 10, "output_tokens": 2}\n{"arrival_s": 1, "input_tokens": 10, '
                '"output_tokens": 2, "prefix_hash": [3]}\n', "line 2: unknown key 'prefix_hash'"),
    ("m.csv", "arrival_s,input_tokens,output_tokens,sesion_id\n0.5,10,5,1\n", "did you mean 'session_id'"),
    ("m2.jsonl", '{"timestamp": 0, "input_length": 10, "output_length": 5, "HASH_IDS": [1]}\n',
     "unknown key 'HASH_IDS'; did you mean 'hash_ids'?"),
    ("m3.csv", "arrival_s,input_tokens,output_tokens,Session_ID\n0.5,10,5,1\n", "did you mean 'session_id'"),
    # another format's optional key would be ignored just the same
    ("n.jsonl", '{"arrival_s": 0, "input_tokens": 10, "output_tokens": 2, "hash_ids": [1]}\n',
     "line 1: hash_ids is not read by the plain format (its optional keys: hash_block, prefix_hashes, session_id)"),
    ("o.jsonl", '{"timestamp": 0, "input_length": 10, "output_length": 5, "session_id": 3}\n',
     "session_id is not read by the Mooncake format (its optional keys: hash_ids)"),
    ("p.csv", "TIMESTAMP,ContextTokens,GeneratedTokens,prefix_hashes\n2023-11-16 18:15:46.68,3,4,1\n",
     "line 1: prefix_hashes is not read by the Azure format (its optional keys: none)"),
])
def test_malformed_traces_name_the_line(tmp_path, name, text, needle):
    with pytest.raises(CoscaleError) as e:
        read_trace(_write(tmp_path, name, text))
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_a_byte_order_mark_and_leading_blank_lines_are_read_past(tmp_path):
    body = '{"arrival_s": 0, "input_tokens": 10, "output_tokens": 2}\n{"arrival_s": 1, "input_tokens": 7, ' \
           '"output_tokens": 3}\n'
    plain = read_trace(_write(tmp_path, "a.jsonl", body))
    assert len(plain) == 2
    assert read_trace(_write(tmp_path, "b.jsonl", "\ufeff" + body)) == plain
    assert read_trace(_write(tmp_path, "c.jsonl", "\n \n" + body)) == plain


def test_other_tools_keys_are_ignored(tmp_path):
    line = '{"timestamp": 0, "input_length": 10, "output_length": 5, "hash_ids": [1], "model": "x", "chat_id": 7, ' \
           '"hash_ids_len": 1, "session": 4}\n'  # a Mooncake line has no sessions: its `session` is metadata
    assert read_trace(_write(tmp_path, "a.jsonl", line))[0].prefix_hashes == (1,)


def test_plain_formats_agree(tmp_path):
    rows = [dict(arrival_s=0.0, input_tokens=100, output_tokens=5, session_id=1, prefix_hashes=[1, 2]),
            dict(arrival_s=0.25, input_tokens=40, output_tokens=9, session_id=1, prefix_hashes=[1])]
    j = _write(tmp_path, "p.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    c = _write(tmp_path, "p.csv", "arrival_s,input_tokens,output_tokens,session_id,prefix_hashes\n"
               "0.0,100,5,1,1 2\n0.25,40,9,1,1\n")
    assert read_trace(j) == read_trace(c)
    assert read_trace(j)[1].prefix_hashes == (1,)


def test_multi_turn_sessions_hit_the_previous_turn(cheap, replicas_factory):
    """Turns far apart: each turn's prompt repeats the previous prompt and answer, and the engine hits
    exactly the previous prompt's full blocks (generated tokens are not published to the cache)."""
    import numpy as np

    from coscale.serve.workload import session_requests
    rng = np.random.default_rng(0)
    turns, new, out = 4, 200, 50
    reqs = session_requests(np.array([0.0, 5000.0]), turns, 1000.0, np.full(2 * turns, new), np.full(2 * turns, out),
                            rng)
    assert [r.input_tokens for r in reqs if r.session_id == 0] == [200, 450, 700, 950]
    res = simulate(replicas_factory(cheap, num_blocks=2000, block_size=16), OpenLoop(requests=reqs))
    by = {s.req.rid: s for s in res.sequences}
    for r in reqs:
        prev = [q for q in reqs if q.session_id == r.session_id and q.arrival_s < r.arrival_s]
        expected = (prev[-1].input_tokens // 16) * 16 if prev else 0
        assert by[r.rid].hit_tokens == expected
