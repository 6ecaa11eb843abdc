"""Assembly of the tidy per-experiment tables that fitting, plotting and the scorecard read."""
from __future__ import annotations

import pandas as pd

# Which weights a measured state's filters come from.
FILTER_STATE = {"init": "init", "t_star": None, "final": "final", "mean_channel": "final"}


def collect_experiment(sensitivity: list[pd.DataFrame], receptive_field: list[pd.DataFrame],
                       mean_filters: list[pd.DataFrame], selection: pd.DataFrame,
                       theory: pd.DataFrame) -> pd.DataFrame:
    sens = pd.concat(sensitivity, ignore_index=True)
    sens = sens.merge(theory[["k", "A_theory"]], on="k", how="left")
    rf = pd.concat(receptive_field, ignore_index=True)
    sens = sens.merge(rf, on=["seed", "state", "k"], how="left")
    homog = pd.concat(mean_filters, ignore_index=True)[["seed", "stage", "k", "homogeneity"]]
    sens["filter_stage"] = sens.state.map(FILTER_STATE)
    sens = sens.merge(homog.rename(columns={"stage": "filter_stage"}), on=["seed", "filter_stage", "k"],
                      how="left").drop(columns="filter_stage")
    return sens.merge(selection[["seed", "selected", "test_error"]], on="seed", how="left")


def mean_filter_summary(tables: list[pd.DataFrame], experiment_names: list[str]) -> pd.DataFrame:
    """Tables C2/C3: the mean filter of every layer, averaged over seeds, before and after training."""
    t = pd.concat([t.assign(experiment=n) for n, t in zip(experiment_names, tables)], ignore_index=True)
    taps = [c for c in t.columns if c.startswith("w") and c[1:].isdigit()]
    agg = {c: "mean" for c in taps} | {"homogeneity": "mean", "seed": "nunique"}
    out = t.groupby(["experiment", "stage", "k"], sort=False).agg(agg).reset_index()
    out = out.rename(columns={"seed": "n_seeds", "homogeneity": "mean_seed_homogeneity"})
    return out
