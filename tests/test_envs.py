"""pyproject.toml and the conda environment declare the same dependencies with the same versions."""
import tomllib

import yaml
from packaging.requirements import Requirement

from conftest import ROOT


def _reqs(lines):
    return {r.name.lower(): r.specifier for r in map(Requirement, lines)}


def test_conda_env_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _reqs(project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "envs/spatialpool.yaml").read_text())["dependencies"]
    conda = [d for d in env if isinstance(d, str) and not d.startswith(("python", "pip"))]
    pip = [d for d in next(d["pip"] for d in env if isinstance(d, dict)) if not d.startswith("-e")]
    in_env = _reqs(conda + pip)
    assert in_env == declared


def test_torch_and_torchvision_are_a_matching_pair():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = _reqs(project["dependencies"])
    # torchvision 0.N goes with torch 2.(N - 15): 0.29 with 2.14
    assert "2.14.1" in reqs["torch"] and "2.15.0" not in reqs["torch"]
    assert "0.29.2" in reqs["torchvision"] and "0.30.0" not in reqs["torchvision"]


def _base_dependencies() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(_reqs(project["dependencies"]))


def test_reproduce_command_needs_no_test_extra():
    """The README's reproduce command installs the base dependencies only (`pip install -e .`):
    everything the rule scripts and the package import, and everything `snakemake --report`
    needs (snakemake's 'reports' extra), must be among them, not only pulled in by pytest."""
    import ast
    import importlib.metadata as md
    import sys

    base = _base_dependencies()
    reports = {Requirement(r).name.lower() for r in md.requires("snakemake")
               if Requirement(r).marker and Requirement(r).marker.evaluate({"extra": "reports"})}
    assert reports and reports <= base, f"snakemake --report needs {reports - base}"
    dists = md.packages_distributions()
    imported = set()
    for path in [*(ROOT / "src/spatialpool").rglob("*.py"), *(ROOT / "workflow/scripts").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in sys.stdlib_module_names and m not in ("spatialpool", "snakemake")}
    missing = {m: dists.get(m) for m in third_party
               if not {d.lower() for d in dists.get(m, [m])} & base}
    assert not missing, f"imported but not a base dependency in pyproject.toml: {missing}"
