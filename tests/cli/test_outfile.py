"""`--out` paths are checked before any work: a folder, a missing folder, an unwritable folder or the
wrong kind of file is one line (exit 2), and nothing is created or overwritten."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coscale.cli.app import app
from coscale.errors import CoscaleError
from coscale.outfile import check_out_file


def test_a_writable_file_passes_and_leaves_nothing_behind(tmp_path: Path) -> None:
    assert check_out_file(tmp_path / "r.parquet", suffix=".parquet") == tmp_path / "r.parquet"
    assert list(tmp_path.iterdir()) == []  # the write probe is gone


@pytest.mark.parametrize(("name", "match"), [("a.csv", "must name a .parquet file"), ("sub", "is a folder"),
                                             ("missing/r.parquet", "does not exist"),
                                             ("sub/x/r.parquet", "which is a file, not a folder")])
def test_bad_paths_are_one_line(tmp_path: Path, name: str, match: str) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x").write_text("")
    target = tmp_path / name
    if name == "sub":  # a folder named like the file
        target = tmp_path / "sub"
        with pytest.raises(CoscaleError, match=match) as e:
            check_out_file(target)
    else:
        with pytest.raises(CoscaleError, match=match) as e:
            check_out_file(target, suffix=".parquet")
    assert "\n" not in str(e.value)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc (no file can be created there)")
def test_an_unwritable_folder_is_named() -> None:
    with pytest.raises(CoscaleError, match="cannot write in folder '/proc'"):
        check_out_file("/proc/out.parquet", suffix=".parquet")


def test_explore_never_overwrites_another_kind_of_file(tmp_path: Path) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text("arrival_s,input_tokens,output_tokens\n0,10,5\n")
    r = CliRunner().invoke(app, ["explore", "--space", "codesign-task", "--out", str(trace)])
    assert isinstance(r.exception, CoscaleError) and "must name a .parquet file" in str(r.exception)
    assert trace.read_text().startswith("arrival_s")


def test_serve_refuses_a_folder_before_simulating(tmp_path: Path) -> None:
    (tmp_path / "x.parquet").mkdir()
    r = CliRunner().invoke(app, ["serve", "simulate", "--num-requests", "5", "--rate", "1",
                                 "--out", str(tmp_path / "x.parquet")])
    assert r.exit_code != 0
    assert isinstance(r.exception, CoscaleError) and "is a folder" in str(r.exception)


def test_a_written_file_gets_the_usual_mode_and_no_temp_file_remains(tmp_path: Path) -> None:
    """Output is written under a temporary name beside the target and renamed onto it: the result has a
    new file's mode under the umask (not a temp file's owner-only one) and nothing else is left."""
    from coscale.report.html.write import write_atomic

    target = tmp_path / "r.html"
    umask = os.umask(0o022)
    try:
        write_atomic(target, "<html></html>")
    finally:
        os.umask(umask)
    assert target.read_text() == "<html></html>" and target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
