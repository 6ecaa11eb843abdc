"""The `spatialpool` command. `spatialpool measure`: layer-wise D_k, G_k, R_k (paper eq. 1) of any
models on any images, as the workflow measures its own nets (measurement/any_model.py; README,
"Measuring your own models").

    spatialpool measure torchvision:resnet18 torchvision:vgg11_bn --data digits --out measured

writes measured/layers.csv (one row per model and layer), measured/outputs.csv (one row per
model: D_f, G_f, R_f, the probe's test error), measured/sensitivities.png (D_k, G_k, R_k against
relative depth) and, with --correlations, measured/correlations.csv. Bad input (an unknown model,
a missing file, an empty folder, a model that does not take the images' shape) stops it with a
one-line error before any measurement.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(","))


def measure_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("measure", help="layer-wise sensitivities D_k, G_k, R_k of models on images",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", metavar="MODEL",
                   help="torchvision:NAME, package.module:function, spatialpool:ARCH or checkpoint:PATH")
    p.add_argument("--weights", action="append", default=None, metavar="W",
                   help="per model, in order: torchvision weights name (DEFAULT, IMAGENET1K_V1, ...), a state-dict "
                        "file, or 'none' for a seeded random initialisation (default: none for every model)")
    p.add_argument("--data", required=True, help="digits, cifar10:PATH, or an ImageFolder tree / .tar / .tar.gz")
    g = p.add_argument_group("transform (default: torchvision weights' own, else the data's size and statistics)")
    g.add_argument("--resize", type=int, help="scale the shorter side to this many pixels")
    g.add_argument("--crop", type=int, help="then keep the centre crop x crop")
    g.add_argument("--mean", type=_floats, help="per-channel mean on the [0, 1] scale, e.g. 0.485,0.456,0.406")
    g.add_argument("--std", type=_floats, help="per-channel std on the [0, 1] scale")
    g = p.add_argument_group("probe")
    g.add_argument("--size", type=int, default=200, help="probe images (default 200)")
    g.add_argument("--draws", type=int, default=1, help="diffeomorphisms and noises per image (default 1)")
    g.add_argument("--seed", type=int, default=0, help="seed of the probe's images and perturbations (default 0)")
    g.add_argument("--delta", type=float, default=1.0, help="diffeomorphism's nominal displacement, pixels (default 1)")
    g.add_argument("--cut", type=int, default=3, help="diffeomorphism's highest mode c (default 3)")
    g.add_argument("--batch-size", type=int, default=50, help="probe images per forward pass (default 50)")
    g.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="model and sums (default float64)")
    g.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... (default cpu)")
    g.add_argument("--layers", nargs="+", metavar="SEL",
                   help="module types (ReLU, Conv2d) or name patterns (layer?.0; * crosses dots); default: the workflow's points")
    g = p.add_argument_group("models")
    g.add_argument("--num-classes", type=int, help="outputs of randomly initialised models (default: the data's classes)")
    g.add_argument("--model-seed", type=int, default=0, help="torch seed of random initialisations (default 0)")
    g.add_argument("--width-factor", type=float, default=1.0, help="width of spatialpool:ARCH models (default 1)")
    g.add_argument("--state", default="best", help="state of a checkpoint:PATH (init, best, final, epoch<n>)")
    g.add_argument("--checkpoint-seed", type=int, help="seed of a checkpoint:PATH (default: its first)")
    g = p.add_argument_group("outputs")
    g.add_argument("--out", default="spatialpool-measure", help="output folder (default spatialpool-measure)")
    g.add_argument("--formats", nargs="+", default=["png"], help="figure formats (default png)")
    g.add_argument("--correlations", action="store_true",
                   help="rho(probe error, D_f / G_f / R_f) across the models, with bootstrap intervals")
    g.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples of --correlations (default 2000)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run_measure(args) -> dict:
    from spatialpool.data.sources import Transform, load_images
    from spatialpool.measurement.any_model import ProbeSettings, correlations, measure_models
    from spatialpool.models.sources import load_model

    log = lambda m: print(m, file=sys.stderr)  # noqa: E731 - stdout stays free for the summary table
    weights = args.weights or [None] * len(args.models)
    if len(weights) != len(args.models):
        raise ValueError(f"--weights given {len(weights)} times for {len(args.models)} models; give it once per "
                         "model, in order ('none' for a random initialisation)")
    weights = [None if w in (None, "none") else w for w in weights]
    settings = ProbeSettings(size=args.size, draws=args.draws, seed=args.seed, delta=args.delta, cut=args.cut,
                             batch_size=args.batch_size, dtype=args.dtype, device=args.device)
    # the transform: the flags, else the first model's weights' own (all models see the same probe)
    transform = Transform(args.resize, args.crop, args.mean, args.std)
    peek = [load_model(m, w, num_classes=args.num_classes or 10, seed=args.model_seed,
                       width_factor=args.width_factor, state=args.state, checkpoint_seed=args.checkpoint_seed)
            if w is not None else None for m, w in zip(args.models, weights)]
    preset = next((m.transform for m in peek if m is not None and m.transform), None)
    if preset and not any((args.resize, args.crop, args.mean, args.std)):
        transform = Transform(preset["resize"], preset["crop"], preset["mean"], preset["std"])
        log(f"transform from the weights' metadata: {transform}")
    splits = load_images(args.data, transform, log=log)
    side = int(splits.x_test.shape[-1])
    models = [p if p is not None else load_model(m, None, num_classes=args.num_classes or len(splits.classes),
                                                  seed=args.model_seed, width_factor=args.width_factor,
                                                  state=args.state, checkpoint_seed=args.checkpoint_seed,
                                                  input_size=side)
              for m, p in zip(args.models, peek)]
    result = measure_models(models, splits, settings, args.layers, progress=not args.no_progress, log=log)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result["layers"].to_csv(out / "layers.csv", index=False)
    result["outputs"].to_csv(out / "outputs.csv", index=False)
    if args.correlations:
        result["correlations"] = correlations(result["outputs"], seed=args.seed, n_resamples=args.bootstrap)
        result["correlations"].to_csv(out / "correlations.csv", index=False)
    (out / "probe.json").write_text(json.dumps(dict(result["probe"], data=args.data, transform=vars(transform),
                                                    models=args.models, weights=[str(w) for w in weights]), indent=1))
    from spatialpool.figures.any_model import figure_models
    figure_models(result["layers"], str(out / "sensitivities"), args.formats, title=result["layers"].probe.iloc[0])
    cols = ["model", "D_f", "G_f", "R_f", "probe_error", "points", "seconds"]
    print(result["outputs"][cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    log(f"written: {out}/layers.csv, outputs.csv, sensitivities.{args.formats[0]}"
        + (", correlations.csv" if args.correlations else ""))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="spatialpool", description="Tools of the spatialpool reproduction.")
    sub = parser.add_subparsers(dest="command", required=True)
    measure_parser(sub)
    args = parser.parse_args(argv)
    try:
        run_measure(args)
    except (ValueError, FileNotFoundError, RuntimeError, KeyError) as err:
        print(f"spatialpool measure: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
