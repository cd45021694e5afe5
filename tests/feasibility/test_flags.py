"""The CLI shows spec paths as the flags that set them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.cli.flags import FLAGS, in_flag_words
from coscale.feasibility import layout_violations
from coscale.models.registry import load_model

QWEN = load_model("qwen3-30b-a3b")


def test_paths_become_flags_and_values_follow_them():
    text = "parallel.tp=3 and parallel.ep=4 with tp*cp*pp*dp; request.input_len + request.output_len = 9"
    assert in_flag_words(text) == "--tp 3 and --ep 4 with tp*cp*pp*dp; --input-len + --output-len = 9"
    assert in_flag_words("train.global_batch=100 is not divisible by dp*micro-batch") == \
        "--global-batch 100 is not divisible by dp*micro-batch"


@settings(max_examples=200, deadline=None)
@given(tp=st.integers(0, 20), pp=st.integers(0, 60), ep=st.integers(0, 20), cp=st.integers(0, 8),
       vp=st.integers(0, 4), dp=st.none() | st.integers(0, 9), gpus=st.integers(0, 99),
       seq_len=st.integers(0, 5000), context_len=st.none() | st.integers(0, 300_000))
def test_every_violation_renders_without_spec_paths(tp, pp, ep, cp, vp, dp, gpus, seq_len, context_len):
    for v in layout_violations(QWEN, tp=tp, pp=pp, ep=ep, cp=cp, vp=vp, dp=dp, gpus=gpus, seq_len=seq_len,
                               global_batch=64, micro_batch=2, context_len=context_len):
        assert v.field in FLAGS
        shown = in_flag_words(v.message)
        assert FLAGS[v.field].split()[0] in shown
        assert not any(path in shown for path in FLAGS)
