"""PTQ: quantized copies use exactly the numerics quantizers; GPTQ runs on a real model."""

from __future__ import annotations

import pytest
import torch

from coscale.errors import CoscaleError
from coscale.lab.apply import apply_recipe
from coscale.lab.data import train_batch, val_batches
from coscale.lab.model import LabLM
from coscale.lab.ptq import PTQ_SCHEMES, PtqLinear, block_linears, get_ptq_scheme, quantize_model
from coscale.lab.recipes import get_recipe
from coscale.lab.train import evaluate
from coscale.numerics import quantize


@pytest.fixture(scope="module")
def model(tiny_preset):
    torch.manual_seed(0)
    m = LabLM(tiny_preset.model)
    apply_recipe(m, get_recipe("bf16"))
    return m


@pytest.mark.parametrize("scheme", [s for s in PTQ_SCHEMES if s.method == "rtn"], ids=lambda s: s.name)
def test_rtn_weights_are_the_numerics_quantization(model, scheme):
    q = quantize_model(model, scheme)
    for (_, a), (_, b) in zip(block_linears(model), block_linears(q), strict=True):
        assert isinstance(b, PtqLinear) and b.activation == scheme.activation
        torch.testing.assert_close(b.weight, quantize(a.weight.detach(), scheme.weight).dequantize(), atol=0, rtol=0)
    assert not isinstance(block_linears(model)[0][1], PtqLinear)  # the original is untouched


def test_gptq_runs_and_loss_is_finite(model, tiny_preset, corpus):
    t = tiny_preset.train
    calib = [train_batch(corpus, seed=9, step=i, batch_size=t.batch_size, seq_len=t.seq_len)[0] for i in range(2)]
    q = quantize_model(model, get_ptq_scheme("gptq_int4_group128"), calibration=calib)
    vals = val_batches(corpus, n_batches=1, batch_size=t.batch_size, seq_len=t.seq_len)
    loss = evaluate(q, vals, torch.device("cpu"))
    assert torch.isfinite(torch.tensor(loss))
    pairs = zip(block_linears(model), block_linears(q), strict=True)
    assert all(not torch.equal(a.weight, b.weight) for (_, a), (_, b) in pairs)


def test_unknown_scheme():
    with pytest.raises(CoscaleError, match="unknown PTQ scheme"):
        get_ptq_scheme("int3")


@pytest.mark.parametrize("scheme", PTQ_SCHEMES, ids=lambda s: s.name)
def test_activations_are_quantized_as_the_scheme_says(model, scheme):
    """Each PtqLinear's GEMM input is the scheme's activation quantization of x (W8A8 / W4A4), or x
    rounded to BF16 for weight-only schemes: checked against the numerics quantizer directly."""
    from coscale.numerics import fake_quant

    q = quantize_model(model, scheme, calibration=[torch.randint(0, 256, (2, 32))])
    torch.manual_seed(5)
    for _, linear in block_linears(q)[:3]:
        x = torch.randn(3, 7, linear.in_features) * 3
        if scheme.activation is None:
            xq = x.bfloat16().float()
        else:
            xq = quantize(x, scheme.activation).dequantize()
            torch.testing.assert_close(fake_quant(x, scheme.activation), xq, atol=0, rtol=0)
            assert not torch.equal(xq, x.bfloat16().float())  # the activation quantization does something
        expect = torch.nn.functional.linear(xq, linear.weight, linear.bias).bfloat16().float()
        torch.testing.assert_close(linear(x), expect, atol=0, rtol=0)
