"""The whole default reproduction from scratch, timed: every rule, every figure, the report.

    python benchmarks/default_run.py [--cores 2] [--keep DIR]

Runs Snakemake on the default config in an empty directory and prints the wall time per rule
family (from Snakemake's benchmark files) and in total. The last line compares the total with the
10-minute budget of a 2-core machine (README, "Performance").
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 600.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--keep", help="run in this directory and keep it (default: a temporary one)")
    args = ap.parse_args()
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="default-run-"))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--cores", str(args.cores)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(cmd + ["--report", "results/report.html"], check=True, stdout=subprocess.DEVNULL)
    total = time.perf_counter() - start

    rows = [pd.read_csv(f, sep="\t").assign(rule=f.relative_to(workdir / "results/benchmarks").parts[0])
            for f in (workdir / "results/benchmarks").rglob("*.tsv")]
    if rows:
        per_rule = pd.concat(rows).groupby("rule").s.agg(["count", "sum", "max"])
        print("CPU-side seconds per benchmarked rule family (jobs run in parallel):")
        print(per_rule.round(1).to_string())
    print(f"workdir {workdir}, {args.cores} cores")
    print(f"default run: {total:.0f} s wall = {total / BUDGET_S:.2f} x the {BUDGET_S:.0f} s budget")


if __name__ == "__main__":
    main()
