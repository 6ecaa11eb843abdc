import math

import pytest
import torch
import torchvision.transforms.functional as TF

from spatialpool.models import registry
from spatialpool.models.architectures import build
from spatialpool.training.checkpoints import load_checkpoint
from spatialpool.training.images import (
    DeviceBatches,
    ImageTrainConfig,
    RunSeeds,
    augment_batch,
    cosine_t_max,
    errors,
    evaluate,
    init_model,
    make_optimizer,
    make_scheduler,
    memory_format_for,
    paper_protocol,
    parameter_groups,
    run_seed,
    save_result,
    train_steps_device,
)
from baselines import train_steps_dataloader
from spatialpool.data.images import ImageSplits


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_data(n=32, side=16, seed=0, flip_test_labels=False) -> ImageSplits:
    """Two classes separable by brightness (so crops and flips keep them separable)."""
    g = torch.Generator().manual_seed(seed)

    def draw(k):
        y = torch.arange(k) % 2
        x = (0.25 + 0.5 * y.float())[:, None, None, None] + 0.1 * torch.randn(k, 3, side, side, generator=g)
        return x.clamp(0, 1), y
    x, y = draw(n)
    xv, yv = draw(16)
    xt, yt = (x, 1 - y) if flip_test_labels else draw(16)
    return ImageSplits("tiny", x, y, xv if not flip_test_labels else x, yv if not flip_test_labels else y,
                       xt, yt, (0.5,) * 3, (0.25,) * 3, classes=["dark", "bright"])


QUIET = dict(progress_seconds=1e9)


def test_on_device_augmentation_is_a_crop_of_the_padded_image_and_a_flip():
    torch.manual_seed(0)
    x = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8)
    offsets = torch.tensor([[0, 0], [8, 8], [3, 5], [8, 0], [1, 7]])
    flips = torch.tensor([False, True, True, False, True])
    out = augment_batch(x, offsets, flips, padding=4)
    assert out.dtype == torch.uint8 and out.shape == x.shape
    for i in range(5):
        padded = torch.zeros(3, 16, 16, dtype=torch.uint8)
        padded[:, 4:12, 4:12] = x[i]
        r, c = offsets[i].tolist()
        ref = padded[:, r:r + 8, c:c + 8]
        ref = ref.flip(-1) if flips[i] else ref
        assert torch.equal(out[i], ref)
        tv = TF.crop(TF.pad(x[i], [4]), r, c, 8, 8)  # torchvision's own crop of the padded image
        assert torch.equal(out[i], TF.hflip(tv) if flips[i] else tv)


def test_device_batches_pad_before_normalising_and_cover_the_epoch():
    data = tiny_data(n=20)
    cfg = ImageTrainConfig(batch_size=8, crop_padding=4)
    batches = DeviceBatches(data, cfg, RunSeeds.from_seed(0), torch.device("cpu"))
    xs, ys = zip(*batches.epoch())
    assert [len(y) for y in ys] == [8, 8, 4]
    x = torch.cat(xs)
    pad_value = (0 - 0.5) / 0.25  # a black padded pixel, normalised
    # crops with an offset other than 4 show black padding, which normalises to -mean/std
    corners = torch.stack([x[:, :, 0, 0], x[:, :, 0, -1], x[:, :, -1, 0], x[:, :, -1, -1]])
    assert (corners == pad_value).any()
    assert sorted(torch.cat(ys).tolist()) == sorted(data.y_train.tolist())
    assert torch.allclose(batches.prepare(data.x_val), data.normalise(data.x_val))
    # same seeds -> same batches
    again = DeviceBatches(data, cfg, RunSeeds.from_seed(0), torch.device("cpu"))
    assert torch.equal(torch.cat([b for b, _ in again.epoch()]), x)


