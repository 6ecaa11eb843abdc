"""`spatialpool measure` and the functions behind it (measurement/any_model.py, models/sources.py,
data/sources.py): the workflow's numbers for the workflow's models, torchvision models on tiny
image folders and digits, layer selection, transforms, and errors named before any measurement."""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from conftest import ROOT
from spatialpool.cli import main
from spatialpool.data.images import load_digits_images
from spatialpool.data.sources import Transform, load_images
from spatialpool.measurement.any_model import ProbeSettings, default_batch_size, measure_models, select_points
from spatialpool.measurement.images import make_probe, measure_states
from spatialpool.models.sources import load_model
from spatialpool.training.checkpoints import save_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")


def _tree(root, side=32, per_class=4, classes=("cat", "dog")):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for c in classes:
            (root / split / c).mkdir(parents=True)
            for i in range(per_class):
                arr = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
                Image.fromarray(arr).save(root / split / c / f"{i}.png")
    (root / "test" / ".ipynb_checkpoints").mkdir()
    (root / "test" / "cat" / "._0.png").write_bytes(b"\x00\x05\x16\x07")
    return root


def _run(tmp_path, *argv):
    out = tmp_path / "out"
    code = main(["measure", *argv, "--out", str(out), "--no-progress"])
    return code, out


def test_the_workflow_models_numbers_are_reproduced_exactly():
    """Same model, data and probe seed: the command's D, G, R are the workflow's (image_measure)."""
    settings = ProbeSettings(size=40, draws=2, seed=3, batch_size=16)
    splits = load_images("digits")
    lenet = load_model("spatialpool:lenet", seed=5, width_factor=0.5)
    ours = measure_models([lenet], splits, settings, progress=False, log=lambda m: None)["layers"]

    digits = load_digits_images()  # the workflow's digits data set (config.yaml: split seed 0, 300 test images)
    probe = make_probe(digits, "digits", 40, 2, seed=3)
    torch.manual_seed(5)
    from spatialpool.models.registry import build
    net = build(dict(name="lenet", width_factor=0.5, num_classes=10, in_channels=3, input_size=32))
    ref = measure_states(net, net, probe, shuffles=0, batch_size=16, log=lambda *a: None)
    ref = ref[ref.state == "best"]
    assert list(ours.name) == list(ref.name)
    for column in ("delta", "D", "G", "R", "displacement_rms"):
        np.testing.assert_array_equal(ours[column].to_numpy(float), ref[column].to_numpy(float), err_msg=column)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "vgg11_bn"])
def test_torchvision_models_on_a_tiny_image_folder(tmp_path, name):
    tree = _tree(tmp_path / "tree")
    code, out = _run(tmp_path, f"torchvision:{name}", "--data", str(tree), "--size", "6", "--draws", "2",
                     "--dtype", "float32")
    assert code == 0
    layers, outputs = pd.read_csv(out / "layers.csv"), pd.read_csv(out / "outputs.csv")
    assert len(outputs) == 1 and outputs.model[0] == name
    assert np.isfinite(outputs.probe_error[0])  # random init with the folder's 2 classes as outputs
    t = layers[layers.is_layer]
    assert t.rel_depth.iloc[0] == 0 and t.rel_depth.iloc[-1] == 1 and t.name.iloc[-1] == "output"
    assert t.R.iloc[0] == pytest.approx(1.0)  # the input: D and G are the same norm by construction
    assert (layers.probe_size == 6).all() and (layers.draws == 2).all()
    assert (out / "sensitivities.png").stat().st_size > 5000
    assert set(layers.data) == {"image folder tree"}


def test_several_models_give_one_table_and_correlations(tmp_path):
    models = ["spatialpool:lenet", "spatialpool:fcn2", "spatialpool:alexnet"]
    code, out = _run(tmp_path, *models, "--weights", "none,none", "--weights", "none", "--width-factor", "0.25",
                     "--data", "digits", "--size", "20", "--correlations", "--bootstrap", "50")
    assert code == 0
    outputs = pd.read_csv(out / "outputs.csv")
    assert list(outputs.model) == ["lenet", "fcn2", "alexnet"]
    corr = pd.read_csv(out / "correlations.csv")
    assert list(corr.measure) == ["D_f", "G_f", "R_f"] and (corr.n_models == 3).all()
    assert corr.ci_low.isna().all() and corr.note.str.contains("too few").all()
    assert set(pd.read_csv(out / "layers.csv").model) == set(outputs.model)


