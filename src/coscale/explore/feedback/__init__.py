"""Feedback for chip and model designers: which hardware field, which model change, helps a workload most.

workload.py reads the workload file; evaluate.py predicts it on one chip (through the same
`predict_inference_sweep` and `objective_values` as everything else); levers.py ranks hardware
fields by elasticity; whatif.py runs discrete what-ifs; flip.py finds where the top lever flips;
model_levers.py ranks model variants; answers.py counts cost and latency per answer.
"""
