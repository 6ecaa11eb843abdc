"""The whole default reproduction from scratch, timed: every rule, every figure, the report.

    python benchmarks/default_run.py [--cores 2] [--keep DIR] [--configfile FILE]

Runs Snakemake on the default config (with --configfile merged over it: to time a variant, e.g.
`swish: {trained: null}` for the run without the swish experiment's trained nets) in an empty
directory and prints the wall time per rule family (from Snakemake's benchmark files), the
job-seconds of every rule family (from the run's log: each job's start and finish, to the
second, start-up included), how busy the cores were (job-seconds / (cores x wall): near 1, only
less work shortens the run) and the total. The last
line compares the total with the 10-minute budget of a 2-core machine (README, "Performance"; docs/performance.md).
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 600.0


def jobs_from_log(text: str) -> pd.DataFrame:
    """One row per finished job of a Snakemake log: rule, start and end (datetime, 1 s resolution)."""
    rows, started, stamp, rule = [], {}, None, None
    for line in text.splitlines():
        if m := re.match(r"\[(\w{3} \w{3} +\d+ [\d:]{8} \d{4})\]", line):
            stamp = pd.to_datetime(m[1], format="%a %b %d %H:%M:%S %Y")
        elif m := re.match(r"(?:local)?rule (\w+):", line):
            rule = m[1]
        elif (m := re.match(r"\s+jobid: (\d+)", line)) and rule:
            started[m[1]], rule = (rule, stamp), None
        elif (m := re.match(r"Finished jobid: (\d+)", line)) and m[1] in started:
            name, start = started.pop(m[1])
            rows.append(dict(rule=name, start=start, end=stamp))
    return pd.DataFrame(rows, columns=["rule", "start", "end"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--keep", help="run in this directory and keep it (default: a temporary one)")
    ap.add_argument("--configfile", type=Path,
                    help="a config file merged over config.yaml, as snakemake's --configfile (to time a variant)")
    args = ap.parse_args()
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="default-run-"))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--cores", str(args.cores)]
    if args.configfile:
        cmd += ["--configfile", str(args.configfile.resolve())]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    ran = time.perf_counter() - start
    subprocess.run(cmd + ["--report", "results/report.html"], check=True, stdout=subprocess.DEVNULL)
    total = time.perf_counter() - start

    rows = [pd.read_csv(f, sep="\t").assign(rule=f.relative_to(workdir / "results/benchmarks").parts[0])
            for f in (workdir / "results/benchmarks").rglob("*.tsv")]
    if rows:
        per_rule = pd.concat(rows).groupby("rule").s.agg(["count", "sum", "max"])
        print("CPU-side seconds per benchmarked rule family (jobs run in parallel):")
        print(per_rule.round(1).to_string())
    logs = sorted((workdir / ".snakemake/log").glob("*.snakemake.log"))
    jobs = jobs_from_log(logs[0].read_text()) if logs else pd.DataFrame(columns=["rule", "start", "end"])
    if len(jobs):
        jobs["s"] = (jobs.end - jobs.start).dt.total_seconds()
        per_family = jobs.groupby("rule").s.agg(["count", "sum"]).sort_values("sum", ascending=False)
        busy = jobs.s.sum() / (args.cores * ran)
        print(f"job-seconds per rule family, from the run's log ({len(jobs)} jobs, {jobs.s.sum():.0f} job-s):")
        print(per_family.head(12).to_string())
        print(f"cores busy: {busy:.2f} of the {ran:.0f} s run (job-seconds / (cores x wall))")
    print(f"workdir {workdir}, {args.cores} cores")
    print(f"default run: {total:.0f} s wall = {total / BUDGET_S:.2f} x the {BUDGET_S:.0f} s budget")


if __name__ == "__main__":
    main()