def test_correlations_over_too_few_models_say_so():
    from spatialpool.measurement.any_model import correlations
    three = pd.DataFrame(dict(model=list("abc"), probe_error=[0.2, 0.4, 0.8], D_f=[1.0, 2.0, 4.0], G_f=[3.0, 2.0, 1.0],
                              R_f=[0.5, 1.0, 2.0]))
    c = correlations(three).set_index("measure")
    assert c.rho["D_f"] == pytest.approx(1.0) and c.rho["G_f"] < -0.9 and c.ci_low.isna().all()
    assert "too few for a bootstrap interval" in c.note["D_f"]
    assert "too few for a correlation" in correlations(three.iloc[:2]).note[0]
    rng = np.random.default_rng(0)
    six = pd.DataFrame(dict(model=list("abcdef"), probe_error=rng.uniform(0.1, 0.9, 6)))
    six["D_f"] = six.probe_error * rng.uniform(0.8, 1.2, 6)
    six["G_f"], six["R_f"] = 1 / six.D_f, six.D_f ** 2
    c = correlations(six, n_resamples=500)
    assert (c.note == "").all() and ((c.ci_low >= -1) & (c.ci_low <= c.rho) & (c.rho <= c.ci_high) & (c.ci_high <= 1)).all()


def test_a_workflow_checkpoint_and_a_builder_with_weights(tmp_path):
    torch.manual_seed(0)
    from spatialpool.models.registry import build
    arch = dict(name="lenet", width_factor=0.5, num_classes=10, in_channels=3, input_size=32)
    init, trained = build(arch), build(arch)
    save_checkpoint(tmp_path / "net.pt", arch, {4: {"states": {"init": init.state_dict(), "best": trained.state_dict()}}})
    splits = load_images("digits")
    settings = ProbeSettings(size=10, seed=1)
    a = load_model(f"checkpoint:{tmp_path / 'net.pt'}", state="init")
    assert a.info == dict(seed=4, state="init")
    ours = measure_models([a], splits, settings, progress=False, log=lambda m: None)["layers"]
    ref = measure_states(init, trained, make_probe(load_digits_images(), "digits", 10, 1, seed=1), shuffles=0,
                         batch_size=50, log=lambda *a: None)
    np.testing.assert_array_equal(ours.R.to_numpy(float), ref[ref.state == "init"].R.to_numpy(float))

    sys.path.insert(0, str(ROOT / "tests"))
    from toy_models import ToyNet
    toy = ToyNet()
    torch.save(toy.state_dict(), tmp_path / "toy.pth")
    loaded = load_model("toy_models:ToyNet", weights=str(tmp_path / "toy.pth"))
    assert all(torch.equal(v, toy.state_dict()[k]) for k, v in loaded.model.state_dict().items())
    with pytest.raises(RuntimeError, match="does not fit"):
        load_model("torchvision:resnet18", weights=str(tmp_path / "toy.pth"))


def test_the_default_batch_holds_at_most_64_images_per_pass():
    # each probe image enters a pass as 1 clean + draws deformed + draws noisy images
    assert [default_batch_size(d) for d in (1, 2, 4, 31, 32, 1000)] == [21, 12, 7, 1, 1, 1]
    assert all(default_batch_size(d) * (1 + 2 * d) <= 64 for d in range(1, 32))
    assert ProbeSettings().batch_size == 21 and ProbeSettings(draws=2).batch_size == 12
    assert ProbeSettings(draws=2, batch_size=5).batch_size == 5
    with pytest.raises(ValueError, match="batch_size"):
        ProbeSettings(batch_size=0)


def test_layer_selection_by_type_and_name_pattern():
    model = load_model("torchvision:resnet18", num_classes=10).model
    relus = select_points(model, ["ReLU"])
    assert relus == [n for n, m in model.named_modules() if isinstance(m, torch.nn.ReLU)] and len(relus) == 9
    assert select_points(model, ["layer?.0"]) == ["layer1.0", "layer2.0", "layer3.0", "layer4.0"]
    default = select_points(model, None, log=lambda m: None)
    assert default[:4] == ["conv1", "bn1", "relu", "maxpool"] and "layer4.1" in default and default[-1] == "fc"
    with pytest.raises(ValueError, match="matches no module"):
        select_points(model, ["Transformer"])


