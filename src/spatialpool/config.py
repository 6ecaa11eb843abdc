"""Configuration checks run before Snakemake builds the DAG.

The JSON schema (workflow/schemas/config.schema.yaml) checks types, ranges and names; the
checks below are the ones a schema cannot express (cross-references, a gap larger than the
scale, a probe set larger than the test set, ...). Every problem is reported with the
dotted config key it concerns, all at once, so a user fixes the file in one go.
"""
from __future__ import annotations

import re
from pathlib import Path


def schema_problems(config: dict, schema_path: str | Path) -> list[str]:
    import jsonschema  # here, not at the top: training jobs import this module for resume_settings
    import yaml
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        key = ".".join(named_path(config, err.absolute_path)) or "(top level)"
        hint = err.schema.get("description") if isinstance(err.schema, dict) else None
        problems.append(f"{key}: {err.message}" + (f" (expected: {hint})" if hint else "")
                        + (COMMAND_LINE_TEXT if _number_as_text(err) else ""))
    return problems


COMMAND_LINE_TEXT = ("; a number arriving as text is what Snakemake's --config makes of a nested value "
                     "(--config probe='{size: 5}' gives the string '5'): set nested keys in a --configfile")


def _number_as_text(err) -> bool:
    """Whether a schema error is a type error on a string that reads as a number or a boolean."""
    if err.validator != "type" or not isinstance(err.instance, str):
        return False
    if err.instance.strip().lower() in ("true", "false"):
        return True
    try:
        float(err.instance)
    except ValueError:
        return False
    return True


def named_path(config: dict, path) -> list[str]:
    """A path into the config with each grid index replaced by its entry's name (or arch), so that
    messages say experiments.task1_relu.net.width, not experiments.0.net.width."""
    out, node = [], config
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            node = None
        name = node.get("name", node.get("arch")) if isinstance(step, int) and isinstance(node, dict) else None
        out.append(str(name) if isinstance(name, str) else str(step))
    return out


def task_from_config(spec: dict):
    """The scale_detection.Task of a task's config entry."""
    from spatialpool.data.scale_detection import Task
    return Task(spec["kind"], spec["length"], spec["xi"], spec.get("gap", 0))


def class_counts(spec: dict) -> tuple[int, int]:
    """(positive, negative) pairs of a task's config entry, before balancing."""
    from spatialpool.data.scale_detection import class_counts as counts
    return counts(task_from_config(spec))


def n_test(spec: dict) -> int:
    return 2 * min(class_counts(spec)) - spec["n_train"]


GRIDS = ("tasks", "experiments")  # top-level lists of named entries (images: image_workflow.normalise)
PARTS = ("section2", "section3", "section4", "appendix_a", "appendix_b", "appendix_c")
# Top-level keys a config may leave out (the schema's `default:` of each; a test checks they agree).
# the schema's top-level defaults (tests/test_config.py checks that they agree)
DEFAULTS = {"results": "results", "logs": "logs", "parts": list(PARTS), "block_size": 4,
            "cifar10_source": None, "model_measurements": [], "resume": {"enabled": True, "dir": None, "interval_s": 300}}


def resume_settings(config: dict) -> dict:
    """The resume section with its defaults; dir null (the default) is <results>/.resume, so that a
    configuration with its own results folder keeps its training states there too."""
    resume = {**DEFAULTS["resume"], **(config.get("resume") or {})}
    if not resume["dir"]:
        resume["dir"] = f"{config.get('results') or DEFAULTS['results']}/.resume"
    return resume


def by_name(entries: list[dict], key: str = "name") -> dict[str, dict]:
    """[{name: a, ...}, ...] -> {a: {...}, ...}, in list order, the name key dropped."""
    return {e[key]: {k: v for k, v in e.items() if k != key} for e in entries}


def keyed(config: dict) -> dict:
    """A copy of the config with every grid keyed by name: tasks, experiments, and the images
    section as image_workflow.normalise returns it ({} when absent or null); DEFAULTS filled in.

    In the config file the grids are lists of entries with a `name`: Snakemake merges a
    --configfile into config.yaml key by key, so a grid written as a dict would add the default's
    entries to every other configuration, while a list replaces it.
    """
    from .image_workflow import normalise
    out = {**DEFAULTS, **config}
    for grid in GRIDS:
        out[grid] = by_name(config[grid])
    out["experiments"].update(swish_experiments(config))
    out["images"] = normalise(config.get("images"))
    out["resume"] = resume_settings(config)
    return out


def swish_name(experiment: str, beta: float) -> str:
    return f"{experiment}_swish{beta:g}"


