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
