"""Mutation score of `coscale.numerics` and `coscale.cost`: the share of mutants the tests kill.

Uses mutmut (PyPI; `pip install -e .[mutation]`). For each package it builds a scratch copy of the
checkout (src/ and tests/ and a pyproject.toml whose `[tool.mutmut]` section mutates that package
only), runs `mutmut run` there with each mutant's tests restricted to the package's test folders
(mutmut further runs only the tests that cover the mutated function), and reads every mutant's
outcome back from mutmut's result files. Nothing is written in the checkout itself.

Killed = mutmut's "killed", "timeout" and "segfault" (the tests noticed the change); the score is
killed / (every mutant checked), so a mutant no test reaches ("no tests") counts as surviving. With
`--sample N` a fixed-seed sample of N mutants per package is run (the scratch copy still generates
them all); the sample size is printed with the score.

    python benchmarks/mutation_score.py                     # every mutant of both packages
    python benchmarks/mutation_score.py --sample 300 --seed 0 --packages numerics
    python benchmarks/mutation_score.py --baseline before.json   # re-check only the survivors of a run

`--baseline FILE` (the JSON line of an earlier run, e.g. on an older commit with `--root`) re-runs only
that run's surviving mutants and counts its killed ones as still killed: valid when tests were only
added since (a test suite that only grows cannot revive a killed mutant), and much cheaper.

The last line of output is one JSON object: per package the mutants checked, killed, survived,
no-tests, the score, the sample size and the surviving mutant names.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# the tests that exercise each package (the mutant runs are restricted to these folders)
TESTS = {
    "numerics": ["tests/numerics", "tests/precision"],
    "cost": ["tests/core", "tests/physics", "tests/feasibility"],
}
# tests that run the CLI in a subprocess: the subprocess imports the installed package, never the
# mutated copy, so they cannot kill a mutant; they are left out of the mutant runs
SUBPROCESS_TESTS = ["tests/numerics/test_cli.py", "tests/core/test_core_cli.py", "tests/core/test_without_torch.py"]
KILLED = {"killed", "timeout", "segfault", "caught by type check"}


def _scratch(package: str, workdir: Path, root: Path) -> None:
    """src/, tests/ and a pyproject.toml that mutates `coscale.<package>` only."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", "mutants")
    shutil.copytree(root / "src", workdir / "src", ignore=ignore)
    shutil.copytree(root / "tests", workdir / "tests", ignore=ignore)
    project = tomllib.loads((root / "pyproject.toml").read_text())
    pytest_opts = project["tool"]["pytest"]["ini_options"]
    lines = [
        "[tool.mutmut]",
        'source_paths = ["src"]',
        f'only_mutate = ["src/coscale/{package}/*"]',
        f"pytest_add_cli_args_test_selection = {json.dumps(TESTS[package])}",
        "pytest_add_cli_args = " + json.dumps(["-q", "-p", "no:cacheprovider",
                                               *(f"--ignore={t}" for t in SUBPROCESS_TESTS)]),
        "use_git_change_detection = false",
        "",
        "[tool.pytest.ini_options]",
        f"markers = {json.dumps(pytest_opts['markers'])}",
        f"addopts = {json.dumps(pytest_opts['addopts'])}",
        "",
    ]
    (workdir / "pyproject.toml").write_text("\n".join(lines))


def _outcomes(workdir: Path) -> dict[str, str]:
    """Mutant name -> mutmut status, from the result files mutmut writes next to each mutated module."""
    from mutmut.stats import status_by_exit_code

    out: dict[str, str] = {}
    for meta in (workdir / "mutants").rglob("*.meta"):
        data = json.loads(meta.read_text())
        for name, code in data.get("exit_code_by_key", {}).items():
            out[name] = status_by_exit_code[code]
    return out


# mutmut's own first step, alone: write every mutant (and its name) without running any test
_GENERATE = ("import mutmut.__main__ as m; m.copy_src_dir(); m.copy_also_copy_files(); m.setup_source_paths(); "
             "m.store_lines_covered_by_tests(); m.create_mutants({workers})")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the mutated copy must be what imports
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def _mutmut(workdir: Path, names: list[str], workers: int, log: Path) -> float:
    t0 = time.perf_counter()
    with log.open("a") as fh:
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(workers), *names],
                       cwd=workdir, env=_env(), stdout=fh, stderr=subprocess.STDOUT, check=False)
    return time.perf_counter() - t0