def test_weight_decay_groups_exclude_1d_parameters():
    net = build("vgg11_bn", width_factor=0.125)
    decay, exempt = parameter_groups(net, 5e-4)
    assert decay["weight_decay"] == 5e-4 and exempt["weight_decay"] == 0.0
    assert all(p.ndim != 1 for p in decay["params"]) and all(p.ndim == 1 for p in exempt["params"])
    assert len(decay["params"]) + len(exempt["params"]) == len(list(net.parameters()))
    # one SGD step with zero gradients: only the >= 2-D weights shrink, by lr * wd
    cfg = ImageTrainConfig(lr=0.1, momentum=0.9, weight_decay=5e-4)
    opt = make_optimizer(net, cfg)
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for n, p in net.named_parameters():
        expected = before[n] * (1 - 0.1 * 5e-4) if p.ndim != 1 else before[n]
        assert torch.allclose(p, expected, rtol=0, atol=1e-7), n


def test_cosine_schedule_follows_the_formula_and_rises_after_t_max():
    cfg = ImageTrainConfig(epochs=10, lr=0.1, cosine_t_max_fraction=0.8)
    assert cosine_t_max(cfg) == 8
    opt = make_optimizer(build("lenet", width_factor=0.25), cfg)
    sched = make_scheduler(opt, cfg)
    lrs = []
    for _ in range(11):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expected = [0.1 * (1 + math.cos(math.pi * t / 8)) / 2 for t in range(11)]
    assert lrs == pytest.approx(expected, abs=1e-12)
    assert lrs[8] == pytest.approx(0, abs=1e-12) and lrs[8] < lrs[9] < lrs[10]
    const = ImageTrainConfig(epochs=4, schedule="constant", optimizer="adam")
    opt = make_optimizer(build("fcn2"), const)
    sched = make_scheduler(opt, const)
    for _ in range(4):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == const.lr


def test_paper_protocols():
    cnn = paper_protocol("images", "vgg11")
    assert (cnn.optimizer, cnn.lr, cnn.momentum, cnn.weight_decay, cnn.batch_size, cnn.epochs) == \
        ("sgd", 0.1, 0.9, 5e-4, 128, 250)
    assert cnn.schedule == "cosine" and cnn.cosine_t_max_fraction == 0.8 and cnn.augment
    fcn = paper_protocol("images", "fcn4")
    assert (fcn.optimizer, fcn.lr, fcn.weight_decay, fcn.schedule) == ("adam", 0.1, 0.0, "constant")
    sd = paper_protocol("scale_detection", "resnet18")
    assert (sd.loss, sd.lr, sd.optimizer, sd.augment) == ("hinge", 0.05, "sgd", False)
    assert paper_protocol("scale_detection", "fcn2").optimizer == "adam"
    assert paper_protocol("images", "lenet", epochs=3, selection="test").selection == "test"
    with pytest.raises(ValueError):
        ImageTrainConfig(selection="best")


def test_tiny_net_reaches_zero_training_error():
    data = tiny_data()
    cfg = ImageTrainConfig(epochs=10, batch_size=8, lr=0.05, **QUIET)
    model, result = run_seed("lenet", data, cfg, seed=0, width_factor=0.25, log=lambda m: None)
    last = result.history[-1]
    assert last["train_error"] == 0.0 and result.history[0]["train_error"] > 0
    assert [h["epoch"] for h in result.history] == list(range(11))
    assert result.history[1]["lr"] == 0.05 and result.history[-1]["lr"] < 0.05
    assert set(result.seeds) >= {"seed", "init", "batches", "augment", "noise", "dropout", "data"}
    assert result.summary["parameters"] == sum(p.numel() for p in model.parameters())
    # the initial weights are the seeded initialisation
    fresh = init_model("lenet", data, cfg, RunSeeds.from_seed(0), width_factor=0.25)
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in result.states["init"].items())


def test_same_seed_gives_bitwise_identical_weights_on_cpu():
    data = tiny_data()
    cfg = ImageTrainConfig(epochs=2, batch_size=8, lr=0.05, noise_std=1.0, **QUIET)
    runs = [run_seed("alexnet", data, cfg, seed=s, width_factor=0.0625, log=lambda m: None)[1]
            for s in (3, 3, 4)]
    for k, v in runs[0].states["final"].items():
        assert torch.equal(v, runs[1].states["final"][k])
    assert [h["train_loss"] for h in runs[0].history[1:]] == [h["train_loss"] for h in runs[1].history[1:]]
    assert any(not torch.equal(v, runs[2].states["final"][k]) for k, v in runs[0].states["final"].items())


