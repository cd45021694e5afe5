"""Run `coscale` in-process as the shell would: (exit code, stdout, stderr)."""

from __future__ import annotations

import sys

import pytest

from coscale.cli.app import main


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["coscale", *args])
    with pytest.raises(SystemExit) as e:
        main()
    out = capsys.readouterr()
    return int(e.value.code or 0), out.out, out.err
