"""What each job of the default run pays before it computes anything: the imports of its rule script.

    python benchmarks/job_imports.py [--repeats 3]

Every `script:` job of Snakemake is a fresh Python process that imports its script's modules
(torch, pandas, matplotlib, the package) before doing any work. For every rule of the default
run this times, in fresh processes, the script's own import lines (median of --repeats), counts
the rule's jobs in the default run's DAG (`snakemake -n`), and prints the import CPU-seconds
per job and per run, each as a ratio to `import torch` alone, measured in the same run (the
machines are noisy: compare ratios, not seconds). Imports made later, inside functions (a
checkpoint reader importing torch, for example), are not counted: the totals are a lower bound.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# this checkout's package, installed or not
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}


def rule_scripts() -> dict[str, str]:
    """Rule name -> its script's stem, read from the rule files (tests/test_docs.py uses it too)."""
    out = {}
    for smk in sorted((ROOT / "workflow/rules").glob("*.smk")):
        for name, body in re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", smk.read_text(), re.M):
            m = re.search(r'script:\s*\n\s*"\.\./scripts/(\w+)\.py"', body)
            if m:
                out[name] = m[1]
    return out


def job_counts() -> dict[str, int]:
    """Jobs per rule in the default run's DAG, from a dry run in an empty directory."""
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", d,
                              "-n", "--cores", "2"], capture_output=True, text=True, check=True, env=ENV).stdout
    stats = out.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)}


def cpu_seconds(code: str, repeats: int) -> float:
    """Median CPU time (user + system) of a fresh interpreter running `code`."""
    times = []
    for _ in range(repeats):
        before = os.times()
        subprocess.run([sys.executable, "-c", code], check=True, env=ENV, cwd=ROOT)
        after = os.times()
        times.append((after.children_user - before.children_user) + (after.children_system - before.children_system))
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    start = time.perf_counter()
    floor = cpu_seconds("import torch", args.repeats)
    counts, scripts = job_counts(), rule_scripts()
    rows, total = [], 0.0
    for rule, script in sorted(scripts.items()):
        if counts.get(rule, 0) == 0:
            continue
        lines = [ln for ln in (ROOT / f"workflow/scripts/{script}.py").read_text().splitlines()
                 if ln.startswith(("import ", "from ")) and not ln.startswith("from __future__")]
        per_job = cpu_seconds("\n".join(lines), args.repeats)
        rows.append((rule, counts[rule], per_job))
        total += counts[rule] * per_job
    print(f"{'rule':<22}{'jobs':>6}{'import CPU s/job':>18}{'x torch':>9}{'s per run':>11}")
    for rule, n, s in sorted(rows, key=lambda r: -r[1] * r[2]):
        print(f"{rule:<22}{n:>6}{s:>18.2f}{s / floor:>9.1f}{n * s:>11.1f}")
    jobs = sum(n for _, n, _ in rows)
    print(f"{jobs} script jobs: {total:.0f} CPU-s of imports per default run = {total / jobs:.2f} s per job "
          f"= {total / jobs / floor:.2f} x `import torch` alone ({floor:.2f} s); "
          f"on 2 cores at least {total / 2:.0f} s of wall time ({time.perf_counter() - start:.0f} s to measure)")


if __name__ == "__main__":
    main()