def test_transform_resizes_crops_and_normalises(tmp_path):
    tree = _tree(tmp_path / "tree", side=40)
    big = load_images(str(tree), Transform(resize=36, crop=24, mean=(0.5,) * 3, std=(0.25,) * 3), log=lambda m: None)
    assert big.x_test.shape == (8, 3, 24, 24) and big.mean == (0.5,) * 3 and big.info["split"] == "test"
    native = load_images(str(tree), log=lambda m: None)
    x = native.normalise(native.x_test)
    assert x.shape == (8, 3, 40, 40)
    np.testing.assert_allclose(x.mean(dim=(0, 2, 3)).numpy(), 0, atol=1e-5)  # the pool's own statistics
    digits = load_images("digits", Transform(resize=64, crop=56))
    assert digits.x_test.shape == (300, 3, 56, 56) and float(digits.x_test.max()) <= 1.0


def test_the_temperature_range_is_checked_and_reported():
    splits = load_images("digits")
    model = load_model("spatialpool:fcn2")
    messages = []
    big = measure_models([model], splits, ProbeSettings(size=5, delta=8.0), progress=False, log=messages.append)
    assert not big["layers"].in_temperature_range.iloc[0] and any("outside Petrini" in m for m in messages)
    ok = measure_models([model], splits, ProbeSettings(size=5, delta=1.0), progress=False, log=lambda m: None)
    assert ok["layers"].in_temperature_range.all()


def _error(tmp_path, capsys, *argv):
    code, out = _run(tmp_path, *argv)
    assert code == 2 and not out.exists()
    return capsys.readouterr().err


