"""`spatialpool measure` against a plain implementation of the authors' approach, per model.

Both measure the same models on the same probe set (digits, the same images, the same
diffeomorphism coefficients and noise draws, float64), and the script checks that they agree:

  command: measurement/any_model.measure_models - the probe's perturbations made batched, one
           forward pass of [clean | deformed | noisy] per mini-batch, every point reduced in its hook;
  plain:   baselines.deform_loop (one image at a time), then for every measurement point separately
           a forward pass of the clean, the deformed and the noisy probe set, that point's
           activations of the whole probe set kept, Delta from the P x P distance matrix
           (sensitivity_pass.naive_layer): the authors' scheme.

It prints, per model, the seconds of each (median of --repeats after a warm-up, this process,
one thread) and the ratio plain / command, the median over rounds of the two timed one after the
other (the machines' speed drifts by more than the differences measured); the issue's target is
at least 10 on CPU.

It also times the command's forward passes alone (the model in float64 on the same
[clean | deformed | noisy] batches, no hooks, no draws, no sums) and prints plain / that: the
ratio a one-pass measurement would reach if drawing the perturbations and summing cost nothing,
a ceiling set by how many forward passes the plain approach makes of each image and how much
each of the model's layers costs; last, the command's ratio as a fraction of that ceiling.

    python benchmarks/measure_command.py [--probe 200] [--repeats 3] [--models ...]
"""
import argparse
import copy
import statistics
import time

import numpy as np
import torch

from baselines import deform_loop
from sensitivity_pass import layer_forward, naive_layer
from spatialpool.data.sources import load_images
from spatialpool.measurement.any_model import ProbeSettings, make_probe, measure_models, select_points
from spatialpool.models.sources import load_model
from spatialpool.perturbations.diffeo import matched_noise, sample_coefficients
from spatialpool.perturbations.registry import batches_of, image_seed

MODELS = ["spatialpool:lenet", "torchvision:resnet18", "torchvision:mobilenet_v3_small"]


def plain(model, probe) -> list[float]:
    """R at every point and the output, the authors' way (module docstring)."""
    x, draws = probe["x"], probe["draws"]
    coeffs, zs = [], []
    for i in range(len(x)):  # the probe's per-image streams, as perturbations/registry.perturb draws them
        gen = torch.Generator().manual_seed(image_seed(probe["seed"], i))
        coeffs.append(sample_coefficients(draws, probe["cut"], probe["temperature"], gen))
        zs.append(torch.randn((draws, *x.shape[1:]), generator=gen, dtype=torch.float64))
    clean = x.repeat_interleave(draws, 0)
    deformed = deform_loop(clean, torch.cat(coeffs), probe["cut"])
    noisy = clean + matched_noise(clean, deformed, z=torch.cat(zs))
    shape = (len(x), draws, *x.shape[1:])
    perturbed = {"D": deformed.view(shape), "G": noisy.view(shape)}
    rs = []
    for name in select_points(model, None, log=lambda m: None) + ["output"]:
        with torch.no_grad():
            r = naive_layer(layer_forward(model, name), x, perturbed, 50)
        rs.append(r["D"] / r["G"])
    return rs


def forward_passes(model, probe, batch_size: int):
    """The command's forward passes and nothing else: the model (float64) on every batch of
    [clean | deformed | noisy] probe images, made here once, beforehand."""
    batches = [torch.cat([x, perturbed["D"].flatten(0, 1), perturbed["G"].flatten(0, 1)])
               for x, perturbed, _ in batches_of(probe, probe["x"], batch_size)]

    def run():
        with torch.no_grad():
            for xs in batches:
                model(xs)
    return run


def interleaved(fns: dict, repeats: int) -> tuple[dict, dict, list]:
    """Time each function `repeats` times after a warm-up, alternating between them, so that the
    machine's drift in speed (large on shared machines) falls on all of them alike. Returns
    ({name: median seconds}, {name: last result}, [per-round {name: seconds}])."""
    out = {name: fn() for name, fn in fns.items()}  # warm-up
    rounds = []
    for _ in range(repeats):
        times = {}
        for name, fn in fns.items():
            start = time.perf_counter()
            out[name] = fn()
            times[name] = time.perf_counter() - start
        rounds.append(times)
    return {name: statistics.median(r[name] for r in rounds) for name in fns}, out, rounds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--probe", type=int, default=ProbeSettings().size)  # the command's default
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=MODELS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    splits = load_images("digits")
    settings = ProbeSettings(size=args.probe, draws=1, seed=0)  # the command's default batch size
    probe = make_probe(splits, settings)
    print(f"probe: {args.probe} digits, 1 draw, float64, 1 thread; median of {args.repeats} interleaved rounds after a warm-up", flush=True)
    print(f"{'model':24s} {'points':>6s} {'command s':>10s} {'plain s':>9s} {'forward s':>10s} "
          f"{'plain/command':>14s} {'max |dR|/R':>11s} {'ceiling':>8s} {'of ceiling':>11s}")
    for spec in args.models:
        loaded = load_model(spec, num_classes=10)
        # the command turns the model to float64 and back on every call; plain measures a float64 copy
        plain_model = copy.deepcopy(loaded.model).double().eval()
        med, out, rounds = interleaved(
            {"command": lambda: measure_models([loaded], splits, settings, progress=False, log=lambda m: None),
             "plain": lambda: plain(plain_model, probe),
             "forward": forward_passes(plain_model, probe, settings.batch_size)}, args.repeats)
        ratio = statistics.median(r["plain"] / r["command"] for r in rounds)  # paired: robust to drift
        ceiling = statistics.median(r["plain"] / r["forward"] for r in rounds)
        ours = out["command"]["layers"]
        ours = ours[ours.name != "input"].R.to_numpy(float)
        agree = np.nanmax(np.abs(ours - np.asarray(out["plain"])) / np.abs(ours))
        print(f"{spec:24s} {len(ours):6d} {med['command']:10.2f} {med['plain']:9.2f} {med['forward']:10.2f} "
              f"{ratio:14.1f} {agree:11.1e} {ceiling:8.1f} {ratio / ceiling:11.2f}", flush=True)


if __name__ == "__main__":
    main()
