"""`coscale numerics formats|schemes|error`, human and --json output, and exit code 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from coscale.cli.numerics_cmd import app

runner = CliRunner()


def test_formats_json() -> None:
    res = runner.invoke(app, ["formats", "--json"])
    assert res.exit_code == 0
    rows = {r["name"]: r for r in json.loads(res.stdout)["formats"]}
    assert rows["float8_e4m3fn"]["max"] == 448.0 and rows["float4_e2m1fn"]["min_subnormal"] == 0.5
    assert rows["float8_e5m2"]["has_inf"] and not rows["float6_e2m3fn"]["has_nan"]
    assert runner.invoke(app, ["formats"]).exit_code == 0


def test_error_json_reproduces_table() -> None:
    res = runner.invoke(app, ["error", "--scheme", "int8_tensor", "--n", "4194304", "--seed", "0", "--json"])
    assert res.exit_code == 0
    d = json.loads(res.stdout)
    assert abs(d["qsnr_db"] - 38.30) < 0.1
    assert d["saturated_frac"] == 0.0 and 0 < d["flushed_to_zero_frac"] < 0.05 and d["rel_rmse"] > 0


def test_error_human_and_heavy_tails() -> None:
    res = runner.invoke(app, ["error", "--scheme", "mxfp4", "--dist", "student-t", "--n", "4096"])
    assert res.exit_code == 0 and "QSNR" in res.stdout
    assert runner.invoke(app, ["schemes", "--json"]).exit_code == 0


def test_bad_input_exits_2_with_one_line() -> None:
    cmd = [sys.executable, "-c", "from coscale.cli.app import main; main()"]
    res = subprocess.run([*cmd, "numerics", "error", "--scheme", "nope"], capture_output=True, text=True, check=False)
    assert res.returncode == 2 and "valid schemes" in res.stderr and "Traceback" not in res.stderr
    res = subprocess.run(
        [*cmd, "numerics", "error", "--scheme", "nvfp4", "--dist", "cauchy"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 2 and "student-t" in res.stderr
