"""Co-design exploration: sweeps over model x precision x parallelism x chip, Pareto fronts, and
feedback on which hardware or model change helps a workload most."""
