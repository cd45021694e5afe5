"""Training planner: memory and step time of 3D/4D-parallel training, and a layout search.

Reads the same forward operator list as inference (`coscale.workload.build.forward_ops`) and derives
the backward pass from it, so no second model of the network exists.
"""
