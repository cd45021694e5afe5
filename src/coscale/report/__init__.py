"""Presentation: the only package that renders results (rich tables, plots, JSON shaping).

Each result type has exactly one `*_to_dict` here, which `--json` prints via
`console.print_json` (strict JSON: inf/nan become strings); the rich tables render the same
results for a terminal. Library packages (models,
hardware, cost, workload, predict, train, lab, numerics, validation, specs) never import this
package or the CLI; the CLI imports both.
"""
