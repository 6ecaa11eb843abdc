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
one thread) and the ratio plain / command; the issue's target is at least 10 on CPU.

    python benchmarks/measure_command.py [--probe 200] [--repeats 3] [--models ...]
"""
import argparse
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
from spatialpool.perturbations.registry import image_seed

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


def timed(fn, repeats: int) -> tuple[float, object]:
    fn()  # warm-up
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


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
    print(f"probe: {args.probe} digits, 1 draw, float64, 1 thread; median of {args.repeats} after a warm-up", flush=True)
    print(f"{'model':24s} {'points':>6s} {'command s':>10s} {'plain s':>9s} {'plain/command':>14s} {'max |dR|/R':>11s}")
    for spec in args.models:
        loaded = load_model(spec, num_classes=10)
        t_cmd, result = timed(lambda: measure_models([loaded], splits, settings, progress=False, log=lambda m: None),
                              args.repeats)
        model = loaded.model.double().eval()
        t_plain, r_plain = timed(lambda: plain(model, probe), args.repeats)
        ours = result["layers"]
        ours = ours[ours.name != "input"].R.to_numpy(float)
        agree = np.nanmax(np.abs(ours - np.asarray(r_plain)) / np.abs(ours))
        print(f"{spec:24s} {len(ours):6d} {t_cmd:10.2f} {t_plain:9.2f} {t_plain / t_cmd:14.1f} {agree:11.1e}", flush=True)


if __name__ == "__main__":
    main()
