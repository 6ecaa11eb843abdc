"""Provenance: a result is rebuilt whenever anything it was computed from changes or goes missing,
and the order in which a config lists experiments and image groups changes no result.

Each test works on a copy of the shared tiny run (conftest.tiny_run), mtimes and Snakemake's
metadata included, so the copies start from a finished run.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter

import pandas as pd
import psutil
import pytest
import yaml

from conftest import entry, ROOT, TINY, run_snakemake

SD = "results/scale_detection"
TANH_WEIGHTS = f"{SD}/train/task1_tanh/block0-1.pt"
LENET_NET = "results/images/train/digits/lenet/noise0/seed0.pt"

# Everything computed from task1_tanh's weights. Its theory curves are not (they depend on its net
# and probe set only), nor is anything of the other experiments or of the real-image half.
TANH_DOWNSTREAM = {"train", "collect_training", "select_checkpoints", "sensitivity", "receptive_field", "filters",
                   "collect_experiment", "fit_exponents", "fits_table", "figB1", "figB2", "fig_training",
                   "fig_receptive_field", "scorecard"}
NOT_TANH_DOWNSTREAM = {"dataset", "probe_set", "theory_curves", "diffusion", "fig_appendix_A", "fig7",
                       "mean_filter_tables"}


# Rules whose params already hold everything upstream of them (their inputs are made by rules without
# inputs, from the very settings they carry), and targets.
NO_UPSTREAM = {"all", "swish", "model_measurements", "probe_set", "train", "image_probe", "image_train"}


def test_every_rule_computed_from_other_rules_carries_its_upstream():
    """The static half of the mechanism: a rule added without `upstream=` would accept stale inputs."""
    rules = {}
    for smk in [ROOT / "Snakefile", *sorted((ROOT / "workflow/rules").glob("*.smk"))]:
        for name, body in re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", smk.read_text(), re.M):
            rules[name] = body
    assert {"train", "sensitivity", "scorecard", "image_measure", "fig1"} <= set(rules)  # the parse worked
    missing = [name for name, body in rules.items()
               if re.search(r"^    input:", body, re.M) and name not in NO_UPSTREAM
               and not re.search(r"^        upstream=", body, re.M)]
    assert not missing, f"rules with inputs but no params: upstream=... (common.smk): {missing}"


@pytest.fixture
def workdir(tiny_run, tmp_path):
    """A copy of the finished tiny run; these tests change files and rerun."""
    work = tmp_path / "work"
    shutil.copytree(tiny_run, work, symlinks=True)  # copy2: mtimes kept, so the copy is up to date
    return work


def write_config(tmp_path, edit=lambda c: None):
    cfg = yaml.safe_load(TINY.read_text())
    edit(cfg)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))  # keep the edited order of keys
    return path


def planned(workdir, configfile=TINY, *args) -> list[tuple[str, dict]]:
    """(rule, wildcards) of every job of a dry run."""
    out = run_snakemake(workdir, "-n", *args, configfile=configfile)
    jobs = []
    for m in re.finditer(r"^(?:local)?rule (\w+):\n((?:[ \t]+\S.*\n?)*)", out, re.M):
        w = re.search(r"^\s+wildcards: (.*)$", m[2], re.M)
        jobs.append((m[1], dict(kv.split("=", 1) for kv in w[1].split(", ")) if w else {}))
    assert jobs or "Nothing to be done" in out, out[-3000:]
    return jobs


def rules_of(jobs) -> Counter:
    return Counter(rule for rule, _ in jobs)


def assert_tanh_weights_and_downstream_only(jobs):
    rules = rules_of(jobs)
    assert TANH_DOWNSTREAM <= set(rules), rules
    assert not NOT_TANH_DOWNSTREAM & set(rules), rules
    assert not {r for r in rules if r.startswith("image")}, rules
    # one stacked training job and one job per measurement for its block (both seeds); no job of
    # another experiment
    assert rules["train"] == 1 and rules["sensitivity"] == 1 and rules["filters"] == 1
    assert {w["experiment"] for _, w in jobs if "experiment" in w} == {"task1_tanh"}


@pytest.mark.workflow
def test_order_of_experiments_and_image_groups_changes_no_result(workdir, tmp_path):
    def reverse(c):
        c["experiments"] = c["experiments"][::-1]
        c["images"]["groups"] = c["images"]["groups"][::-1]
    reversed_config = write_config(tmp_path, reverse)
    assert yaml.safe_load(reversed_config.read_text())["experiments"][0]["name"] == "task2_relu"
    assert planned(workdir, reversed_config) == []  # the same configuration: nothing to do

    tables = workdir / "results/tables"
    before = {f: pd.read_csv(tables / f) for f in ("scorecard.csv", "scorecard_section2.csv",
                                                         "scorecard_section3.csv", "scorecard_section4.csv")}
    stamp = (tables / "scorecard.csv").stat().st_mtime_ns
    run_snakemake(workdir, "--forcerun", "scorecard", "scorecard_part", configfile=reversed_config)
    assert (tables / "scorecard.csv").stat().st_mtime_ns > stamp
    for f, table in before.items():
        pd.testing.assert_frame_equal(pd.read_csv(tables / f), table)  # row for row


def _train_process(snakemake, timeout=600):
    """The python process of Snakemake's (only) train job, once it has started."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert snakemake.poll() is None, "snakemake ended before the training job could be killed"
        for p in psutil.Process(snakemake.pid).children(recursive=True):
            try:
                if any(a.endswith(".train.py") for a in p.cmdline()):  # .snakemake/scripts/tmp*.train.py
                    return p
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.05)
    raise AssertionError("no training job started")


