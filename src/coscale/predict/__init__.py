"""Products built on the workload + cost model: inference prediction (training joins later)."""
