"""Model + phase + shapes -> a list of operators (FLOPs, bytes, collectives) per GPU.

Every consumer (inference prediction, training planner, validation) reads the same list, so each
formula is written once.
"""
