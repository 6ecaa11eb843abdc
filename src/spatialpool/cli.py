"""The `spatialpool` command. `spatialpool measure`: layer-wise D_k, G_k, R_k (paper eq. 1) of any
models on any images, as the workflow measures its own nets (measurement/any_model.py; README,
"Measuring your own models").

    spatialpool measure torchvision:resnet18 torchvision:vgg11_bn --data digits --out measured

writes measured/layers.csv (one row per model and layer), measured/outputs.csv (one row per
model: D_f, G_f, R_f, the probe's test error), measured/sensitivities.png (D_k, G_k, R_k against
relative depth) and, with --correlations, measured/correlations.csv. Models of the same name (one
architecture with two weights) are labelled by what initialised them: "resnet18 [trained.pt]".
Bad input (an unknown model, a missing file, an empty folder, a model that does not take the
images' shape, a --layers item missing from any model, an --out that is a file, an unknown
--formats, a value out of range: --std not > 0, --mean/--std not one value or one per channel,
--resize/--crop under 3 pixels, a count of 0) stops it with a one-line error naming the flag,
exit code 2, before any measurement.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(","))


def _names(text: str) -> list[str]:
    return [v for v in text.split(",") if v]


def _at_least(low: int):
    """argparse type: an integer >= low (0 is never a silent 'default': a flag not given is None)."""
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value
    parse.__name__ = "int"  # argparse's message for a non-number: "invalid int value"
    return parse


_positive = _at_least(1)


def _side(text: str) -> int:
    """argparse type of --resize and --crop: an image side a diffeomorphism can deform."""
    from spatialpool.data.sources import MIN_SIDE, side_problem
    value = int(text)
    if value < MIN_SIDE:
        raise argparse.ArgumentTypeError(side_problem(value))
    return value


_side.__name__ = "int"


def _positive_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


_positive_float.__name__ = "float"


OWNED = ("layers.csv", "outputs.csv", "probe.json", "correlations.csv")  # and sensitivities.<format>


def check_out(out: Path) -> None:
    """ValueError unless `out` is, or can be made as, a writable folder (before any measurement)."""
    if out.is_symlink() and not out.exists():
        raise ValueError(f"--out {out} is a broken link (to {os.readlink(out)})")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    existing = out
    while not existing.exists():
        if existing.is_symlink():
            raise ValueError(f"--out {out} cannot be made: {existing} is a broken link")
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"--out {out} cannot be made: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: {existing} is not writable")


def figure_formats() -> dict:
    """The figure formats matplotlib writes: {extension: description}."""
    from matplotlib.figure import Figure
    return Figure().canvas.get_supported_filetypes()


def check_formats(formats) -> None:
    """ValueError naming --formats: a format matplotlib does not write, or one given twice."""
    supported = figure_formats()
    bad = [f for f in formats if f not in supported]
    if bad:
        raise ValueError(f"--formats {' '.join(bad)}: not a figure format matplotlib writes; "
                         f"allowed: {', '.join(sorted(supported))}")
    if len(set(formats)) < len(formats):
        raise ValueError(f"--formats names a format twice: {' '.join(formats)}")


def measure_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("measure", help="layer-wise sensitivities D_k, G_k, R_k of models on images",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", metavar="MODEL",
                   help="torchvision:NAME, package.module:function, spatialpool:ARCH or checkpoint:PATH")
    p.add_argument("--weights", type=_names, action="extend", default=None, metavar="W[,W...]",
                   help="per model, in order, comma-separated (or the flag repeated): torchvision weights name "
                        "(DEFAULT, IMAGENET1K_V1, ...), a state-dict file, or 'none' for a seeded random "
                        "initialisation (default: none for every model)")
    p.add_argument("--data", required=True, help="digits, cifar10:PATH, or an ImageFolder tree / .tar / .tar.gz")
    g = p.add_argument_group("transform (default: torchvision weights' own, else the data's size and statistics)")
    g.add_argument("--resize", type=_side, help="scale the shorter side to this many pixels")
    g.add_argument("--crop", type=_side, help="then keep the centre crop x crop")
    g.add_argument("--mean", type=_floats, help="per-channel mean on the [0, 1] scale, e.g. 0.485,0.456,0.406")
    g.add_argument("--std", type=_floats, help="per-channel std on the [0, 1] scale")
    g = p.add_argument_group("probe")
    g.add_argument("--size", type=_positive, default=200, help="probe images (default 200)")
    g.add_argument("--draws", type=_positive, default=1, help="diffeomorphisms and noises per image (default 1)")
    g.add_argument("--seed", type=_at_least(0), default=0,
                   help="seed of the probe's images and perturbations (default 0)")
    g.add_argument("--delta", type=_positive_float, default=1.0,
                   help="diffeomorphism's nominal displacement, pixels (default 1)")
    g.add_argument("--cut", type=_at_least(2), default=3, help="diffeomorphism's highest mode c (default 3)")
    g.add_argument("--batch-size", type=_positive, default=None,
                   help="probe images per forward pass (default: passes of at most 64 images, 64 // (1 + 2 draws), "
                        "21 at one draw: the fastest on a CPU in float64; larger on a GPU)")
    g.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="model and sums (default float64)")
    g.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps, or auto: cuda when torch sees a GPU, "
                   "else cpu (default cpu)")
    g.add_argument("--layers", type=_names, action="extend", metavar="SEL[,SEL...]",
                   help="comma-separated module types (ReLU,Conv2d) or name patterns (layer?.0; * crosses dots); "
                        "default: the workflow's points")
    g.add_argument("--threads", type=_positive, help="torch threads (default: torch's; the last digits of float sums "
                   "depend on it, the workflow's rule uses 1)")
    g = p.add_argument_group("models")
    g.add_argument("--num-classes", type=_at_least(2),
                   help="outputs of the models: of a random initialisation, or the classes a weights file was "
                        "trained for (1000 for ImageNet weights; default: the data's classes)")
    g.add_argument("--model-seed", type=_at_least(0), default=0,
                   help="torch seed of random initialisations (default 0)")
    g.add_argument("--width-factor", type=_positive_float, default=1.0,
                   help="width of spatialpool:ARCH models (default 1)")
    g.add_argument("--state", default="best", help="state of a checkpoint:PATH (init, best, final, epoch<n>)")
    g.add_argument("--checkpoint-seed", type=_at_least(0), help="seed of a checkpoint:PATH (default: its first)")
    g = p.add_argument_group("outputs")
    g.add_argument("--out", default="spatialpool-measure", help="output folder (default spatialpool-measure)")
    g.add_argument("--formats", nargs="+", default=["png"], help="figure formats (default png)")
    g.add_argument("--correlations", action="store_true",
                   help="rho(probe error, D_f / G_f / R_f) across the models, with bootstrap intervals")
    g.add_argument("--bootstrap", type=_positive, default=2000,
                   help="bootstrap resamples of --correlations (default 2000)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def measure_to_folder(models: list[str], data: str, out: str | Path, weights: list | None = None,
                      transform: dict | None = None, probe: dict | None = None, layers: list[str] | None = None,
                      num_classes: int | None = None, model_seed: int = 0, width_factor: float = 1.0,
                      state: str = "best", checkpoint_seed: int | None = None, correlations: bool = False,
                      bootstrap: int = 2000, formats=("png",), progress: bool = True, log=None) -> dict:
    """Measure models on one probe set of one data source and write the command's files into `out`
    (module docstring); the command and the workflow's rule measure_models both call it.

    models / weights: model specs and, per model, a weights name or file or None (models/sources.py);
    data: a data source (data/sources.py); transform: {resize, crop, mean, std} (absent: the
    first model's weights' own, else the data's); probe: ProbeSettings' fields; layers: a point
    selection (measurement/any_model.py). `out`, the figure formats and every given value (counts,
    seeds, transform, probe settings, device) are checked before anything is loaded, and every
    model is loaded and checked against the data (its input shape and the point selection) before
    any is measured; nothing is written unless all succeed, and then the files land together,
    replacing those of an earlier run in `out` (a correlations.csv or sensitivities.<format> this
    run does not make is removed: the folder never mixes runs; other files are left alone; a
    folder this call made is removed again if it fails). Returns measure_models' dict (plus
    "correlations" when asked). Raises ValueError, FileNotFoundError or RuntimeError naming the
    bad input (by its command-line flag).
    """
    from spatialpool.data.sources import Transform, check_side, load_images
    from spatialpool.measurement.any_model import ProbeSettings, measure_models
    from spatialpool.measurement.any_model import correlations as correlation_table
    from spatialpool.models.sources import load_model

    log = log or (lambda m: print(m, file=sys.stderr))  # stdout stays free for the summary table
    out = Path(out)
    check_out(out)
    formats = list(formats)
    check_formats(formats)
    if num_classes is not None and num_classes < 2:
        raise ValueError(f"--num-classes must be >= 2, got {num_classes}")
    if not (math.isfinite(width_factor) and width_factor > 0):
        raise ValueError(f"--width-factor must be a finite number > 0, got {width_factor}")
    if model_seed < 0:
        raise ValueError(f"--model-seed must be >= 0, got {model_seed}")
    if correlations and bootstrap < 1:
        raise ValueError(f"--bootstrap must be >= 1, got {bootstrap}")
    if not models:
        raise ValueError("no model given: name at least one (torchvision:NAME, spatialpool:ARCH, ...)")
    weights = list(weights) if weights else [None] * len(models)
    if len(weights) != len(models):
        raise ValueError(f"--weights given {len(weights)} times for {len(models)} models; give it once per "
                         "model, in order ('none' for a random initialisation)")
    weights = [None if w in (None, "none", "None") else str(w) for w in weights]
    settings = ProbeSettings(**(probe or {}))
    given = {k: (tuple(v) if isinstance(v, list) else v) for k, v in (transform or {}).items() if v is not None}
    Transform(**given)  # the given transform's values, checked before any model or image is loaded

    def load(spec, w, classes, side=32):
        return load_model(spec, w, num_classes=classes if num_classes is None else num_classes, seed=model_seed, width_factor=width_factor,
                          state=state, checkpoint_seed=checkpoint_seed, input_size=side)

    # models with named weights first: their metadata may say which transform they expect
    loaded = [load(m, w, 10) if w is not None else None for m, w in zip(models, weights)]
    preset = next((m.transform for m in loaded if m is not None and m.transform), None)
    if preset and not given:
        given = preset
        log(f"transform from the weights' metadata: {preset}")
    transform_ = Transform(**given)
    splits = load_images(data, transform_, log=log)
    transform_.check_channels(int(splits.x_test.shape[1]))
    check_side(splits)
    side = int(splits.x_test.shape[-1])
    loaded = [m if m is not None else load(spec, None, len(splits.classes), side) for spec, m in zip(models, loaded)]
    result = measure_models(loaded, splits, settings, layers, progress=progress, log=log)
    if correlations:
        result["correlations"] = correlation_table(result["outputs"], seed=settings.seed, n_resamples=bootstrap)
    made_folders = [d for d in (out, *out.parents) if not d.exists()]  # deepest first
    out.mkdir(parents=True, exist_ok=True)
    # every file is made in a fresh folder inside `out`, then moved in: a failure leaves `out` as it was
    try:
        with tempfile.TemporaryDirectory(dir=out, prefix=".spatialpool-measure-") as tmp:
            tmp = Path(tmp)
            result["layers"].to_csv(tmp / "layers.csv", index=False)
            result["outputs"].to_csv(tmp / "outputs.csv", index=False)
            if correlations:
                result["correlations"].to_csv(tmp / "correlations.csv", index=False)
            (tmp / "probe.json").write_text(json.dumps(dict(result["probe"], data=data, transform=given,
                                                            models=list(models), weights=weights, layers=layers),
                                                       indent=1, default=str))
            from spatialpool.figures.any_model import figure_models
            figure_models(result["layers"], str(tmp / "sensitivities"), formats, title=result["layers"].probe.iloc[0])
            made = {f.name for f in tmp.iterdir()}
            # an earlier run's files that this run does not make: only the names this command writes
            figures = {f"sensitivities.{fmt}" for fmt in figure_formats()}
            stale = [f for f in out.iterdir() if f.is_file() and f.name not in made
                     and (f.name in OWNED or f.name in figures)]
            for f in stale:
                f.unlink()
            for name in sorted(made):
                os.replace(tmp / name, out / name)
    except BaseException:
        for folder in made_folders:  # the folders this call made, left empty by the failure
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    log(f"written: {out}/{', '.join(sorted(made))}" + (f"; removed an earlier run's {', '.join(f.name for f in stale)}"
                                                       if stale else ""))
    return result


def run_measure(args) -> dict:
    if args.threads is not None:
        import torch
        torch.set_num_threads(args.threads)
    transform = dict(resize=args.resize, crop=args.crop, mean=args.mean, std=args.std)
    probe = dict(size=args.size, draws=args.draws, seed=args.seed, delta=args.delta, cut=args.cut,
                 batch_size=args.batch_size, dtype=args.dtype, device=args.device)
    result = measure_to_folder(args.models, args.data, args.out, args.weights, transform, probe, args.layers,
                               args.num_classes, args.model_seed, args.width_factor, args.state, args.checkpoint_seed,
                               args.correlations, args.bootstrap, args.formats, progress=not args.no_progress)
    cols = ["model", "D_f", "G_f", "R_f", "probe_error", "points", "seconds"]
    print(result["outputs"][cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="spatialpool", description="Tools of the spatialpool reproduction.")
    sub = parser.add_subparsers(dest="command", required=True)
    measure_parser(sub)
    args = parser.parse_args(argv)
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m`: a builder module in the current folder imports
    try:
        run_measure(args)
    except (ValueError, FileNotFoundError, RuntimeError, KeyError) as err:
        print(f"spatialpool measure: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
