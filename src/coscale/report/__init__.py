"""Presentation: the only package that renders results (rich tables, plots, JSON shaping).

Each result type has exactly one `*_to_dict` here, which `--json` prints via
`console.print_json`, and the tables are built from the same dict. Library packages (models,
hardware, cost, workload, predict, train, lab, numerics, validation, specs) never import this
package or the CLI; the CLI imports both.
"""