def swish_experiments(config: dict) -> dict[str, dict]:
    """The swish experiment's trained nets (config key swish.trained), keyed by name: copies of
    swish.experiment with activation swish:<beta> and swish.trained.seeds, and `swish: beta` to
    mark them. They train and are measured like any experiment; the paper's tables, figures and
    scorecard leave them out (common.smk: EXPERIMENTS). {} without swish.trained."""
    sw = config.get("swish") or {}
    trained = sw.get("trained")
    base = next((e for e in config["experiments"] if e["name"] == sw.get("experiment")), None)
    if not trained or base is None:
        return {}
    fields = {k: v for k, v in base.items() if k != "name"}
    return {swish_name(base["name"], b): {**fields, "activation": f"swish:{b:g}", "seeds": list(trained["seeds"]),
                                          "swish": float(b)} for b in trained["betas"]}


def duplicate_names(config: dict) -> list[str]:
    """A name used twice in a grid: each grid entry must be addressable by its name."""
    out = []
    lists = [(g, config.get(g) or []) for g in GRIDS] + [("model_measurements", config.get("model_measurements") or [])]
    if config.get("images"):
        lists += [("images.datasets", config["images"].get("datasets") or []),
                  ("images.groups", config["images"].get("groups") or [])]
    for key, entries in lists:
        names = [e.get("name") for e in entries]
        for n in sorted({n for n in names if names.count(n) > 1}):
            out.append(f"{key}: the name '{n}' is used by {names.count(n)} entries")
    written = {e.get("name") for e in config.get("experiments") or []}
    for n in sorted(written & set(swish_experiments(config))):
        out.append(f"experiments: the name '{n}' is the swish experiment's trained nets' (swish.trained); rename it")
    return out


def semantic_problems(config: dict) -> list[str]:
    """Checks of the keyed config (see keyed()) that the schema cannot express."""
    out = []
    tasks = config["tasks"]
    for name, t in tasks.items():
        key = f"tasks.{name}"
        if t["kind"] == "distance":
            if "gap" not in t:
                out.append(f"{key}.gap: required for a 'distance' task")
                continue
            if t["gap"] > t["xi"]:
                out.append(f"{key}.gap: {t['gap']} is larger than the scale xi = {t['xi']}; "
                           "allowed: 0 <= gap <= xi")
                continue
            if t["xi"] + t["gap"] / 2 > t["length"] // 2:
                out.append(f"{key}.xi: xi + gap/2 = {t['xi'] + t['gap'] / 2} exceeds the largest periodic "
                           f"distance {t['length'] // 2}, so there are no -1 examples")
                continue
        elif t["length"] % t["xi"] or t["xi"] >= t["length"]:
            out.append(f"{key}.xi: must divide length = {t['length']} into at least two patches")
            continue
        pos, neg = class_counts(t)
        if min(pos, neg) == 0:
            out.append(f"{key}: one class is empty ({pos} positive, {neg} negative pairs)")
        elif t["n_train"] >= 2 * min(pos, neg):
            out.append(f"{key}.n_train: {t['n_train']} leaves no test data; the balanced data set "
                       f"has {2 * min(pos, neg)} pairs")
        elif config["probe"]["size"] > n_test(t):
            out.append(f"probe.size: {config['probe']['size']} is larger than the test set of task "
                       f"'{name}' ({n_test(t)} pairs); the probe set is drawn from the test set")

    for name, e in config["experiments"].items():
        key = f"experiments.{name}"
        if "swish" in e:
            continue  # a swish copy (swish_experiments) would repeat its experiment's problems
        if e["task"] not in tasks:
            out.append(f"{key}.task: unknown task '{e['task']}'; allowed: {sorted(tasks)}")
            continue
        net, t = e["net"], tasks[e["task"]]
        if net["stride"] not in (1, net["filter_size"]):
            out.append(f"{key}.net.stride: {net['stride']}; allowed: 1 or the filter size {net['filter_size']}")
        elif net["stride"] > 1 and t["length"] % net["stride"] ** net["depth"]:
            out.append(f"{key}.net.depth: {net['depth']} layers of stride {net['stride']} need a length "
                       f"divisible by {net['stride'] ** net['depth']}, task '{e['task']}' has {t['length']}")
        if e["train"].get("anneal_fraction", 0) > 0 and e["train"]["stop"] != "decay_times":
            out.append(f"{key}.train.anneal_fraction: a learning-rate warm-down needs the stop step known "
                       f"in advance, i.e. stop: decay_times (got stop: {e['train']['stop']})")
        for m, (lo, hi) in e["fit"].items():
            if not lo < hi <= net["depth"]:
                out.append(f"{key}.fit.{m}: need k_min < k_max <= depth = {net['depth']}, got [{lo}, {hi}]")
            elif hi - lo + 1 < config["fits"]["min_layers"]:
                out.append(f"{key}.fit.{m}: the window [{lo}, {hi}] has {hi - lo + 1} layers, fewer than "
                           f"fits.min_layers = {config['fits']['min_layers']}: the window scan would never fit it")

    # Figure references to experiments the config lacks are not errors: a --configfile that replaces
    # the experiment grid leaves the default's references behind. Figure 7 then shows the listed
    # experiments it has, and appendix B is left out of the default target (common.smk says so).
    exps = config["experiments"]
    for act, name in config["figures"]["appendix_b"].items():
        if name in exps and exps[name]["activation"] != act:
            out.append(f"figures.appendix_b.{act}: experiment '{name}' uses {exps[name]['activation']}")

    sw = config.get("swish") or {}
    # Without its experiment the swish experiment is left out (common.smk), as a figure's
    # reference is: a --configfile that replaces the experiment grid must still run.
    if sw.get("trained") and sw["experiment"] in exps:
        if exps[sw["experiment"]]["activation"] != "relu":
            out.append(f"swish.experiment: trained swish nets are compared with its ReLU nets, but "
                       f"'{sw['experiment']}' uses {exps[sw['experiment']]['activation']}")
        missing = sorted(set(sw["trained"]["betas"]) - set(sw["betas"]))
        if missing:
            out.append(f"swish.trained.betas: {missing} not in swish.betas (the theory's betas): "
                       f"the trained nets are judged against the homogeneous network at the same betas")

    a = config["appendix_a"]
    deepest = max(list(a["depths"]) + list(a.get("plot_depths", [])))
    widest = deepest * (max(a["filter_sizes"]) - 1)
    if widest >= a["length"] // 2:
        out.append(f"appendix_a.length: {a['length']} is too short; the exact profile at depth "
                   f"{deepest} spreads over {widest} sites and would wrap around (need > {2 * widest})")
    for i, entry in enumerate(config.get("model_measurements") or []):
        out += model_measurement_problems(entry, f"model_measurements.{entry.get('name', i)}")
    return out


