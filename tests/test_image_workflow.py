"""The real-image half of the tiny end-to-end run: figures, tables, scorecard rows, reruns."""

import pandas as pd
import pytest
import yaml

from conftest import entry, TINY, planned_after_edit
from spatialpool.training.checkpoints import load_checkpoint

pytestmark = pytest.mark.workflow

FIGURES = ("fig1", "fig3", "fig4", "figC1", "figC2", "figC3", "figC4", "figC5", "figC7", "fig_image_training")
IMAGE_PLOTS = set(FIGURES) | {"figC6"}
CLAIMS = {"R_k falls with depth after training and not at initialisation",
          "shuffled-channel R_k lies between the original and flat",
          "rho(eps, D_f) > 0", "rho(eps, G_f) < 0", "rho(eps, R_f) > 0 and the largest of the three"}


def group(cfg, name):
    return next(g for g in cfg["images"]["groups"] if g["name"] == name)


def test_image_figures_and_tables_are_built(tiny_run):
    cfg = yaml.safe_load(TINY.read_text())
    for fig in FIGURES:
        for fmt in cfg["plots"]["formats"]:
            assert (tiny_run / f"results/figures/{fig}.{fmt}").stat().st_size > 1000, fig
    assert not (tiny_run / "results/figures/figC6.png").exists()  # ImageNet only
    c1 = pd.read_csv(tiny_run / "results/tables/table_C1.csv")
    assert {"lenet", "vgg11_bn", "resnet50", "fcn2", "efficientnet_b0"} <= set(c1.name)
    assert c1.set_index("name").loc["lenet", "depth"] == 5
    for g in ("digits", "sd2d"):
        corr = pd.read_csv(tiny_run / f"results/tables/correlations_{g}.csv")
        assert set(corr.measure) == {"D_f", "G_f", "R_f"}
    corr = pd.read_csv(tiny_run / "results/tables/correlations_digits.csv")
    assert sorted(corr.noise.unique()) == [0.0, 10.0]


def test_every_net_is_trained_and_measured(tiny_run):
    nets = pd.read_csv(tiny_run / "results/images/collected/digits/nets.csv")
    # lenet at two noise levels, fcn2 at one, two seeds each
    assert len(nets) == 6 and set(nets.arch) == {"lenet", "fcn2"}
    assert nets.groupby(["arch", "noise"]).seed.nunique().to_dict() == {("fcn2", 0.0): 2, ("lenet", 0.0): 2,
                                                                        ("lenet", 10.0): 2}
    assert (nets.selection == "validation").all() and nets.best_test_error.between(0, 1).all()
    assert (nets[["D_f", "G_f", "R_f", "displacement_rms"]] > 0).all().all()
    result = load_checkpoint(tiny_run / "results/images/train/digits/lenet/noise10/seed1.pt", 1)
    assert set(result["states"]) == {"init", "best", "final"} and {"history", "seeds", "best_epoch"} <= set(result)
    assert result["arch"]["name"] == "lenet" and result["config"]["noise_std"] == 10.0
    layers = pd.read_csv(tiny_run / "results/images/collected/sd2d/layers.csv")
    lenet = layers[(layers.arch == "lenet") & (layers.seed == 0)]
    assert set(lenet.state) == {"init", "best", "shuffled"} and lenet.shuffle.nunique() == 2
    assert set(layers[layers.arch == "fcn2"].state) == {"init", "best"}  # no convs, nothing to shuffle
    trained = lenet[lenet.state == "best"]
    assert trained[trained.kind == "input"].R.iloc[0] == pytest.approx(1.0)
    assert trained[trained.is_layer].layer.max() == 5  # LeNet: 4 ReLUs and the output
    spectra = pd.read_csv(tiny_run / "results/images/collected/sd2d/spectra.csv")
    assert set(spectra.state) == {"init", "best"} and set(spectra.kernel) == {"5x5"}
    history = pd.read_csv(tiny_run / "results/images/collected/sd2d/history.csv")
    assert history.groupby(["arch", "seed"]).epoch.max().eq(2).all()
    assert (tiny_run / "logs/image_train/sd2d/fcn2/noise0/seed1.log").stat().st_size > 0