@pytest.mark.workflow
def test_training_killed_after_a_change_reruns_that_experiment_downstream(workdir, tmp_path):
    """A failed job leaves its output deleted and Snakemake's record of it holding the new params,
    so neither the job's own params nor any mtime asks for a rerun: only its consumers can."""
    changed = write_config(tmp_path, lambda c: entry(c["experiments"], "task1_tanh")["train"].update(lr=0.02))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(changed), "--cores", "2"]
    states = workdir / yaml.safe_load(changed.read_text())["resume"]["dir"] / "train/task1_tanh"
    with (tmp_path / "killed.log").open("w") as log:
        snakemake = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            train = _train_process(snakemake)
            deadline = time.time() + 600
            while not (states.exists() and any(states.glob("*.state"))):  # mid-training
                assert train.is_running() and time.time() < deadline, "training ended before it was killed"
                time.sleep(0.05)
            train.send_signal(signal.SIGKILL)  # the job dies (OOM killer, node failure); Snakemake lives on
            assert snakemake.wait(timeout=600) != 0
        finally:
            if snakemake.poll() is None:
                snakemake.kill()
    assert not (workdir / TANH_WEIGHTS).exists()  # Snakemake removed the failed job's output

    run_snakemake(workdir, "--unlock", configfile=changed)
    assert_tanh_weights_and_downstream_only(planned(workdir, changed))
    # not only through the default target, which asks for every intermediate: a figure computed from
    # the weights carries their settings, so asking for the figure alone retrains them too
    assert ("train", {"experiment": "task1_tanh", "block": "0-1"}) in planned(workdir, changed, "fig_training")

    relu_weights = (workdir / f"{SD}/train/task1_relu/block0-1.pt").stat().st_mtime_ns
    theory = (workdir / f"{SD}/theory/task1_tanh.csv").stat().st_mtime_ns
    run_snakemake(workdir, configfile=changed)
    weights = (workdir / TANH_WEIGHTS).stat().st_mtime_ns
    affected = [f"{SD}/selection/task1_tanh.csv", f"{SD}/collected/task1_tanh.csv", f"{SD}/fits/task1_tanh.csv",
                "results/tables/fits.csv", "results/tables/scorecard.csv"]
    affected += [str(p.relative_to(workdir)) for kind in ("sensitivity", "receptive_field", "filters")
                 for p in (workdir / SD / kind / "task1_tanh").glob("*.csv")]
    affected += [str(p.relative_to(workdir)) for fig in ("figB1", "figB2", "fig_training", "fig_receptive_field")
                 for p in (workdir / "results/figures").glob(f"{fig}.*")]
    assert len(affected) == 5 + 4 + 4 * 2  # per block: sensitivity, receptive field, 2 filter tables
    stale = [f for f in affected if (workdir / f).stat().st_mtime_ns < weights]
    assert not stale, f"older than the new weights: {stale}"
    assert (workdir / f"{SD}/train/task1_relu/block0-1.pt").stat().st_mtime_ns == relu_weights
    assert (workdir / f"{SD}/theory/task1_tanh.csv").stat().st_mtime_ns == theory
    assert planned(workdir, changed) == []


