"""coscale.lab: train a small hybrid LM under a precision recipe and compare with post-training quantization.

- `config`: presets (`ci`, `default`, `gpu`) of a Nemotron-H style hybrid described by a layer pattern
  (`M` Mamba-2, `*` attention, `-` MLP, `E` MoE); `spec.to_model_spec` hands the same model to the predictor.
- `data`: the Python standard library's own source as training text (or `--data DIR`), byte tokens or a
  cached BPE, split by file, batches a pure function of (seed, step).
- `recipes`: BF16, FP8 (current, delayed, DeepSeek block), MXFP8 and NVFP4 (+ ablations) as data; `apply`
  swaps linears for `coscale.numerics.QuantLinear`. Master weights, gradients and AdamW state are FP32 in
  every recipe; BF16 is emulated by rounding the GEMM operands to bfloat16 (`layers.Bf16Linear`).
- `train`: resumable, deterministic loop; `ptq` + `gptq`: RTN and GPTQ of the BF16 model; `compare`: all of it.
"""
