"""Wall time of `coscale report` on the shipped default scenario (goal: under 60 s on 2 CPU cores; the page
under 10 MB), split into building the numbers and rendering the page, in a fresh process so imports
count too. Last line: one JSON object."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default=None, help="scenario TOML (default: the shipped one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.html"
        cmd = [sys.executable, "-m", "coscale", "report", "--out", str(out)]
        if args.scenario:
            cmd += ["--scenario", args.scenario]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=os.environ.copy())
        wall = time.perf_counter() - start
        size = out.stat().st_size

    from coscale.report.html.build import build_report
    from coscale.report.html.page import render_page
    from coscale.report.html.scenario import load_scenario

    t0 = time.perf_counter()
    data = build_report(load_scenario(args.scenario))
    t1 = time.perf_counter()
    render_page(data)
    t2 = time.perf_counter()
    print(f"coscale report: {wall:.1f} s end to end (build {t1 - t0:.1f} s, render {t2 - t1:.1f} s in-process), "
          f"{size / 1e6:.1f} MB, {os.cpu_count()} CPUs")
    print(json.dumps({"benchmark": "report_speed", "wall_s": round(wall, 2), "build_s": round(t1 - t0, 2),
                      "render_s": round(t2 - t1, 2), "html_bytes": size, "cpus": os.cpu_count(),
                      "goal_wall_s": 60, "goal_html_bytes": 10_000_000,
                      "ok": wall < 60 and size < 10_000_000}))


if __name__ == "__main__":
    main()