MODEL_KINDS = ("torchvision", "spatialpool", "checkpoint")


def model_measurement_problems(entry: dict, key: str) -> list[str]:
    """What can be checked of a model_measurements entry without torch: the model specs' form, this
    project's architecture names, one weights value per model. Files it names (data, checkpoints,
    weights files) are the rule's inputs, so Snakemake reports a missing one before any job runs."""
    from spatialpool.models.registry import image_architectures
    out = []
    models, weights = entry["models"], entry.get("weights")
    if weights is not None and len(weights) != len(models):
        out.append(f"{key}.weights: {len(weights)} values for {len(models)} models (one per model; null: random init)")
        weights = None
    for i, spec in enumerate(models):
        kind, sep, rest = spec.partition(":")
        w = weights[i] if weights else None
        if not sep or not rest:
            out.append(f"{key}.models[{i}]: '{spec}'; expected torchvision:NAME, spatialpool:ARCH, checkpoint:PATH "
                       "or package.module:function")
        elif kind == "spatialpool":
            if rest not in image_architectures():
                out.append(f"{key}.models[{i}]: unknown architecture '{rest}'; allowed: {sorted(image_architectures())}")
            if w is not None:
                out.append(f"{key}.weights[{i}]: spatialpool:{rest} is randomly initialised (null); give a workflow "
                           "checkpoint as checkpoint:PATH")
        elif kind == "checkpoint" and w is not None:
            out.append(f"{key}.weights[{i}]: a checkpoint holds its own weights (null)")
        elif kind not in MODEL_KINDS and not re.fullmatch(r"[A-Za-z_][\w.]*", kind):
            out.append(f"{key}.models[{i}]: '{kind}' is neither torchvision, spatialpool, checkpoint nor a module path")
    data = entry["data"]
    if data.startswith("cifar10:") and not data.removeprefix("cifar10:"):
        out.append(f"{key}.data: cifar10: needs a path (cifar10:PATH)")
    return out


def model_measurement_files(entry: dict) -> list[str]:
    """The local files a model_measurements entry reads: its data folder or archive (not 'digits'),
    checkpoint:PATH files and weights files (any weights of a builder, .pt/.pth of torchvision)."""
    data = entry["data"]
    files = [] if data == "digits" else [data.removeprefix("cifar10:")]
    weights = entry.get("weights") or [None] * len(entry["models"])
    for spec, w in zip(entry["models"], weights):
        kind, _, rest = spec.partition(":")
        if kind == "checkpoint":
            files.append(rest)
        elif w is not None and (kind != "torchvision" or Path(w).suffix in (".pt", ".pth")):
            files.append(w)
    return files


def problems(config: dict, schema_path: str | Path) -> list[str]:
    """Every problem of a config as written (grids as lists), each naming its dotted key."""
    found = schema_problems(config, schema_path) or duplicate_names(config)
    return found or semantic_problems(keyed(config))


def format_problems(found: list[str]) -> str:
    return "Invalid configuration (nothing was run):\n" + "\n".join(f"  - {p}" for p in found)
