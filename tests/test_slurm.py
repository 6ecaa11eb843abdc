"""The workflow on a real one-node SLURM cluster (profiles/slurm, .ci/slurm_cluster.py).

The session fixture `slurm_cluster` starts munged, mariadb, slurmdbd, slurmctld and slurmd from
Debian's packages (installing them if missing) and stops them at the end. `run_snakemake` runs
Snakemake with the slurm executor under a hard timeout and returns a SlurmRun: the completed
process and the sacct rows of the jobs it submitted (`start_snakemake` starts a run and returns a
handle whose wait() gives the same, so that runs can overlap). Tests of cluster behaviour
(retries, time limits, resumption) build on them. The node has 2 fake GPUs and two partitions,
`main` (default) and `gpu`. A job past its time limit ends in state TIMEOUT about 60-70 s after
it started with runtime 1 (minutes, the smallest limit) and is then retried with attempt 2.

Needs root (skipped otherwise) and snakemake-executor-plugin-slurm (`pip install -e ".[slurm]"`).
"""
from __future__ import annotations

import copy
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import pytest
import torch
import yaml

from conftest import entry, ROOT

CLUSTER_SCRIPT = ROOT / ".ci/slurm_cluster.py"
PROFILE = ROOT / "profiles/slurm"
TEST_PROFILE = ROOT / "tests/slurm_profile"
SLURM_CONFIG = ROOT / "tests/slurm_config.yaml"
FAILING_SNAKEFILE = ROOT / "tests/slurm_fail/Snakefile"
WORKFLOW_FILES = ["Snakefile", "config.yaml", "workflow", "envs", "configs"]
SACCT_FIELDS = ["JobIDRaw", "JobName", "State", "ExitCode", "Timelimit", "Partition", "Account", "ReqTRES",
                "AllocTRES", "Comment"]
# Settings of profiles/slurm that do not fit the 2-CPU test node: merged into a copy of the profile.
# The test node offers 4 CPUs on this 2-core machine: the tiny jobs mostly wait (Snakemake starts
# twice per job, then the script), so 4 side by side finish sooner than 2.
NODE_CPUS = "4"
NODE_OVERRIDES = {"set-threads": {"sensitivity": 1}, "group-components": {"measure": 3, "data": 2}}
# The profile takes account and partitions from the environment (see profiles/slurm/config.yaml).
TEST_ENV = {"SNAKEMAKE_SLURM_ACCOUNT": "root", "SNAKEMAKE_SLURM_PARTITION": "main",
            "SNAKEMAKE_SLURM_GPU_PARTITION": "gpu"}


class SlurmRun(NamedTuple):
    proc: subprocess.CompletedProcess  # stdout and stderr together in proc.stdout
    sacct: list[dict]  # one row per sbatch job of this run (sacct -X), keys SACCT_FIELDS
    run_id: str  # the plugin's run UUID, which is every job's SLURM job name

    @property
    def output(self) -> str:
        return self.proc.stdout

    def jobs_of(self, name: str) -> list[dict]:
        """sacct rows of the jobs of a rule, of rules `<name>_...` (train_<experiment>) or of a group
        (the plugin's job comment is rule_<rule>_wildcards_<...> or rule_<group>_<rules>)."""
        return [r for r in self.sacct if r["Comment"] == f"rule_{name}" or r["Comment"].startswith(f"rule_{name}_")]


