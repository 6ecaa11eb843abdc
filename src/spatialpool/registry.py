"""The one registry class behind the workflow's three registries: architectures
(models/registry.py), data set kinds (data/kinds.py) and perturbations (perturbations/registry.py).

Imports nothing heavy: Snakemake reads the registries while it parses the rule files.
"""
from __future__ import annotations


class Registry(dict):
    """Name -> declaration, for the workflow's three registries (architectures here, data set kinds
    in datasets.py, perturbations in perturbations.py). A name is a path component and a table
    key, so registering it twice is an error; looking up an unknown one names the known ones."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def add(self, name: str, item):
        """Register item under name; ValueError if the name is taken."""
        if name in self:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self[name] = item
        return item

    def lookup(self, name: str):
        """The item registered under name; KeyError naming the registered ones if there is none."""
        if name not in self:
            raise KeyError(f"unknown {self.what} {name!r}: expected one of {sorted(self)}")
        return self[name]
