"""Disaggregated prefill/decode serving: two pools of engine instances joined by a KV link."""
