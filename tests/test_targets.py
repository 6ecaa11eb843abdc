"""Targets per part of the paper, list grids that a --configfile replaces, and results folders (dry runs)."""
import re

import pytest
import yaml

from conftest import ROOT, TINY, run_snakemake

IMAGE_RULES = re.compile(r"^(image_|imagenet_|cifar10_|fig1$|fig3$|fig4$|figC|table_C1$)")


def _jobs(workdir, *targets, configfile=TINY):
    """(rule, wildcards) of every job a dry run plans."""
    out = run_snakemake(workdir, "-n", *targets, configfile=configfile)
    jobs = []
    for block in out.split("\n\n"):
        rule = re.search(r"^(?:local)?rule (\w+):", block, re.M)
        if rule:
            wc = re.search(r"^\s+wildcards: (.*)$", block, re.M)
            jobs.append((rule[1], dict(kv.split("=", 1) for kv in wc[1].split(", ")) if wc else {}))
    return jobs


def test_section4_plans_no_image_job(tmp_path):
    jobs = _jobs(tmp_path, "section4")
    rules = {r for r, _ in jobs}
    assert {"train", "sensitivity", "fig7", "scorecard_part"} <= rules
    assert not {r for r in rules if IMAGE_RULES.match(r)}, rules
    assert {w["part"] for r, w in jobs if r == "scorecard_part"} == {"section4"}
    assert not {"diffusion", "figB1", "scorecard", "referee_summary"} & rules


@pytest.mark.parametrize("part,needs,avoids", [
    ("appendix_a", {"diffusion", "fig_appendix_A"}, {"train"}),
    ("appendix_b", {"figB1", "figB2", "train"}, {"fig7", "image_train"}),
    ("section3", {"image_train", "fig4"}, {"train", "fig1"}),
])
def test_each_part_plans_its_own_jobs(tmp_path, part, needs, avoids):
    rules = {r for r, _ in _jobs(tmp_path, part)}
    assert needs <= rules and not avoids & rules, rules


def test_a_configfile_with_one_experiment_and_no_images_plans_only_that_chain(tmp_path):
    tiny = yaml.safe_load(TINY.read_text())
    one = next(e for e in tiny["experiments"] if e["name"] == "task2_relu")
    user = tmp_path / "user.yaml"
    user.write_text(yaml.safe_dump({"experiments": [one], "images": None}))
    work = tmp_path / "work"
    jobs = _jobs(work, configfile=[TINY, user])
    assert {w["experiment"] for _, w in jobs if "experiment" in w} == {"task2_relu"}
    assert {w["task"] for _, w in jobs if "task" in w} == {"task2"}
    rules = {r for r, _ in jobs}
    assert not {r for r in rules if IMAGE_RULES.match(r)} and not {"figB1", "figB2"} & rules
    # the parts it can build, merged; appendix B (it needs the ReLU/tanh pair) is left out, and said so
    assert {w["part"] for r, w in jobs if r == "scorecard_part"} == {"section4", "appendix_a", "appendix_c"}
    out = run_snakemake(work, "-n", configfile=[TINY, user])
    assert "Part appendix_b is left out of the default target" in out


def test_asking_for_a_part_the_config_cannot_build_is_an_error(tmp_path):
    user = tmp_path / "user.yaml"
    user.write_text(yaml.safe_dump({"images": None}))
    out = run_snakemake(tmp_path, "-n", "section2", configfile=[TINY, user], check=False)
    assert "Part section2 cannot be built with this config: the config has no images section" in out


def test_the_paper_configuration_writes_to_its_own_folders(tmp_path):
    out = run_snakemake(tmp_path, "-n", configfile=ROOT / "configs/paper.yaml")
    outputs = [p for line in re.findall(r"^\s+output: (.*)$", out, re.M) for p in line.split(", ")]
    logs = [p for line in re.findall(r"^\s+log: (.*)$", out, re.M) for p in line.split(", ")]
    assert outputs and all(p.startswith("results-paper/") for p in outputs), [p for p in outputs if not p.startswith("results-paper/")][:5]
    assert logs and all(p.startswith("logs-paper/") for p in logs)


def test_references_the_config_drops_are_said(tmp_path):
    """A figure-7 experiment or a swish experiment the config lacks is left out (a --configfile
    that replaces the experiment grid must still run), but never silently: a misspelt name shows."""
    user = tmp_path / "user.yaml"
    tiny = yaml.safe_load(TINY.read_text())
    user.write_text(yaml.safe_dump({
        "figures": {**tiny["figures"], "fig7": ["task1_reluu", "task2_relu"]},
        "swish": {**tiny["swish"], "experiment": "task1_reluu"}}))
    out = run_snakemake(tmp_path / "work", "-n", configfile=[TINY, user])
    assert "figures.fig7 names experiments this config does not have (task1_reluu); figure 7 shows task2_relu" in out
    assert "swish.experiment 'task1_reluu' is not an experiment of this config; the swish experiment is left out" in out


def test_imagenet_is_left_out_without_its_validation_folder_and_said(tmp_path):
    paper = ROOT / "configs/paper.yaml"
    out = run_snakemake(tmp_path, "-n", configfile=paper)
    assert "images.imagenet.val_dir 'data/imagenet/val' is not a folder here, so ImageNet is left out" in out
    assert "rule imagenet_measure:" not in out
    (tmp_path / "data/imagenet/val").mkdir(parents=True)
    out = run_snakemake(tmp_path, "-n", configfile=paper)
    assert "ImageNet is left out" not in out and "rule imagenet_measure:" in out


def test_model_measurement_files_are_inputs(tmp_path):
    """A missing data folder stops the run before any job; a workflow checkpoint is trained first."""
    user = tmp_path / "user.yaml"
    entry = {"name": "mine", "models": ["checkpoint:results/images/train/digits/lenet/noise0/seed0.pt"]}
    user.write_text(yaml.safe_dump({"model_measurements": [{**entry, "data": str(tmp_path / "nowhere")}]}))
    out = run_snakemake(tmp_path / "work", "-n", "model_measurements", configfile=[TINY, user], check=False)
    assert "Missing input files for rule measure_models" in out and str(tmp_path / "nowhere") in out
    assert not (tmp_path / "work/results").exists()
    user.write_text(yaml.safe_dump({"model_measurements": [{**entry, "data": "digits"}]}))
    jobs = _jobs(tmp_path / "work", "model_measurements", configfile=[TINY, user])
    assert ("image_train", {"group": "digits", "arch": "lenet", "noise": "0", "seed": "0"}) in jobs
