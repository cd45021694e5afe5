"""Co-design exploration: sweeps over model x precision x parallelism x chip, Pareto fronts, and
feedback on which hardware or model change helps a workload most.

- `space`: a space file (TOML, axes by dotted path) -> `Space`; `Design` = everything one plan needs.
- `evaluate`: `Evaluator.evaluate_design(design, input_len, output_len, batch)` -> `DesignResult`
  (plan + `InferenceSweep`, or the layout reason); `evaluate_chunk` -> a pyarrow table in the flat
  schema `result_schema(space)`.
- `sweep.run_sweep` (chunks -> `store`, resumable) over `backends` (local pool, Ray).
- `pareto.pareto_mask`, `query.front_of` / `run_query` (DuckDB), `objectives` (the one definition).
- `env` (gymnasium, optional), `design_table`, `baselines`, `verify.verify_design`.
"""
