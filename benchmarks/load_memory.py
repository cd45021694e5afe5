"""Memory under load: a million-request trace, a 10^7-point explore space, and the Pareto front of a
10^7-row results file, each measured in a fresh process (peak RSS over the RSS after imports).

- trace: `read_trace` on a plain CSV of `--requests` requests (default 10^6): the file is read line by
  line, so the peak is the requests themselves; reported as bytes per request.
- explore: the sweep of a 10,080,000-point space (the shipped llama70b-qwen30b space with 40 HBM
  bandwidth scales) stopped after `--chunks` chunks, against a 67,200-point space swept whole: the
  sweep holds one chunk at a time, so both peaks are about the same.
- front: `front_of_file` (what `coscale explore` and `explore pareto` call) on a synthetic results file
  of `--rows` rows (default 10^7) in 1M-row batches: one batch and the candidates in memory.

    python benchmarks/load_memory.py [--requests 1000000] [--rows 10000000] [--chunks 2]

The last line is one JSON object with every peak (MiB) and the stated bounds it was checked against.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

# the bounds the numbers are checked against (stated in the README's "Limits" paragraph)
TRACE_BYTES_PER_REQUEST = 1024  # read_trace: at most 1 KiB of peak memory per request
SWEEP_PEAK_MIB = 1536  # a sweep: at most 1.5 GiB over the imports, whatever the space size
FRONT_PEAK_MIB = 512  # front_of_file: at most 0.5 GiB over the imports, whatever the file size

PRELUDE = textwrap.dedent("""
    import json, resource, sys, time
    def rss_mib():
        return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
    def peak_mib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
""")


def child(code: str, *args: str) -> dict:
    r = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code), *args], capture_output=True,
                       text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"child failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def write_trace(path: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.exponential(0.01, n))
    isl = rng.integers(16, 4096, n)
    osl = rng.integers(1, 1024, n)
    with path.open("w") as fh:
        fh.write("arrival_s,input_tokens,output_tokens\n")
        for a, i, o in zip(t, isl, osl, strict=True):
            fh.write(f"{a:.6f},{i},{o}\n")


TRACE = """
    from coscale.serve.traces import read_trace
    base = rss_mib(); t0 = time.perf_counter()
    reqs = read_trace(sys.argv[1])
    print(json.dumps({"requests": len(reqs), "seconds": time.perf_counter() - t0, "base_mib": base,
                      "peak_over_base_mib": peak_mib() - base}))
"""

SWEEP = """
    from coscale.explore.space import load_space
    from coscale.explore.sweep import run_sweep
    space = load_space(sys.argv[1])
    base = rss_mib(); t0 = time.perf_counter()
    stop = int(sys.argv[3])
    run_sweep(space, sys.argv[2], stop_after=stop if stop > 0 else None)
    print(json.dumps({"points": space.size, "chunks": space.num_chunks, "seconds": time.perf_counter() - t0,
                      "base_mib": base, "peak_over_base_mib": peak_mib() - base}))
"""

FRONT = """
    from coscale.explore.query import front_of_file
    base = rss_mib(); t0 = time.perf_counter()
    front = front_of_file(sys.argv[1], ("throughput_per_gpu", "tokens_per_s_per_user"))
    print(json.dumps({"front_rows": front.num_rows, "seconds": time.perf_counter() - t0, "base_mib": base,
                      "peak_over_base_mib": peak_mib() - base}))
"""


def space_file(path: Path, scales: int) -> None:
    import coscale.explore

    text = (Path(coscale.explore.__file__).parent / "spaces" / "llama70b-qwen30b.toml").read_text()
    values = ", ".join(f"{0.5 + 1.5 * i / max(scales - 1, 1):.4f}" for i in range(scales))
    text = text.replace('{scale = [0.5, 1.0, 1.5, 2.0]}', "{scale = [" + values + "]}")
    path.write_text(text)


def results_file(path: Path, rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    with pq.ParquetWriter(path, pa.schema([("design", pa.int64()), ("feasible", pa.bool_()),
                                           ("throughput_per_gpu", pa.float64()),
                                           ("tokens_per_s_per_user", pa.float64())])) as w:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            tps = rng.lognormal(7, 1, n)
            user = 1e6 / tps * rng.lognormal(0, 0.3, n)
            ok = rng.random(n) > 0.3
            w.write_table(pa.table({"design": np.arange(start, start + n), "feasible": ok,
                                    "throughput_per_gpu": np.where(ok, tps, np.nan),
                                    "tokens_per_s_per_user": np.where(ok, user, np.nan)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--chunks", type=int, default=2, help="chunks of the 10^7-point space to sweep")
    args = ap.parse_args()
    out: dict[str, object] = {"benchmark": "load_memory"}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        trace = d / "trace.csv"
        write_trace(trace, args.requests)
        t = child(TRACE, str(trace))
        t["file_mib"] = trace.stat().st_size / 2**20
        t["bytes_per_request"] = t["peak_over_base_mib"] * 2**20 / t["requests"]
        out["trace"] = t
        print(f"trace: {t['requests']:,} requests ({t['file_mib']:.0f} MiB CSV) read in {t['seconds']:.1f} s, "
              f"peak +{t['peak_over_base_mib']:.0f} MiB = {t['bytes_per_request']:.0f} B/request")
        for label, scales, stop in (("sweep_small", 0, 0), ("sweep_10M", 40, args.chunks)):
            sf = d / f"{label}.toml"
            if scales:
                space_file(sf, scales)
            else:  # 67,200 points: 2 x 1 x 4 x 3 x 4 designs x 2 x 10 x 35 workloads, swept whole
                space_file(sf, 4)
                sf.write_text(sf.read_text().replace('hardware = ["h100-sxm", "h200-sxm", "b200"]',
                                                     'hardware = ["h100-sxm"]')
                              .replace('"workload.input_len" = {geom = [128, 32768, 10]}',
                                       '"workload.input_len" = {geom = [128, 32768, 2]}'))
            s = child(SWEEP, str(sf), str(d / f"{label}.parquet"), str(stop))
            out[label] = s
            swept = "all" if not stop else stop
            print(f"{label}: {s['points']:,} points in {s['chunks']} chunks, {swept} swept in {s['seconds']:.1f} s, "
                  f"peak +{s['peak_over_base_mib']:.0f} MiB")
        rf = d / "results.parquet"
        results_file(rf, args.rows)
        f = child(FRONT, str(rf))
        f["rows"] = args.rows
        out["front"] = f
        print(f"front: {args.rows:,} rows -> {f['front_rows']} on the front in {f['seconds']:.1f} s, "
              f"peak +{f['peak_over_base_mib']:.0f} MiB")
    out["bounds"] = {"trace_bytes_per_request": TRACE_BYTES_PER_REQUEST, "sweep_peak_mib": SWEEP_PEAK_MIB,
                     "front_peak_mib": FRONT_PEAK_MIB}
    sweep_peak = max(out["sweep_small"]["peak_over_base_mib"], out["sweep_10M"]["peak_over_base_mib"])  # type: ignore[index]
    out["within_bounds"] = bool(t["bytes_per_request"] <= TRACE_BYTES_PER_REQUEST and sweep_peak <= SWEEP_PEAK_MIB
                                and f["peak_over_base_mib"] <= FRONT_PEAK_MIB)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
