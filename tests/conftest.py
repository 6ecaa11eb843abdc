import copy
import sys
from pathlib import Path

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
# Test oracles live beside the benchmark baselines they also are (benchmarks/baselines.py).
sys.path.insert(0, str(ROOT / "benchmarks"))
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


@pytest.fixture
def default_config():
    return copy.deepcopy(yaml.safe_load((ROOT / "config.yaml").read_text()))


@pytest.fixture
def paper_config():
    return copy.deepcopy(yaml.safe_load((ROOT / "configs/paper.yaml").read_text()))


TINY = ROOT / "tests/tiny_config.yaml"


def run_snakemake(workdir, *args, configfile=TINY, timeout=900, check=True) -> str:
    """snakemake on the repository's Snakefile in workdir; fails the test with the output tail
    (unless check is False). configfile: a path, or a list of paths merged in order."""
    import subprocess
    import sys
    files = [str(f) for f in (configfile if isinstance(configfile, list) else [configfile])]
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", *files, "--cores", "2", *args]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check:
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout + run.stderr


def planned_jobs(workdir, configfile=TINY) -> dict[str, int]:
    """Rule -> job count of a dry run, read from Snakemake's job-stats table."""
    out = run_snakemake(workdir, "-n", configfile=configfile)
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:")[1].split("total")[0]
    import re
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def planned_after_edit(workdir, tmp_path, edit) -> dict[str, int]:
    """planned_jobs of workdir after edit(config) on a copy of the tiny config."""
    cfg = yaml.safe_load(TINY.read_text())
    edit(cfg)
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return planned_jobs(workdir, configfile=path)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The whole workflow on tests/tiny_config.yaml, run once per session and shared by
    tests/test_workflow.py and tests/test_image_workflow.py (they only read it or dry-run)."""
    workdir = tmp_path_factory.mktemp("tiny")
    run_snakemake(workdir)
    return workdir


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one thread avoids oversubscription on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def entry(grid: list[dict], name: str) -> dict:
    """The entry of a config grid (a list of named entries: tasks, experiments, ...) called name."""
    found = [e for e in grid if e["name"] == name]
    assert len(found) == 1, f"{name!r} in {[e['name'] for e in grid]}"
    return found[0]