def test_conv_nets_train_channels_last_and_their_checkpoints_stay_contiguous():
    """NHWC only where there are convolutions (and cfg.channels_last); the trained weights are the
    contiguous layout's up to rounding, and every stored state is a plain contiguous tensor."""
    cfg = ImageTrainConfig(epochs=1, batch_size=8, lr=0.05, augment=False, **QUIET)
    assert memory_format_for(build("lenet", width_factor=0.25), cfg) == torch.channels_last
    assert memory_format_for(build("fcn2", width_factor=0.25), cfg) == torch.contiguous_format
    nchw = ImageTrainConfig(**{**cfg.__dict__, "channels_last": False})
    assert memory_format_for(build("lenet", width_factor=0.25), nchw) == torch.contiguous_format
    data = tiny_data()
    _, cl = run_seed("lenet", data, cfg, seed=0, width_factor=0.25, log=lambda m: None)
    _, plain = run_seed("lenet", data, nchw, seed=0, width_factor=0.25, log=lambda m: None)
    for state in ("init", "best", "final"):
        for k, v in cl.states[state].items():
            assert v.is_contiguous(), (state, k)
            torch.testing.assert_close(v, plain.states[state][k], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("selection", ["validation", "test"])
def test_selection_picks_the_best_epoch_of_the_chosen_split(selection):
    # test labels are the training labels flipped: the test error is 1 - the validation error,
    # so the two rules must pick different epochs
    data = tiny_data(flip_test_labels=True)
    cfg = ImageTrainConfig(epochs=10, batch_size=8, lr=0.05, selection=selection, **QUIET)
    model, result = run_seed("lenet", data, cfg, seed=0, width_factor=0.25, log=lambda m: None)
    column = "val_error" if selection == "validation" else "test_error"
    scores = [h[column] for h in result.history[1:]]
    assert result.best_epoch == 1 + scores.index(min(scores))
    if selection == "validation":  # training drives the validation error down
        assert result.best_epoch > 1 and min(scores) == 0.0
    else:                          # ... and the flipped test error up: the earliest epoch wins
        assert result.best_epoch == 1 and min(scores) == 0.5
    model.load_state_dict(result.states["best"])
    batches = DeviceBatches(data, cfg, RunSeeds.from_seed(0), torch.device("cpu"))
    split = data.x_val, data.y_val
    if selection == "test":
        split = data.x_test, data.y_test
    assert evaluate(model, batches, *split)[1] == min(scores)


def test_validation_selection_needs_a_validation_split():
    data = tiny_data()
    data.x_val, data.y_val = data.x_val[:0], data.y_val[:0]
    with pytest.raises(ValueError, match="validation"):
        run_seed("lenet", data, ImageTrainConfig(epochs=1, **QUIET), 0, width_factor=0.25)


def test_hinge_errors_and_save(tmp_path):
    out = torch.tensor([[0.5], [-2.0], [0.0]])
    assert errors(out, torch.tensor([1.0, 1.0, -1.0]), "hinge").item() == 2
    data = tiny_data()
    data.y_train, data.y_val, data.y_test = (2 * y.float() - 1 for y in (data.y_train, data.y_val, data.y_test))
    cfg = paper_protocol("scale_detection", "lenet", epochs=2, batch_size=8, **QUIET)
    model, result = run_seed("lenet", data, cfg, 0, width_factor=0.25, log=lambda m: None)
    assert model(torch.zeros(1, 3, 16, 16)).shape == (1, 1)
    save_result(result, tmp_path / "r" / "run.pt")
    loaded = load_checkpoint(tmp_path / "r" / "run.pt", 0)
    assert loaded["best_epoch"] == result.best_epoch and loaded["arch"]["name"] == "lenet"
    rebuilt = registry.build(loaded["arch"], loaded["states"]["final"]).eval()
    assert torch.equal(rebuilt(torch.zeros(1, 3, 16, 16)), model.eval()(torch.zeros(1, 3, 16, 16)))
    assert [p.name for p in (tmp_path / "r").iterdir()] == ["run.pt"]


def test_both_benchmark_pipelines_run_the_same_protocol():
    data = tiny_data(n=64)
    cfg = ImageTrainConfig(batch_size=16, **QUIET)
    seeds = RunSeeds.from_seed(0)
    for fn in (train_steps_device, train_steps_dataloader):
        torch.manual_seed(0)
        images, seconds = fn(build("lenet", width_factor=0.25, input_size=16), data, cfg, seeds, steps=3, warmup=1)
        assert images == 48 and seconds > 0


def test_interrupted_training_resumes_to_the_same_result(tmp_path):
    """Stopped after epoch 1 (as on SIGTERM) and rerun: the same weights, selection and curves as an
    uninterrupted run, bitwise on CPU (augmentation, input noise and dropout all draw random numbers)."""
    from spatialpool.training.resume import Checkpointer

    data = tiny_data()
    cfg = ImageTrainConfig(epochs=4, batch_size=8, lr=0.05, noise_std=1.0, augment=True, **QUIET)
    _, whole = run_seed("alexnet", data, cfg, seed=5, width_factor=0.0625, log=lambda m: None)

    state = tmp_path / "run.state"
    first = Checkpointer(state, interval_s=0, log=lambda m: None)
    with pytest.raises(SystemExit):  # the log line of epoch 1 asks to stop: save and exit
        run_seed("alexnet", data, cfg, seed=5, width_factor=0.0625, log=lambda m: first.request_stop(),
                 checkpointer=first)
    assert state.exists()
    messages = []
    second = Checkpointer(state, interval_s=1e9, log=messages.append)
    _, resumed = run_seed("alexnet", data, cfg, seed=5, width_factor=0.0625, log=lambda m: None,
                          checkpointer=second)
    assert any(m.startswith("resuming from") and m.endswith("at step 1") for m in messages), messages
    assert resumed.best_epoch == whole.best_epoch
    for a, b in ((whole.states["final"], resumed.states["final"]), (whole.states["best"], resumed.states["best"]),
                 (whole.states["init"], resumed.states["init"])):
        assert all(torch.equal(a[k], b[k]) for k in a)
    import pandas as pd
    curves = lambda h: pd.DataFrame(h).drop(columns="wall_s")
    pd.testing.assert_frame_equal(curves(whole.history), curves(resumed.history), check_exact=True)


def test_trajectory_states_are_the_weights_after_their_epochs_and_survive_a_resume(tmp_path):
    from spatialpool.training.resume import Checkpointer

    data = tiny_data()
    cfg = ImageTrainConfig(epochs=4, batch_size=8, lr=0.05, trajectory_epochs=[4, 1, 2, 2], **QUIET)
    assert cfg.trajectory_epochs == (1, 2, 4)
    _, whole = run_seed("lenet", data, cfg, seed=1, width_factor=0.25, log=lambda m: None)
    assert {"epoch1", "epoch2", "epoch4"} <= set(whole.states) and "epoch3" not in whole.states
    assert all(torch.equal(whole.states["epoch4"][k], v) for k, v in whole.states["final"].items())
    assert any(not torch.equal(whole.states["epoch1"][k], v) for k, v in whole.states["epoch2"].items())
    # stopped after epoch 1 and resumed: the trajectory states saved before the stop come back
    state = tmp_path / "run.state"
    stopper = Checkpointer(state, interval_s=0, log=lambda m: None)
    with pytest.raises(SystemExit):
        run_seed("lenet", data, cfg, seed=1, width_factor=0.25, log=lambda m: stopper.request_stop(), checkpointer=stopper)
    _, resumed = run_seed("lenet", data, cfg, seed=1, width_factor=0.25, log=lambda m: None,
                          checkpointer=Checkpointer(state, interval_s=1e9, log=lambda m: None))
    for name in ("epoch1", "epoch2", "epoch4"):
        assert all(torch.equal(whole.states[name][k], v) for k, v in resumed.states[name].items())
    save_result(whole, tmp_path / "run.pt")
    assert set(load_checkpoint(tmp_path / "run.pt", 1)["states"]) >= {"init", "best", "final", "epoch1", "epoch4"}


@pytest.mark.parametrize("epochs", [[0], [5], [-1]])
def test_trajectory_epochs_outside_the_run_are_refused(epochs):
    with pytest.raises(ValueError, match="trajectory_epochs"):
        ImageTrainConfig(epochs=4, trajectory_epochs=epochs)