def test_bad_input_is_named_before_any_measurement(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert "no image files" in _error(tmp_path, capsys, "torchvision:resnet18", "--data", str(tmp_path / "empty"))
    assert "weights file" in _error(tmp_path, capsys, "torchvision:resnet18", "--weights", str(tmp_path / "w.pth"),
                                    "--data", "digits")
    err = _error(tmp_path, capsys, "torchvision:alexnet", "--data", "digits", "--size", "4")
    assert "does not accept images of shape [3, 32, 32]" in err and "Resize" in err
    assert "has no classification model" in _error(tmp_path, capsys, "torchvision:resnet19", "--data", "digits")
    assert "neither 'digits'" in _error(tmp_path, capsys, "spatialpool:lenet", "--data", str(tmp_path / "nowhere"))
    assert "--weights given 1 times for 2 models" in _error(tmp_path, capsys, "spatialpool:lenet", "spatialpool:fcn2",
                                                             "--weights", "none", "--data", "digits")
    (tmp_path / "text.pt").write_text("not weights")
    assert "is not a readable state dict" in _error(tmp_path, capsys, "torchvision:resnet18", "--weights",
                                                    str(tmp_path / "text.pt"), "--data", "digits")
    (tmp_path / "ckpt.pt").write_text("not a checkpoint")
    assert "is not a readable checkpoint" in _error(tmp_path, capsys, f"checkpoint:{tmp_path / 'ckpt.pt'}",
                                                    "--data", "digits")
    mixed = _tree(tmp_path / "mixed")
    Image.new("RGB", (30, 50)).save(mixed / "test" / "dog" / "odd.png")
    assert "give a resize rule" in _error(tmp_path, capsys, "spatialpool:lenet", "--data", str(mixed))
    # options before the models: a comma list, so that --layers cannot swallow a model name
    code, out = _run(tmp_path, "--layers", "ReLU,Linear", "spatialpool:lenet", "--data", "digits", "--size", "4")
    assert code == 0 and set(pd.read_csv(out / "outputs.csv").points) == {7}  # 4 ReLUs, 3 Linears


def test_the_console_command_is_installed():
    run = subprocess.run([sys.executable, "-m", "spatialpool.cli", "measure", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "torchvision:NAME" in run.stdout


def test_the_workflow_rule_family_runs_the_same_measurement(tmp_path):
    import yaml

    from conftest import TINY, run_snakemake
    from spatialpool.cli import measure_to_folder

    entry = dict(name="mine", data="digits", models=["spatialpool:lenet", "torchvision:resnet18"],
                 weights=[None, None], model_seed=2, probe=dict(size=12, draws=1, seed=4, batch_size=12))
    extra = tmp_path / "mine.yaml"
    extra.write_text(yaml.safe_dump({"model_measurements": [entry]}))
    work = tmp_path / "work"
    run_snakemake(work, "model_measurements", configfile=[TINY, extra])
    ours = pd.read_csv(work / "results/model_measurements/mine/layers.csv")
    direct = measure_to_folder(entry["models"], "digits", tmp_path / "direct", weights=entry["weights"],
                               probe=entry["probe"], model_seed=2, progress=False, log=lambda m: None)["layers"]
    np.testing.assert_array_equal(ours.R.to_numpy(float), direct.R.to_numpy(float))
    assert set(ours.model) == {"lenet", "resnet18"}
    # a new probe seed reruns the measurement and nothing else
    entry["probe"]["seed"] = 5
    extra.write_text(yaml.safe_dump({"model_measurements": [entry]}))
    import subprocess
    out = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(work),
                          "--configfile", str(TINY), str(extra), "-n", "model_measurements"],
                         capture_output=True, text=True).stdout
    assert "measure_models" in out and "train" not in out.split("Job stats:")[1]


def test_a_builder_in_the_current_folder_and_weights_for_other_classes(tmp_path, monkeypatch, capsys):
    """`mymodule:function` imports from the folder the command runs in (as `python -m`); a weights
    file trained for more classes than the data has fails with a hint naming --num-classes, and
    loads with it."""
    import torchvision
    (tmp_path / "cwd_builder_for_test.py").write_text(
        "import torch.nn as nn\n"
        "def net(num_classes=10):\n"
        "    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),\n"
        "                         nn.Linear(4, num_classes))\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    code, out = _run(tmp_path, "cwd_builder_for_test:net", "--data", "digits", "--size", "4")
    assert code == 0 and (out / "layers.csv").exists()

    torch.manual_seed(0)
    wide = torchvision.models.mobilenet_v3_small(num_classes=1000)
    torch.save(wide.state_dict(), tmp_path / "imagenet_like.pt")
    with pytest.raises(RuntimeError, match="--num-classes"):
        load_model("torchvision:mobilenet_v3_small", weights=str(tmp_path / "imagenet_like.pt"), num_classes=10)
    loaded = load_model("torchvision:mobilenet_v3_small", weights=str(tmp_path / "imagenet_like.pt"), num_classes=1000)
    assert torch.equal(loaded.model.classifier[-1].weight, wide.classifier[-1].weight)


def _no_measuring(monkeypatch):
    """Make any measurement fail the test: the checks below must come before it."""
    import spatialpool.measurement.any_model as any_model

    def refuse(*a, **k):
        raise AssertionError("measured before the bad input was named")
    monkeypatch.setattr(any_model, "measure_models", refuse)


def test_bad_outputs_and_formats_are_named_before_any_measurement(tmp_path, capsys, monkeypatch):
    _no_measuring(monkeypatch)
    afile = tmp_path / "afile"
    afile.write_text("mine")
    for out, said in ((afile, f"--out {afile} is a file, not a folder"),
                      (afile / "sub", f"--out {afile / 'sub'} cannot be made: {afile} is a file")):
        assert main(["measure", "spatialpool:lenet", "--data", "digits", "--out", str(out), "--no-progress"]) == 2
        assert said in capsys.readouterr().err
    assert afile.read_text() == "mine"
    assert "--formats jpgx: not a figure format" in _error(tmp_path, capsys, "spatialpool:lenet", "--data", "digits",
                                                           "--formats", "png", "jpgx")


def test_the_output_folder_never_mixes_runs(tmp_path, capsys):
    """A second run into the same folder replaces the first's files, removes the ones it does not
    make (correlations, other figure formats), keeps the user's own files, and a failed run
    changes nothing."""
    out = tmp_path / "out"
    args = ["--data", "digits", "--size", "6", "--out", str(out), "--no-progress"]
    assert main(["measure", "spatialpool:lenet", "spatialpool:fcn2", "spatialpool:fcn4", *args,
                 "--correlations", "--formats", "png", "pdf"]) == 0
    (out / "notes.txt").write_text("mine")
    assert main(["measure", "spatialpool:lenet", *args]) == 0
    assert sorted(f.name for f in out.iterdir()) == ["layers.csv", "notes.txt", "outputs.csv", "probe.json",
                                                     "sensitivities.png"]
    assert set(pd.read_csv(out / "outputs.csv").model) == {"lenet"}
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    assert main(["measure", "spatialpool:fcn2", *args]) == 0
    assert set(pd.read_csv(out / "outputs.csv").model) == {"fcn2"}
    # a run that fails after the measurement (in the figure), before anything is moved in
    import spatialpool.figures.any_model as figures

    def broken(*a, **k):
        raise RuntimeError("disk full")
    original = figures.figure_models
    figures.figure_models = broken
    try:
        again = {f.name: f.read_bytes() for f in out.iterdir()}
        assert main(["measure", "spatialpool:lenet", *args]) == 2
        assert {f.name: f.read_bytes() for f in out.iterdir()} == again
    finally:
        figures.figure_models = original
    assert before.keys() == again.keys()


def test_layer_selection_is_checked_for_every_model_before_any_is_measured(tmp_path, capsys, monkeypatch):
    import spatialpool.measurement.any_model as any_model
    monkeypatch.setattr(any_model, "measure_model", lambda *a, **k: (_ for _ in ()).throw(AssertionError("measured")))
    err = _error(tmp_path, capsys, "spatialpool:lenet", "spatialpool:fcn2", "--data", "digits", "--layers", "features.*")
    assert "layer selection 'features.*' matches no module" in err


def test_the_same_architecture_twice_gets_two_names(tmp_path):
    """The init-against-trained comparison: one architecture with two weights is two models in the
    tables and two curves in the figure."""
    torch.manual_seed(3)
    w = tmp_path / "trained.pt"
    torch.save(load_model("torchvision:resnet18", num_classes=10, seed=7).model.state_dict(), w)
    code, out = _run(tmp_path, "torchvision:resnet18", "torchvision:resnet18", "--weights", f"none,{w}",
                     "--data", "digits", "--size", "4")
    assert code == 0
    names = list(pd.read_csv(out / "outputs.csv").model)
    assert names == ["resnet18 [random (seed 0)]", "resnet18 [trained.pt]"], names
    layers = pd.read_csv(out / "layers.csv")
    assert list(dict.fromkeys(layers.model)) == names
    assert (layers.groupby("model").size() == len(layers) // 2).all()
    from spatialpool.measurement.any_model import distinct_names
    from spatialpool.models.sources import LoadedModel
    same = [LoadedModel("net", "x:y", None, "random (seed 0)")] * 3
    assert [m.name for m in distinct_names(same)] == [f"net [random (seed 0)] #{i}" for i in (1, 2, 3)]


@pytest.mark.parametrize("argv,said", [
    (["--std", "0"], "std (--std) must be > 0 for every channel, got [0.0]"),
    (["--std", "0.2,-1,0.2"], "std (--std) must be > 0 for every channel"),
    (["--mean", "0.5,0.5"], "mean (--mean) gives 2 values for images of 3 channels"),
    (["--crop", "1"], "crop (--crop) must be at least 2 pixels, got 1"),
    (["--cut", "0"], "cut must be >= 2"),
    (["--cut", "1"], "cut must be >= 2"),
])
def test_bad_transform_and_probe_values_are_named_before_any_measurement(tmp_path, capsys, monkeypatch, argv, said):
    _no_measuring(monkeypatch)
    assert said in _error(tmp_path, capsys, "spatialpool:lenet", "--data", "digits", *argv)


@pytest.mark.parametrize("flag", ["--num-classes", "--threads", "--resize", "--crop"])
def test_zero_is_not_the_default(tmp_path, capsys, flag):
    """0 or a negative value is an error (argparse's), not a silent 'use the default'."""
    for value in ("0", "-3"):
        with pytest.raises(SystemExit) as stop:
            _run(tmp_path, "spatialpool:lenet", "--data", "digits", flag, value)
        assert stop.value.code == 2 and f"argument {flag}: must be >= 1, got {value}" in capsys.readouterr().err