def _cluster(command: str, timeout: float, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CLUSTER_SCRIPT), command], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def _plugin_installed() -> bool:
    import importlib.util
    return importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running one-node SLURM cluster for the session; stopped at the end if this fixture started it."""
    if os.geteuid() != 0:
        pytest.skip("starting a SLURM cluster needs root (.ci/slurm_cluster.py)")
    if not _plugin_installed():
        pytest.fail('snakemake-executor-plugin-slurm is missing: pip install -e ".[slurm]"')
    if shutil.which("sbatch") is None or shutil.which("slurmctld") is None:
        try:
            res = _cluster("install", timeout=900)
        except subprocess.TimeoutExpired:
            pytest.skip("installing the SLURM packages (apt-get) timed out")
        if res.returncode != 0:
            pytest.skip(f"the SLURM packages cannot be installed here: {(res.stdout + res.stderr)[-1500:]}")
    was_up = _cluster("status", timeout=60).returncode == 0
    res = _cluster("start", timeout=300, env={"SLURM_CI_CPUS": NODE_CPUS})
    if res.returncode != 0:
        _cluster("stop", timeout=120)
        pytest.fail(f"could not start the SLURM cluster:\n{res.stdout}{res.stderr}")
    yield res.stdout
    if not was_up:
        res = _cluster("stop", timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr


def _deep_merge(base: dict, overrides: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def sacct_rows(run_id: str) -> list[dict]:
    since = (dt.datetime.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    res = subprocess.run(["sacct", "-X", "-P", "-n", "--starttime", since, "--name", run_id,
                          "--format", ",".join(SACCT_FIELDS)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return [dict(zip(SACCT_FIELDS, line.split("|", len(SACCT_FIELDS) - 1))) for line in res.stdout.splitlines()
            if line.strip()]


def copy_workflow(workdir: Path, config: Path | None) -> Path:
    """The workflow's files in workdir, with `config` as its config.yaml; returns the Snakefile.

    A copy, because `--replace-workflow-config` is not passed on to cluster jobs (Snakemake 9.27):
    with `--configfile`, every job would merge the test config into the repository's config.yaml.
    """
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, workdir / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            shutil.copy2(src, workdir / name)
    if config is not None:
        shutil.copy2(config, workdir / "config.yaml")
    return workdir / "Snakefile"


class Started:
    """A Snakemake run in progress; wait() gives its SlurmRun."""

    def __init__(self, cmd: list[str], env: dict, out_path: Path, timeout: float):
        self.cmd, self.out_path, self.timeout = cmd, out_path, timeout
        self.deadline = time.monotonic() + timeout
        with open(out_path, "w") as out:  # a file, not a pipe: a full pipe would stall Snakemake
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         text=True, start_new_session=True, env=env)

    def kill(self) -> str:
        """Snakemake ignores SIGTERM while cluster jobs run: kill its process group, then its jobs."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        out = self.out_path.read_text(errors="replace")
        if m := re.search(r"SLURM run ID: (\S+)", out):
            subprocess.run(["scancel", "--name", m[1]], capture_output=True, timeout=30)
        return out

    def wait(self) -> SlurmRun:
        if getattr(self, "result", None) is not None:
            return self.result
        try:
            self.proc.wait(timeout=max(self.deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            out = self.kill()
            pytest.fail(f"snakemake did not finish within {self.timeout} s:\n{out[-4000:]}")
        out = self.out_path.read_text(errors="replace")
        m = re.search(r"SLURM run ID: (\S+)", out)
        assert m, f"no SLURM run ID in snakemake's output:\n{out[-4000:]}"
        self.result = SlurmRun(subprocess.CompletedProcess(self.cmd, self.proc.returncode, out, ""), sacct_rows(m[1]),
                               m[1])
        return self.result


@pytest.fixture(scope="session")
def start_snakemake(slurm_cluster, tmp_path_factory):
    """start_snakemake(workdir, config=None, extra_args=(), timeout=300, *, snakefile=None,
    profile_overrides=None, env=None) -> Started; `.wait()` returns the SlurmRun.

    Starts `snakemake --workflow-profile profiles/slurm --profile tests/slurm_profile` in workdir,
    on a copy of the workflow whose config.yaml is `config` (the repository's when None); with
    `snakefile`, runs that Snakefile instead (config, if given, then goes to --configfile).
    profile_overrides: deep-merged into a temporary copy of profiles/slurm, e.g.
    {"set-resources": {"train": {"runtime": 1}}}; prefer it to extra_args for keys that the profile
    sets, because a command-line option replaces the profile's whole entry (all of set-resources).
    wait() kills the run (and cancels its SLURM jobs) `timeout` seconds after the start: the test fails.
    """
    scratch = tmp_path_factory.mktemp("snakemake_runs")
    started = []

    def start(workdir, config=None, extra_args=(), timeout=300, *, snakefile=None, profile_overrides=None,
              env=None) -> Started:
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
        profile = _deep_merge(profile, _deep_merge(NODE_OVERRIDES, profile_overrides or {}))
        pdir = scratch / f"run{len(started)}"
        pdir.mkdir()
        (pdir / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
        cmd = [sys.executable, "-m", "snakemake", "--directory", str(workdir), "--workflow-profile", str(pdir),
               "--profile", str(TEST_PROFILE)]
        if snakefile is None:
            cmd += ["-s", str(copy_workflow(workdir, config))]
        else:
            cmd += ["-s", str(snakefile)] + (["--configfile", str(config)] if config is not None else [])
        cmd += [str(a) for a in extra_args]
        run = Started(cmd, {**os.environ, **TEST_ENV, **(env or {})}, pdir / "snakemake.out", timeout)
        started.append(run)
        return run

    yield start
    for run in started:  # a test that failed before wait() leaves no run behind
        if run.proc.poll() is None:
            run.kill()


@pytest.fixture(scope="session")
def run_snakemake(start_snakemake):
    """run_snakemake(workdir, config=None, extra_args=(), timeout=300, **kw) -> SlurmRun: start and wait
    (see start_snakemake)."""
    def run(workdir, config=None, extra_args=(), timeout=300, **kw) -> SlurmRun:
        return start_snakemake(workdir, config, extra_args, timeout, **kw).wait()

    return run


# ---------------------------------------------------------------------------------------------
# tests


def _rules(configfile: Path) -> set[str]:
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--configfile",
                          str(configfile), "--replace-workflow-config", "--list-rules", "--workflow-profile", "none"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    # one line per rule, "name" or "name (docstring"; wrapped docstrings continue indented
    return {m[1] for line in res.stdout.splitlines() if (m := re.match(r"(\w+)(?: \(|$)", line))}


def test_profile_matches_the_workflow():
    """Every training rule asks SLURM for a GPU; grouped and local rules exist; cluster.smk is included."""
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    assert profile["executor"] == "slurm" and profile["retries"] >= 1
    rules = _rules(ROOT / "config.yaml") | _rules(ROOT / "configs/paper.yaml")
    training = {r for r in rules if r.startswith("train") or r.endswith("_train")}
    assert training, rules
    for rule in training:
        res = profile["set-resources"].get(rule)
        assert res and res["gpu"] >= 1 and "attempt" in str(res["runtime"]), f"{rule} needs a GPU in profiles/slurm"
    assert set(profile["groups"]) <= rules, set(profile["groups"]) - rules
    assert set(profile["set-resources"]) <= rules, set(profile["set-resources"]) - rules  # no stale rule names
    cluster_smk = (ROOT / "workflow/rules/cluster.smk").read_text()
    # one line or, as snakefmt writes it, one rule per indented line
    blocks = re.findall(r"^localrules:((?:[ \t]*\w+,?[ \t]*\n?|\n[ \t]+\w+,?)+)", cluster_smk, re.M)
    local = {r.strip() for b in blocks for r in b.replace("\n", ",").split(",") if r.strip()}
    assert {"all", "scorecard", "fig7"} <= local, local
    assert local <= rules, local - rules
    assert not local & set(profile["groups"]), "a grouped rule cannot be local"
    assert 'include: "workflow/rules/cluster.smk"' in (ROOT / "Snakefile").read_text()


@pytest.fixture(scope="module")
def slurm_runs(start_snakemake, tmp_path_factory):
    """The tiny workflow and the failing workflow, started side by side (both fit on the node)."""
    tiny, failing = tmp_path_factory.mktemp("tiny"), tmp_path_factory.mktemp("failing")
    # the test node has 2 x 10 GB, not 3 x 8 GB: keep the profile's runtime, scale its memory down
    return {"failing": (failing, start_snakemake(failing, snakefile=FAILING_SNAKEFILE, timeout=300, profile_overrides={
                "set-resources": {"train": {"mem_mb": "attempt * 1000"}}})),
            "tiny": (tiny, start_snakemake(tiny, SLURM_CONFIG, timeout=420))}


@pytest.mark.slurm
def test_workflow_runs_through_sbatch(slurm_runs):
    tmp_path, started = slurm_runs["tiny"]
    run = started.wait()
    assert run.proc.returncode == 0, run.output[-5000:]
    assert (tmp_path / "results/tables/scorecard.csv").stat().st_size > 0
    assert (tmp_path / "results/figures/fig7.png").stat().st_size > 1000
    assert re.search(r"submitted with SLURM jobid \d+", run.output)
    assert run.sacct and all(r["State"] == "COMPLETED" for r in run.sacct), run.sacct

    train = run.jobs_of("train")  # train or train_<experiment>
    assert len(train) == 2, run.sacct  # one sbatch job per net
    for row in train:  # a GPU was asked for and granted, in the GPU partition
        assert "gres/gpu=1" in row["ReqTRES"] and "gres/gpu=1" in row["AllocTRES"], row
        assert row["Partition"] == "gpu" and row["Account"] == "root" and row["Timelimit"] == "04:00:00", row
    # the 6 light measurement jobs (2 per training block, here of one net, and 1 theory curve per
    # experiment) went in groups of 3,
    # each an sbatch job that asks for 1 CPU (its jobs run one after the other) and the summed runtime
    measure = run.jobs_of("measure")
    assert len(measure) == 2, run.sacct
    for row in measure:
        assert "cpu=1," in row["AllocTRES"] and row["Timelimit"] == "00:45:00" and row["Partition"] == "main", row
    assert len(run.jobs_of("sensitivity")) == 2
    assert len(run.jobs_of("data")) == 1 and len(run.jobs_of("diffusion")) == 1
    # figures, tables and the scorecard ran locally, not through sbatch
    assert not any(r["Comment"].startswith(("rule_fig", "rule_scorecard", "rule_fits_table")) for r in run.sacct)
    logs = list((tmp_path / ".snakemake/slurm_logs").rglob("*.log"))
    assert {p.stem for p in logs} >= {r["JobIDRaw"] for r in run.sacct}


@pytest.mark.slurm
def test_failing_job_is_retried_with_more_time_and_reported(slurm_runs):
    tmp_path, started = slurm_runs["failing"]
    run = started.wait()
    assert run.proc.returncode != 0
    attempts = sorted(run.jobs_of("train"), key=lambda r: int(r["JobIDRaw"]))
    # profiles/slurm: retries 2, runtime "attempt * 240" minutes, one GPU
    assert [r["Timelimit"] for r in attempts] == ["04:00:00", "08:00:00", "12:00:00"], run.sacct
    assert [re.search(r"mem=(\w+)", r["ReqTRES"])[1] for r in attempts] == ["1000M", "2000M", "3000M"], attempts
    assert all(r["State"] == "FAILED" and r["ExitCode"] == "1:0" for r in attempts), attempts
    assert all("gres/gpu=1" in r["AllocTRES"] and r["Partition"] == "gpu" for r in attempts), attempts
    for r in attempts:
        assert f"SLURM-job '{r['JobIDRaw']}' failed" in run.output
    assert "Error in rule train" in run.output
    assert (tmp_path / "ok.txt").exists() and not (tmp_path / "trained.txt").exists()  # keep-going
    assert [r["State"] for r in run.jobs_of("ok")] == ["COMPLETED"]


# A training job that outlives its SLURM time limit. Attempt 1 gets 1 minute (the smallest limit)
# and is killed (SIGTERM, then SIGKILL after slurm.conf's KillWait); attempt 2 gets 10. Training
# needs about 2.5 minutes of one core here, so attempt 1 times out on machines up to about 2.5x
# faster than ours, and attempt 2 finishes on machines several times slower.
TIMEOUT_TRAIN = {"lr": 0.01, "weight_decay": 0.1, "batch_size": 8, "stop": "decay_times", "stop_value": 1000,
                 "max_steps": 100000, "log_every_epochs": 50}


@pytest.mark.slurm
def test_job_killed_at_its_time_limit_is_resubmitted_and_resumes(start_snakemake, tmp_path):
    config = yaml.safe_load(SLURM_CONFIG.read_text())
    exp = entry(config["experiments"], "task1_relu")
    exp["seeds"] = [0, 1]
    exp["net"] = {"depth": 12, "width": 32, "filter_size": 3, "stride": 1}
    exp["train"] = TIMEOUT_TRAIN
    config["resume"] = {"enabled": True, "dir": "results/.resume", "interval_s": 10}
    cfg, ref_cfg = tmp_path / "config.yaml", tmp_path / "reference.yaml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    ref_cfg.write_text(yaml.safe_dump({**config, "resume": {"enabled": False}}, sort_keys=False))
    target = "results/scale_detection/train/task1_relu/block0-1.pt"

    # the same training uninterrupted, locally, side by side with the SLURM run
    ref_dir = tmp_path / "reference"
    ref_dir.mkdir()
    reference = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "-s", str(copy_workflow(ref_dir, ref_cfg)), "--directory", str(ref_dir),
         "--cores", "1", "--workflow-profile", "none", target],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = start_snakemake(tmp_path / "slurm", cfg, [target], timeout=900,
                              profile_overrides={"set-resources": {"train": {"runtime": "1 if attempt == 1 else 10"}}})
    run = started.wait()
    ref_out, _ = reference.communicate(timeout=900)
    assert reference.returncode == 0, ref_out[-4000:]
    assert run.proc.returncode == 0, run.output[-5000:]

    attempts = sorted(run.jobs_of("train"), key=lambda r: int(r["JobIDRaw"]))
    assert attempts[0]["State"] == "TIMEOUT" and attempts[0]["Timelimit"] == "00:01:00", attempts
    assert [(r["State"], r["Timelimit"]) for r in attempts[1:]] == [("COMPLETED", "00:10:00")], attempts
    log = (tmp_path / "slurm/logs/train/task1_relu/block0-1.log").read_text()
    resumed = [int(s) for s in re.findall(r"resuming from \S+ at step (\d+)", log)]
    assert len(resumed) == 1 and 0 < resumed[0] < TIMEOUT_TRAIN["max_steps"], log[-3000:]

    ours = torch.load(tmp_path / "slurm" / target, weights_only=False)
    theirs = torch.load(ref_dir / target, weights_only=False)
    for seed in (0, 1):
        for state in ("init", "t_star", "final"):
            a, b = ours["seeds"][seed]["states"][state], theirs["seeds"][seed]["states"][state]
            assert a is not None and a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), (seed, state)
