"""KV-cache tiers below GPU memory: host DRAM, local NVMe and pod-shared storage (see serve/README.md, "KV tiers")."""