def test_image_claims_are_in_their_parts_and_the_merged_scorecard(tiny_run):
    parts = {p: pd.read_csv(tiny_run / f"results/tables/scorecard_{p}.csv") for p in ("section2", "section3")}
    assert parts["section2"].section.str[0].isin(["1", "2"]).all() and parts["section3"].section.str[0].eq("3").all()
    assert parts["section3"].experiment.str.startswith("sd2d").all()
    images = pd.concat(parts.values(), ignore_index=True)
    assert CLAIMS <= set(images.claim)
    assert images.passed.dtype == bool and images.measured.notna().any()
    assert {"digits/lenet", "sd2d/lenet", "digits, noise 10"} <= set(images.experiment)
    card = pd.read_csv(tiny_run / "results/tables/scorecard.csv")
    assert CLAIMS <= set(card.claim)
    cols = ["section", "claim", "experiment", "passed"]
    merged = card[card.claim.isin(CLAIMS)][cols].sort_values(cols[:3]).reset_index(drop=True)
    pd.testing.assert_frame_equal(merged, images[images.claim.isin(CLAIMS)][cols].sort_values(cols[:3]).reset_index(drop=True))


def test_plot_parameters_rerun_only_plots(tiny_run, tmp_path):
    jobs = planned_after_edit(tiny_run, tmp_path, lambda c: c["plots"].update(dpi=61))
    assert IMAGE_PLOTS & set(jobs)
    assert set(jobs) - {"all"} <= IMAGE_PLOTS | {"fig7", "fig_windows", "figB1", "figB2", "fig_appendix_A", "fig_receptive_field",
                                                 "fig_training", "fig_swish"}


def test_one_architectures_training_reruns_its_nets_and_downstream_only(tiny_run, tmp_path):
    def edit(c):
        fcn2 = next(a for a in group(c, "sd2d")["archs"] if a["arch"] == "fcn2")
        fcn2["train"] = {"lr": 0.05}
    jobs = planned_after_edit(tiny_run, tmp_path, edit)
    assert jobs["image_train"] == 2 and jobs["image_measure"] == 2  # sd2d/fcn2, both seeds
    assert jobs["image_collect"] == 1 and jobs["image_correlations"] == 1
    for untouched in ("image_dataset", "image_probe", "fig3", "figC3", "figC4", "fig1", "table_C1",
                      "train", "sensitivity", "fit_exponents", "fig7"):
        assert untouched not in jobs
    assert {"figC1", "figC2", "scorecard_part", "scorecard"} <= set(jobs)


def test_probe_and_shuffle_changes_rerun_measurements_not_training(tiny_run, tmp_path):
    jobs = planned_after_edit(tiny_run, tmp_path, lambda c: c["images"]["probe"].update(draws=2))
    assert jobs["image_probe"] == 2 and jobs["image_measure"] == 10 and "image_train" not in jobs
    jobs = planned_after_edit(tiny_run, tmp_path, lambda c: c["images"].update(shuffles=3))
    assert jobs["image_measure"] == 10 and not {"image_train", "image_probe"} & set(jobs)


def test_model_task_changes_leave_the_image_half_alone(tiny_run, tmp_path):
    jobs = planned_after_edit(tiny_run, tmp_path, lambda c: entry(c["experiments"], "task1_tanh")["train"].update(lr=0.02))
    assert jobs and not {j for j in jobs if j.startswith("image")} and not IMAGE_PLOTS & set(jobs)


def test_bad_image_config_is_named(tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    group(cfg, "digits")["archs"].append({"arch": "vgg7"})
    group(cfg, "sd2d")["archs"][0]["noise"] = [0, 1]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    import subprocess
    import sys

    from conftest import ROOT
    run = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory",
                          str(tmp_path), "--configfile", str(path), "-n"], capture_output=True, text=True, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "Invalid configuration (nothing was run)" in out, out[-2000:]
    assert "images.groups.digits.archs.vgg7: unknown architecture" in out
    assert "images.groups.sd2d.archs.lenet.noise: input noise is defined for natural images" in out