def score(package: str, sample: int, seed: int, workers: int, keep: Path | None, root: Path,
          baseline: dict | None = None) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix=f"mutation-{package}-")) if keep is None else keep / package
    workdir.mkdir(parents=True, exist_ok=True)
    _scratch(package, workdir, root)
    log = workdir / "mutmut.log"
    if baseline is not None:  # re-check the baseline's survivors only; its killed mutants stay killed
        survivors = list(baseline["surviving"])
        wall = _mutmut(workdir, survivors, workers, log) if survivors else 0.0
        now = _outcomes(workdir)
        still = sorted(n for n in survivors if now.get(n) not in KILLED)
        killed = int(baseline["checked"]) - len(still)
        return {"package": package, "mutants_total": baseline["mutants_total"], "sample": baseline["sample"],
                "checked": baseline["checked"], "killed": killed, "survived": len(still),
                "no_tests": sum(now.get(n) == "no tests" for n in still),
                "score": killed / baseline["checked"] if baseline["checked"] else None, "wall_s": round(wall, 1),
                "rechecked": len(survivors), "surviving": still}
    if sample:
        # write every mutant first (no test runs), then draw the sample from their names
        with log.open("a") as fh:
            subprocess.run([sys.executable, "-c", _GENERATE.format(workers=workers)], cwd=workdir, env=_env(),
                           stdout=fh, stderr=subprocess.STDOUT, check=True)
        every = sorted(_outcomes(workdir))
        chosen = sorted(random.Random(seed).sample(every, min(sample, len(every))))
        wall = _mutmut(workdir, chosen, workers, log)
        results = {n: s for n, s in _outcomes(workdir).items() if n in set(chosen)}
        total = len(every)
    else:
        wall = _mutmut(workdir, [], workers, log)
        results = _outcomes(workdir)
        total = len(results)
    checked = {n: s for n, s in results.items() if s != "not checked"}
    killed = sum(s in KILLED for s in checked.values())
    survived = sorted(n for n, s in checked.items() if s not in KILLED)
    if keep is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"package": package, "mutants_total": total, "sample": len(results) if sample else None,
            "checked": len(checked), "killed": killed, "survived": len(survived),
            "no_tests": sum(s == "no tests" for s in checked.values()),
            "score": killed / len(checked) if checked else None, "wall_s": round(wall, 1),
            "surviving": survived}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packages", default="numerics,cost", help="comma-separated: numerics, cost")
    ap.add_argument("--sample", type=int, default=0, help="mutants per package (0 = all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1, help="mutmut --max-children (the machine has 2 cores)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the scratch copies under this folder")
    ap.add_argument("--baseline", type=Path, default=None, help="JSON of an earlier run: re-check its survivors")
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose src/ and tests/ are scored (default: "
                                                             "this one; e.g. an export of an older commit)")
    args = ap.parse_args()
    try:
        import mutmut  # noqa: F401
    except ImportError:
        sys.exit("mutmut is not installed: pip install -e .[mutation]")
    packages = [p.strip() for p in args.packages.split(",") if p.strip()]
    unknown = [p for p in packages if p not in TESTS]
    if unknown:
        sys.exit(f"unknown package(s) {unknown}; use some of {sorted(TESTS)}")
    base = None
    if args.baseline is not None:
        base = json.loads(args.baseline.read_text().strip().splitlines()[-1])["packages"]
        packages = [p for p in packages if p in base]
    report = {}
    for p in packages:
        r = score(p, args.sample, args.seed, args.workers, args.keep, args.root.resolve(),
                  None if base is None else base[p])
        report[p] = r
        share = "n/a" if r["score"] is None else f"{r['score']:.1%}"
        sampled = f" (a sample of {r['sample']} of {r['mutants_total']})" if r["sample"] else ""
        if base is not None:
            sampled += f"; {r['rechecked']} survivors of the baseline re-checked"
        print(f"coscale.{p}: {r['killed']} of {r['checked']} mutants killed = {share}{sampled}; "
              f"{r['no_tests']} reached by no test; {r['wall_s']} s")
    print(json.dumps({"benchmark": "mutation_score", "seed": args.seed, "sample": args.sample or None,
                      "packages": report}))


if __name__ == "__main__":
    main()
