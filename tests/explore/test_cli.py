"""`coscale explore`, `explore query` and `explore pareto` end to end; bad input is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from coscale.cli.app import app, main

runner = CliRunner()


@pytest.fixture(scope="module")
def results(small_space_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "r.parquet"
    r = runner.invoke(app, ["explore", "--space", str(small_space_file), "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    return out, json.loads(r.stdout)


def test_sweep_json(results):
    out, data = results
    assert out.exists() and data["points"] == 768
    assert data["feasible"] is True and data["feasible_points"] == data["reasons"]["ok"]
    assert data["front_objectives"] == ["throughput_per_gpu", "tokens_per_s_per_user"]
    tps = [p["throughput_per_gpu"] for p in data["front"]]
    users = [p["tokens_per_s_per_user"] for p in data["front"]]
    assert tps == sorted(tps, reverse=True) and users == sorted(users)  # a 2-D front is a staircase
    assert {"model", "hardware", "precision", "tp", "input_len", "batch"} <= set(data["front"][0])


def test_query_json_and_table(results):
    out, data = results
    r = runner.invoke(app, ["explore", "query", str(out), "SELECT reason, count(*) AS n FROM results GROUP BY reason "
                                                          "ORDER BY reason", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["rows"]
    assert {row["reason"]: row["n"] for row in rows} == data["reasons"]
    table = runner.invoke(app, ["explore", "query", str(out), "SELECT count(*) AS n FROM results"])
    assert table.exit_code == 0 and "768" in table.stdout


def test_pareto_three_objectives(results):
    out, _ = results
    r = runner.invoke(app, ["explore", "pareto", str(out), "--objectives",
                            "throughput_per_gpu,tokens_per_s_per_user,cost_per_mtok", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["points"] == len(data["front"]) > 0


@pytest.fixture
def cli(monkeypatch, capsys):
    """`coscale ...` through the console entry point (its error mapping included), in this process."""
    def run(*args: str) -> subprocess.CompletedProcess:
        monkeypatch.setattr(sys, "argv", ["coscale", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)

    return run


@pytest.mark.parametrize(("args", "words"), [
    (["explore"], "--space"),
    (["explore", "--space", "missing.toml"], "not found"),
    (["explore", "query", "missing.parquet", "SELECT 1"], "not found"),
    (["explore", "query", ".", "SELECT 1"], "is a folder"),
    (["explore", "pareto", ".", "--objectives", "throughput_per_gpu,ttft_s"], "is a folder"),
])
def test_bad_input_exit_2(cli, args, words):
    r = cli(*args)
    assert r.returncode == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_bad_space_and_query_exit_2(cli, results, tmp_path):
    out, _ = results
    bad = tmp_path / "bad.toml"
    bad.write_text('[axes]\nmodel = "llama-3.1-8b"\nhardware = "h100-sxm"\n"hardware.memory.hbm.bandwidht_Bps" = '
                   '{scale = [1, 2]}\n', encoding="utf-8")
    for args, words in ((["explore", "--space", str(bad)], "memory.hbm.bandwidth_Bps"),
                        (["explore", "query", str(out), "SELECT nope FROM results"], "nope"),
                        (["explore", "pareto", str(out), "--objectives", "throughput_per_gpu,joules"],
                         "joules_per_token"),
                        (["explore", "pareto", str(out), "--objectives", "throughput_per_gpu,ttft_s", "--where",
                          "nonsense ==="], "give one SQL condition")):
        r = cli(*args)
        assert r.returncode == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_pareto_where_restricts_to_matching_rows(results, cli):
    out, _ = results
    r = runner.invoke(app, ["explore", "pareto", str(out), "--objectives", "throughput_per_gpu,tokens_per_s_per_user",
                            "--where", "input_len = 4096 AND model = 'qwen3-30b-a3b'", "--json"])
    assert r.exit_code == 0, r.output
    front = json.loads(r.stdout)["front"]
    assert front and all(p["input_len"] == 4096 and p["model"] == "qwen3-30b-a3b" for p in front)
    # one condition: an OR stays inside it, and a trailing SQL comment ends with it
    r = runner.invoke(app, ["explore", "pareto", str(out), "--objectives", "throughput_per_gpu,tokens_per_s_per_user",
                            "--where", "input_len = 4096 OR input_len = 4096 -- long prompts", "--json"])
    assert r.exit_code == 0, r.output
    assert all(p["input_len"] == 4096 for p in json.loads(r.stdout)["front"])
    bad = cli("explore", "pareto", str(out), "--objectives", "throughput_per_gpu,ttft_s", "--where", "nope > 1")
    assert bad.returncode == 2 and "--where" in bad.stderr