@pytest.mark.workflow
def test_weights_deleted_after_a_change_rerun_that_experiment_downstream(workdir, tmp_path):
    """The simulated crash. Not quite the state a failed job leaves: Snakemake's record of the
    deleted weights still holds the old params (see the test above for the real kill)."""
    changed = write_config(tmp_path, lambda c: entry(c["experiments"], "task1_tanh")["train"].update(lr=0.02))
    (workdir / TANH_WEIGHTS).unlink()
    assert_tanh_weights_and_downstream_only(planned(workdir, changed))
    assert ("train", {"experiment": "task1_tanh", "block": "0-1"}) in planned(workdir, changed, "fig_training")


@pytest.mark.workflow
def test_missing_weights_are_rebuilt_with_everything_downstream(workdir):
    (workdir / TANH_WEIGHTS).unlink()
    assert_tanh_weights_and_downstream_only(planned(workdir))


@pytest.mark.workflow
def test_output_deleted_by_a_failed_job_is_rebuilt_with_everything_downstream(workdir):
    """A corrupted intermediate (mtime unchanged) makes a forced downstream job fail; Snakemake
    deletes that job's old output, and the next run must not accept the state as up to date."""
    weights = workdir / TANH_WEIGHTS
    stat = weights.stat()
    weights.write_bytes(b"not a checkpoint")
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    table = f"{SD}/sensitivity/task1_tanh/block0-1.csv"
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(TINY), "--cores", "1", table, "--forcerun", table]
    assert subprocess.run(cmd, capture_output=True, timeout=600).returncode != 0
    assert not (workdir / table).exists()
    jobs = planned(workdir)
    assert ("sensitivity", {"experiment": "task1_tanh", "block": "0-1"}) in jobs
    rules = rules_of(jobs)
    assert rules["sensitivity"] == 1 and "train" not in rules
    assert {"collect_experiment", "fit_exponents", "fits_table", "fig_receptive_field", "figB2",
            "scorecard"} <= set(rules)


@pytest.mark.workflow
def test_missing_image_net_is_rebuilt_with_everything_downstream(workdir):
    (workdir / LENET_NET).unlink()
    jobs = planned(workdir)
    rules = rules_of(jobs)
    net = {"group": "digits", "arch": "lenet", "noise": "0", "seed": "0"}
    assert ("image_train", net) in jobs and ("image_measure", net) in jobs
    assert rules["image_train"] == 1 and rules["image_measure"] == 1
    assert {w["group"] for r, w in jobs if r in ("image_collect", "image_correlations")} == {"digits"}
    digits_figures = {"fig1", "fig3", "fig4", "figC3", "figC4", "figC5", "figC7", "fig_image_training"}
    assert digits_figures | {"scorecard_part", "scorecard"} <= set(rules)
    assert not {"figC1", "figC2", "image_dataset", "image_probe", "table_C1", "train", "sensitivity",
                "fit_exponents", "fig7"} & set(rules), rules
