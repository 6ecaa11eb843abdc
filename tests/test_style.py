"""The Snakemake files pass `snakemake --lint` and are formatted with snakefmt (pyproject.toml sets its line length)."""
import subprocess
import sys

from conftest import ROOT

SNAKEFILES = [str(ROOT / "Snakefile"), str(ROOT / "workflow/rules")]


def test_snakefmt_leaves_the_snakemake_files_unchanged():
    run = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "--diff", *SNAKEFILES], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]


def test_snakemake_lint_is_clean(tmp_path):
    run = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory",
                          str(tmp_path), "--lint"], capture_output=True, text=True, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode == 0 and "Congratulations" in out, out[-3000:]
