"""Single-pass all-layers sensitivity measurement vs a naive per-layer baseline.

Two models:
  cnn: a small VGG-like CNN on 32x32x3 images (diffeomorphisms + norm-matched noise, generated
       once for the whole probe set and shared by both methods);
  1d:  spatialpool.models.simple_cnn.SimpleCNN on the task-1 probe set (1-pixel moves, plain and
       rectified noise), as measure.py feeds it.
Methods:
  naive:   for every layer separately, separate forward passes for the clean, deformed and
           noisy probe sets; the layer's whole-probe-set activations are kept and Delta comes
           from the P x P distance matrix (the authors' scheme);
  two-pass: (1d only) baselines.sensitivities: all layers per pass, one pass per perturbation;
  single:  image_sensitivity: clean and all perturbed versions concatenated, one pass per
           mini-batch, every layer reduced in its hook to float64 moments.
Each (model, method) is timed in its own process (median wall and CPU time of --repeats runs after a warm-up;
CPU time is the steadier figure when other processes share the cores) and
its memory measured in another: the peak RSS growth of one run over the set-up (Linux VmHWM after
clear_refs, glibc's mmap threshold fixed so that freed blocks leave RSS at once), or
torch.cuda.max_memory_allocated on GPU.

    python benchmarks/sensitivity_pass.py [--probe 128] [--repeats 3] [--dtype float32]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

from spatialpool.perturbations.diffeo import temperature
from spatialpool.measurement.estimator import (
    _Hooks,
    default_points,
    measure,
    measure_representations,
)
from spatialpool.perturbations.registry import perturb
from baselines import sensitivities


def vgg_like():
    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*block(3, 32), *block(32, 32), nn.MaxPool2d(2), *block(32, 64), *block(64, 64),
                         nn.MaxPool2d(2), *block(64, 128), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(128, 10))


def pairwise_delta(f: torch.Tensor) -> float:
    """Mean of the P x P squared-distance matrix (diagonal zeros included), in float64."""
    f = f.flatten(1).double()
    sq = f.pow(2).sum(1)
    return (sq[:, None] + sq[None] - 2 * f @ f.T).clamp_min(0).mean().item()


def naive_layer(forward_k, clean, perturbed, batch_size):
    """One layer: separate passes, whole-probe-set activations kept."""
    def run(x):
        return torch.cat([forward_k(x[lo:lo + batch_size]) for lo in range(0, len(x), batch_size)])
    f = run(clean)
    delta = pairwise_delta(f)
    out = {"delta": delta}
    for name, p in perturbed.items():
        r = p.shape[1]
        fp = run(p.flatten(0, 1)).view(len(clean), r, -1)
        out[name] = ((fp.double() - f.flatten(1).double()[:, None]) ** 2).sum(-1).mean().item() / delta
    return out


def layer_forward(model, name):
    """x -> the output of module `name` (or of the model, name "output") on x: one full forward
    pass per call, as the per-layer baseline makes it."""
    if name == "output":
        return lambda x: model(x).detach().clone()

    def forward_k(x):
        got = []
        hooks = _Hooks(model, [name], lambda key, kind, y, role=None: got.append(y.detach().clone()))
        try:
            model(x)
        finally:
            hooks.close()
        return got[0]
    return forward_k


# ---------------------------------------------------------------- image CNN

def setup_cnn(args):
    torch.manual_seed(0)
    model = vgg_like().to(args.dtype).to(args.device).eval()
    gen = torch.Generator().manual_seed(1)
    images = torch.randn(args.probe, 3, 32, 32, generator=gen, dtype=torch.float64).to(args.device)
    return model, images, temperature(1.0, 32, 3)


def cnn_single(args, model, images, temp):
    t = measure(model, images, temp, draws=args.draws, seed=0, batch_size=args.batch)
    return {"D": t.D.tolist(), "G": t.G.tolist()}


def cnn_naive(args, model, images, temp):
    pert = perturb(images, temp, 3, args.draws, seed=0)  # the same draws as measure()'s
    cast = lambda x: x.to(args.dtype)
    clean, perturbed = cast(images), {"D": cast(pert["deformed"]), "G": cast(pert["noisy"])}
    res = {"D": [], "G": []}
    for name in default_points(model) + ["output"]:
        with torch.no_grad():
            r = naive_layer(layer_forward(model, name), clean, perturbed, args.batch)
        res["D"].append(r["D"])
        res["G"].append(r["G"])
    return res


# ---------------------------------------------------------------- 1D SimpleCNN

def setup_1d(args):
    from spatialpool.perturbations.probes import make_probe_set
    from spatialpool.data.scale_detection import Task, make_dataset
    from spatialpool.models.simple_cnn import SimpleCNN

    task = Task("distance", 32, 11, 4)
    data = make_dataset(task, 48, seed=0)
    probe = make_probe_set(task, data["test_sites"], min(args.probe, len(data["test_sites"])), args.draws, 1)
    torch.manual_seed(0)
    net = SimpleCNN(12, args.width_1d, 3, 1).to(torch.float64).to(args.device)
    pert = {k: torch.as_tensor(v, dtype=torch.float64, device=args.device) for k, v in probe["perturbed"].items()}
    return net, torch.as_tensor(probe["x"], dtype=torch.float64, device=args.device), pert


def d1_single(args, net, clean, pert):
    def layers(x):  # a generator: one layer alive at a time (net.hidden would hold all of them)
        for k in range(net.depth):
            x = net.layer(k, x)
            yield x
    out = measure_representations(layers, clean, pert, args.batch)
    return {k: v.tolist() for k, v in out.items() if k != "delta"}


def d1_current(args, net, clean, pert):
    with torch.no_grad():
        out = sensitivities(net.hidden, clean, pert, args.batch)
    return {k: v.tolist() for k, v in out.items() if k != "delta"}


def d1_naive(args, net, clean, pert):
    res = {k: [] for k in pert}
    for k in range(net.depth):
        def forward_k(x, k=k):
            for j in range(k + 1):
                x = net.layer(j, x)
            return x
        with torch.no_grad():
            r = naive_layer(forward_k, clean, pert, args.batch)
        for name in pert:
            res[name].append(r[name])
    return res


CASES = {("cnn", "naive"): (setup_cnn, cnn_naive), ("cnn", "single"): (setup_cnn, cnn_single),
         ("1d", "naive"): (setup_1d, d1_naive), ("1d", "current"): (setup_1d, d1_current),
         ("1d", "single"): (setup_1d, d1_single)}


def _kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def child(args):
    torch.set_num_threads(args.threads)
    setup, run = CASES[(args.model, args.method)]
    state = setup(args)
    if args.part == "time":
        result = run(args, *state)  # warm-up, and the result that is compared
        times, cpu = [], []
        for _ in range(args.repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            run(args, *state)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        print(json.dumps({"time": statistics.median(times), "cpu": statistics.median(cpu), "result": result}))
    elif args.device == "cuda":  # peak memory of one run over what the set-up holds
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        run(args, *state)
        print(json.dumps({"peak_mib": (torch.cuda.max_memory_allocated() - base) / 2 ** 20}))
    else:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        base = _kib("VmRSS")
        run(args, *state)
        print(json.dumps({"peak_mib": (_kib("VmHWM") - base) / 1024}))


def _child_run(args, model, method, part):
    cmd = [sys.executable, __file__, "--model", model, "--method", method, "--part", part] + [
        f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
        if k not in ("model", "method", "device", "part") and v is not None]
    env = dict(os.environ)
    if part == "memory":  # a fixed mmap threshold: glibc returns large freed blocks, RSS follows live memory
        env["MALLOC_MMAP_THRESHOLD_"] = "65536"
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--probe", type=int, default=64)
    parser.add_argument("--draws", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--width-1d", type=int, default=128)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model")
    parser.add_argument("--method")
    parser.add_argument("--part", choices=["time", "memory"])
    args = parser.parse_args()
    args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.model:
        args.dtype = getattr(torch, args.dtype)
        return child(args)

    print(f"device {args.device}, {args.threads} threads, probe {args.probe} x {args.draws} draws, "
          f"batch {args.batch}, image CNN in {args.dtype}, 1D net in float64 (width {args.width_1d}, depth 12); "
          f"median of {args.repeats}")
    rows = {}
    for (model, method) in CASES:
        r = rows[(model, method)] = {**_child_run(args, model, method, "time"),
                                     **_child_run(args, model, method, "memory")}
        print(f"  {model:4s} {method:8s} wall {r['time']:8.3f} s  cpu {r['cpu']:8.3f} s  "
              f"peak +{r['peak_mib']:7.1f} MiB")
    for model in ("cnn", "1d"):
        single = rows[(model, "single")]
        for method in ("naive", "current"):
            if (model, method) not in rows:
                continue
            other = rows[(model, method)]
            diff = max(np.nanmax(np.abs(np.array(single["result"][k]) / np.array(other["result"][k]) - 1))
                       for k in other["result"])
            print(f"  {model}: {method} / single: wall {other['time'] / single['time']:.1f}x, "
                  f"cpu {other['cpu'] / single['cpu']:.1f}x, "
                  f"peak memory {other['peak_mib'] / max(single['peak_mib'], 1e-3):.1f}x, "
                  f"max relative difference of the sensitivities {diff:.1e}")
    ratio = {m: {k: rows[(m, "naive")][k] / rows[(m, "single")][k] for k in ("time", "cpu")} for m in ("cnn", "1d")}
    print(f"ratio (naive / single-pass, wall | cpu): cnn {ratio['cnn']['time']:.1f}x | {ratio['cnn']['cpu']:.1f}x, "
          f"1d {ratio['1d']['time']:.1f}x | {ratio['1d']['cpu']:.1f}x")


if __name__ == "__main__":
    main()
