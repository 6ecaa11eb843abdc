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
    """Defect 18: `--layers 'layer1*'` fits resnet18 but not fcn2: the error names fcn2 and comes
    before resnet18 is measured (was: resnet18 measured fully, then the error)."""
    import spatialpool.measurement.any_model as any_model
    monkeypatch.setattr(any_model, "measure_model", lambda *a, **k: (_ for _ in ()).throw(AssertionError("measured")))
    err = _error(tmp_path, capsys, "torchvision:resnet18", "spatialpool:fcn2", "--data", "digits", "--size", "4",
                 "--layers", "layer1*")
    assert "--layers: model fcn2 (spatialpool:fcn2): layer selection 'layer1*' matches no module" in err
    err = _error(tmp_path, capsys, "spatialpool:lenet", "spatialpool:fcn2", "--data", "digits", "--layers", "features.*")
    assert "layer selection 'features.*' matches no module" in err


def test_a_bad_out_is_named_up_front(tmp_path, capsys, monkeypatch):
    """Defect 16: an --out that is a file, under a file or a broken link: one line naming --out,
    before anything is loaded (was: FileExistsError / NotADirectoryError after the measurement)."""
    _no_measuring(monkeypatch)
    import spatialpool.data.sources as sources
    monkeypatch.setattr(sources, "load_images", lambda *a, **k: pytest.fail("data loaded before --out was checked"))
    afile = tmp_path / "afile"
    afile.write_text("mine")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    for out, said in ((afile, f"--out {afile} is a file, not a folder"),
                      (afile / "sub" / "deeper", f"--out {afile / 'sub' / 'deeper'} cannot be made: {afile} is a file"),
                      (tmp_path / "dangling", f"--out {tmp_path / 'dangling'} is a broken link")):
        assert main(["measure", "spatialpool:lenet", "--data", "digits", "--out", str(out), "--no-progress"]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("spatialpool measure: error: --out") and said in lines[0]
    assert afile.read_text() == "mine" and not (tmp_path / "gone").exists()


def test_a_bad_format_leaves_an_earlier_run_untouched(tmp_path, capsys, monkeypatch):
    """Defect 17: --formats jpgx is named before measuring, and the folder of an earlier run keeps
    every byte (was: its tables overwritten, its old figure kept: a mixed folder)."""
    out = tmp_path / "out"
    args = ["--data", "digits", "--size", "4", "--out", str(out), "--no-progress"]
    assert main(["measure", "spatialpool:fcn2", *args]) == 0
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    _no_measuring(monkeypatch)
    assert main(["measure", "spatialpool:lenet", *args, "--formats", "png", "jpgx"]) == 2
    assert "--formats jpgx: not a figure format matplotlib writes" in capsys.readouterr().err
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before


def test_a_stale_correlations_table_goes_and_user_files_stay(tmp_path):
    """Defect 17: a run without --correlations into a folder with an earlier run's correlations.csv
    and pdf figure removes them (they are not this run's); files the command never writes, even
    with a similar name, stay."""
    out = tmp_path / "out"
    args = ["--data", "digits", "--size", "5", "--out", str(out), "--no-progress"]
    assert main(["measure", "spatialpool:fcn2", "spatialpool:fcn4", "spatialpool:lenet", *args,
                 "--correlations", "--bootstrap", "10", "--formats", "png", "pdf"]) == 0
    assert (out / "correlations.csv").exists() and (out / "sensitivities.pdf").exists()
    for name in ("sensitivities.txt", "correlations.csv.bak", "notes.md"):
        (out / name).write_text("mine")
    assert main(["measure", "spatialpool:fcn2", *args]) == 0
    assert sorted(f.name for f in out.iterdir()) == ["correlations.csv.bak", "layers.csv", "notes.md", "outputs.csv",
                                                     "probe.json", "sensitivities.png", "sensitivities.txt"]
    assert all((out / n).read_text() == "mine" for n in ("sensitivities.txt", "correlations.csv.bak", "notes.md"))


def test_a_failed_run_removes_the_folder_it_made(tmp_path, capsys, monkeypatch):
    import spatialpool.figures.any_model as figures
    monkeypatch.setattr(figures, "figure_models", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk full")))
    out = tmp_path / "new" / "out"
    assert main(["measure", "spatialpool:fcn2", "--data", "digits", "--size", "4", "--out", str(out),
                 "--no-progress"]) == 2
    assert "disk full" in capsys.readouterr().err and not (tmp_path / "new").exists()


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
    # two curves in the figure (was one zig-zag through both models' points)
    import matplotlib.pyplot as plt

    import spatialpool.figures.any_model as figures
    drawn = []
    original = plt.Axes.plot
    try:
        plt.Axes.plot = lambda ax, *a, **k: drawn.append(k["label"]) or original(ax, *a, **k)
        figures.figure_models(layers, str(tmp_path / "again"), ["png"])
        drawn_distinct = list(drawn)
        drawn.clear()
        same = layers.assign(model="resnet18")  # a hand-made table with one name for both
        figures.figure_models(same, str(tmp_path / "same"), ["png"])
    finally:
        plt.Axes.plot = original
    assert drawn_distinct == names * 3  # D, G, R panels
    assert drawn == ["resnet18", "resnet18 #2"] * 3
    from spatialpool.measurement.any_model import distinct_names
    from spatialpool.models.sources import LoadedModel
    same = [LoadedModel("net", "x:y", None, "random (seed 0)")] * 3
    assert [m.name for m in distinct_names(same)] == [f"net [random (seed 0)] #{i}" for i in (1, 2, 3)]


def _usage_error(tmp_path, capsys, *argv):
    """An argparse error: exit code 2 with `spatialpool measure: error: argument --flag: ...`, nothing written."""
    with pytest.raises(SystemExit) as stop:
        _run(tmp_path, *argv)
    assert stop.value.code == 2 and not (tmp_path / "out").exists()
    err = capsys.readouterr().err
    assert "spatialpool measure: error: argument --" in err
    return err


@pytest.mark.parametrize("argv,said", [
    (["--std", "0"], "std (--std) must be > 0 for every channel, got [0.0]"),
    (["--std", "-1"], "std (--std) must be > 0 for every channel, got [-1.0]"),
    (["--std", "0.2,-1,0.2"], "std (--std) must be > 0 for every channel"),
    (["--std", "inf"], "std (--std) must be finite numbers"),
    (["--mean", "nan"], "mean (--mean) must be finite numbers"),
    (["--mean", "0.5,0.5"], "mean (--mean) gives 2 values for images of 3 channels; give 3 (or one for all)"),
    (["--std", "0.2,0.2"], "std (--std) gives 2 values for images of 3 channels"),
    (["--device", "foo"], "device (--device) 'foo' is not a device"),
    (["--device", "meta"], "device (--device) 'meta': give cpu, cuda"),
])
def test_bad_transform_and_probe_values_are_named_before_any_measurement(tmp_path, capsys, monkeypatch, argv, said):
    """Defects 20, 22: --std not > 0 (NaN results, exit 0, before) and --mean/--std of another length
    than the channels (a bare torch broadcasting error, before) stop with the flag named."""
    _no_measuring(monkeypatch)
    assert said in _error(tmp_path, capsys, "spatialpool:lenet", "--data", "digits", *argv)


def test_a_cuda_device_that_is_not_there_is_named(tmp_path, capsys, monkeypatch):
    _no_measuring(monkeypatch)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert "device (--device) 'cuda': torch sees no CUDA device" in _error(
        tmp_path, capsys, "spatialpool:lenet", "--data", "digits", "--device", "cuda")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert "torch sees 1 CUDA device(s), cuda:0 to cuda:0" in _error(
        tmp_path, capsys, "spatialpool:lenet", "--data", "digits", "--device", "cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert ProbeSettings(device="auto").device == "cpu"  # the schema's 'auto', recorded resolved


def test_one_mean_and_std_for_every_channel_is_accepted(tmp_path):
    """Defect 22: one value broadcasts over the channels (ImageSplits.normalise), so it is allowed."""
    one = load_images("digits", Transform(mean=(0.5,), std=(0.25,)))
    Transform(mean=(0.5,), std=(0.25,)).check_channels(3)
    x = one.normalise(one.x_test[:2])
    np.testing.assert_allclose(x.numpy(), ((one.x_test[:2].float() / one.scale - 0.5) / 0.25).numpy(), rtol=1e-6)
    code, out = _run(tmp_path, "spatialpool:fcn2", "--data", "digits", "--size", "4", "--mean", "0.5", "--std", "0.25")
    assert code == 0 and np.isfinite(pd.read_csv(out / "layers.csv").R).all()


@pytest.mark.parametrize("flag,value,said", [
    ("--num-classes", "0", "must be >= 2, got 0"), ("--num-classes", "1", "must be >= 2, got 1"),
    ("--threads", "0", "must be >= 1, got 0"), ("--threads", "-3", "must be >= 1, got -3"),
    ("--resize", "0", "must be at least 3 pixels, got 0"), ("--crop", "0", "must be at least 3 pixels, got 0"),
    ("--crop", "-3", "must be at least 3 pixels, got -3"), ("--crop", "1", "must be at least 3 pixels, got 1"),
    ("--crop", "2", "must be at least 3 pixels, got 2"), ("--resize", "2", "must be at least 3 pixels, got 2"),
    ("--cut", "0", "must be >= 2, got 0"), ("--cut", "1", "must be >= 2, got 1"),
    ("--size", "0", "must be >= 1, got 0"), ("--draws", "0", "must be >= 1, got 0"),
    ("--batch-size", "0", "must be >= 1, got 0"), ("--bootstrap", "0", "must be >= 1, got 0"),
    ("--seed", "-1", "must be >= 0, got -1"), ("--model-seed", "-1", "must be >= 0, got -1"),
    ("--delta", "0", "must be a finite number > 0, got 0"), ("--delta", "inf", "must be a finite number > 0"),
    ("--width-factor", "0", "must be a finite number > 0, got 0"),
])
def test_zero_is_not_the_default(tmp_path, capsys, monkeypatch, flag, value, said):
    """Defects 21, 23: 0 or a value out of range is an error naming the flag (argparse's, exit 2),
    not a silent 'use the default' nor a ZeroDivisionError (--crop -3, --crop 1, before); a side
    must be at least 3 pixels (a diffeomorphism keeps the border fixed: at 2 nothing moves and
    D = G = 0, R nan); --cut 0 and --cut 1 say the same."""
    _no_measuring(monkeypatch)
    err = _usage_error(tmp_path, capsys, "spatialpool:lenet", "--data", "digits", flag, value)
    assert f"argument {flag}: {said}" in err


def test_the_python_api_names_the_same_limits(tmp_path):
    """Defects 20, 21, 23 for callers of measure_to_folder / the workflow's rule: the same limits,
    ValueError naming the flag, before anything is loaded or written."""
    from spatialpool.cli import measure_to_folder
    out = tmp_path / "out"
    for kwargs, said in ((dict(transform=dict(crop=2)), "crop (--crop) must be at least 3 pixels, got 2"),
                         (dict(transform=dict(resize=0)), "resize (--resize) must be at least 3 pixels, got 0"),
                         (dict(transform=dict(std=[0.0, 1.0, 1.0])), "std (--std) must be > 0"),
                         (dict(probe=dict(cut=1)), "cut (--cut) must be >= 2"),
                         (dict(probe=dict(cut=0)), "cut (--cut) must be >= 2"),
                         (dict(probe=dict(size=0)), "size (--size) must be >= 1, got 0"),
                         (dict(probe=dict(seed=-1)), "seed (--seed) must be >= 0"),
                         (dict(probe=dict(delta=float("inf"))), "delta (--delta) must be a finite number > 0"),
                         (dict(num_classes=0), "--num-classes must be >= 2, got 0"),
                         (dict(width_factor=0.0), "--width-factor must be a finite number > 0"),
                         (dict(model_seed=-1), "--model-seed must be >= 0"),
                         (dict(correlations=True, bootstrap=0), "--bootstrap must be >= 1")):
        with pytest.raises(ValueError) as err:
            measure_to_folder(["spatialpool:nosucharch"], "nowhere", out, log=lambda m: None, **kwargs)
        assert said in str(err.value), (kwargs, str(err.value))  # before the model or data is looked at
    assert not out.exists()
    with pytest.raises(ValueError, match=r"num_classes \(--num-classes\) must be >= 2, got 0"):
        load_model("spatialpool:lenet", num_classes=0)  # was: 0 silently meant 10
    with pytest.raises(ValueError, match="size \\(--size\\) 400 is larger than the pool"):
        measure_models([load_model("spatialpool:fcn2")], load_images("digits"), ProbeSettings(size=400),
                       progress=False, log=lambda m: None)


def test_images_too_small_for_a_diffeomorphism_are_named(tmp_path, capsys, monkeypatch):
    """Defect 21 for the data itself: a folder of 2 x 2 images (no --resize) would give D = G = 0."""
    _no_measuring(monkeypatch)
    tiny = _tree(tmp_path / "tiny", side=2)
    err = _error(tmp_path, capsys, "spatialpool:fcn2", "--data", str(tiny))
    assert "are 2 x 2 pixels; their side must be at least 3 pixels" in err and "--resize" in err


def test_a_weights_file_that_is_not_a_state_dict_is_named(tmp_path, capsys, monkeypatch):
    """Defect 23: a text file, a pickle of other objects or a damaged zip: the file named and what
    was expected, without torch's advice to load it with weights_only=False (not followed: that
    could run code)."""
    _no_measuring(monkeypatch)
    import pickle
    (tmp_path / "text.pt").write_text("not weights")
    (tmp_path / "other.pkl").write_bytes(pickle.dumps({"x": Image.new("RGB", (1, 1))}))
    (tmp_path / "zip.pt").write_bytes(b"PK\x03\x04 damaged")
    for name in ("text.pt", "other.pkl", "zip.pt"):
        err = _error(tmp_path, capsys, "torchvision:resnet18", "--weights", str(tmp_path / name), "--data", "digits")
        assert f"weights file {tmp_path / name} is not a readable state dict" in err
        assert "torch.save(model.state_dict(), path)" in err
        assert "weights_only" not in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
