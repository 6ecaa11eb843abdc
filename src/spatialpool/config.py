"""Configuration checks run before Snakemake builds the DAG.

The JSON schema (workflow/schemas/config.schema.yaml) checks types, ranges and names; the
checks below are the ones a schema cannot express (cross-references, a gap larger than the
scale, a probe set larger than the test set, ...). Every problem is reported with the
dotted config key it concerns, all at once, so a user fixes the file in one go.
"""
from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

from .scale_detection import Task, class_counts


def schema_problems(config: dict, schema_path: str | Path) -> list[str]:
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        key = ".".join(map(str, err.absolute_path)) or "(top level)"
        hint = err.schema.get("description") if isinstance(err.schema, dict) else None
        problems.append(f"{key}: {err.message}" + (f" (expected: {hint})" if hint else ""))
    return problems


def task_from_config(spec: dict) -> Task:
    return Task(spec["kind"], spec["length"], spec["xi"], spec.get("gap", 0))


def n_test(spec: dict) -> int:
    return 2 * min(class_counts(task_from_config(spec))) - spec["n_train"]


def semantic_problems(config: dict) -> list[str]:
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
        pos, neg = class_counts(task_from_config(t))
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

    exps = config["experiments"]
    for i, name in enumerate(config["figures"]["fig7"]):
        if name not in exps:
            out.append(f"figures.fig7[{i}]: unknown experiment '{name}'; allowed: {sorted(exps)}")
    for act, name in config["figures"]["appendix_b"].items():
        if name not in exps:
            out.append(f"figures.appendix_b.{act}: unknown experiment '{name}'; allowed: {sorted(exps)}")
        elif exps[name]["activation"] != act:
            out.append(f"figures.appendix_b.{act}: experiment '{name}' uses {exps[name]['activation']}")

    a = config["appendix_a"]
    widest = max(a["depths"]) * (max(a["filter_sizes"]) - 1)
    if widest >= a["length"] // 2:
        out.append(f"appendix_a.length: {a['length']} is too short; the exact profile at depth "
                   f"{max(a['depths'])} spreads over {widest} sites and would wrap around (need > {2 * widest})")
    return out


def problems(config: dict, schema_path: str | Path) -> list[str]:
    found = schema_problems(config, schema_path)
    return found or semantic_problems(config)


def format_problems(found: list[str]) -> str:
    return "Invalid configuration (nothing was run):\n" + "\n".join(f"  - {p}" for p in found)
