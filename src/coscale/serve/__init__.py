"""Request-level serving simulator: discrete events, iteration-level scheduling, paged KV with prefix
caching, engine presets, workloads, trace replay and latency/throughput metrics."""
