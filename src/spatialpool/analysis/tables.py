"""Assembly of the tidy per-experiment tables that fitting, plotting and the scorecard read."""
from __future__ import annotations

import numpy as np
import pandas as pd

# Which weights a measured state's filters come from: channel_mean (a) averages the trained net's
# representation and mean_channel (b) is built from the trained filters, so both are "final";
# their init_ controls are made from the initial ones.
FILTER_STATE = {"init": "init", "t_star": None, "final": "final", "channel_mean": "final",
                "mean_channel": "final", "init_channel_mean": "init", "init_mean_channel": "init"}


def is_defined(table: pd.DataFrame) -> pd.Series:
    """Per row (seed, state, k): whether the sensitivity is defined (the representation varies over
    the probe set beyond round-off). Uses measure.py's `defined` column; tables without it (older
    runs) fall back to finite delta > 0 and finite D (the estimator's NaN). Undefined = "dead"."""
    ok = np.isfinite(table["delta"]) & (table["delta"] > 0) & np.isfinite(table["D"])
    if "defined" in table:  # bool, or after a merge / CSV round trip with gaps: 1.0, "True", NaN
        ok &= table["defined"].isin([True, "True", "true"])
    return pd.Series(ok, index=table.index, name="defined")


def undefined_counts(collected: pd.DataFrame, selected_only: bool = True) -> pd.DataFrame:
    """Tidy (state, k, n_seeds, n_undefined, n_defined), per experiment when the table has one.

    collected: a collected table (or per-seed sensitivity tables concatenated). With
    selected_only and a `selected` column, only the selected seeds count, as in the fits and
    figures. A seed counts once per (state, k).
    """
    t = collected[collected["selected"].astype(bool)] if selected_only and "selected" in collected else collected
    t = t.assign(undefined=~is_defined(t))
    keys = (["experiment"] if "experiment" in t else []) + ["state", "k"]
    per_seed = t.groupby(keys + ["seed"], sort=False).undefined.any().reset_index()
    out = per_seed.groupby(keys, sort=False).agg(n_seeds=("seed", "nunique"),
                                                 n_undefined=("undefined", "sum")).reset_index()
    out["n_undefined"] = out.n_undefined.astype(int)
    out["n_defined"] = out.n_seeds - out.n_undefined
    return out


def collect_experiment(sensitivity: list[pd.DataFrame], receptive_field: list[pd.DataFrame],
                       mean_filters: list[pd.DataFrame], selection: pd.DataFrame,
                       theory: pd.DataFrame) -> pd.DataFrame:
    sens = pd.concat(sensitivity, ignore_index=True)
    sens = sens.merge(theory[["k", "A_theory"]], on="k", how="left")
    rf = pd.concat(receptive_field, ignore_index=True)
    sens = sens.merge(rf, on=["seed", "state", "k"], how="left")
    homog = pd.concat(mean_filters, ignore_index=True)[["seed", "state", "k", "homogeneity"]]
    unknown = set(sens.state) - set(FILTER_STATE)
    if unknown:
        raise ValueError(f"states {sorted(unknown)} have no filter state in tables.FILTER_STATE")
    sens["filter_state"] = sens.state.map(FILTER_STATE)
    sens = sens.merge(homog.rename(columns={"state": "filter_state"}), on=["seed", "filter_state", "k"],
                      how="left").drop(columns="filter_state")
    return sens.merge(selection[["seed", "selected", "test_error"]], on="seed", how="left")


def mean_filter_summary(tables: list[pd.DataFrame], experiment_names: list[str]) -> pd.DataFrame:
    """Tables C2/C3: the mean filter of every layer, averaged over seeds, before and after training."""
    t = pd.concat([t.assign(experiment=n) for n, t in zip(experiment_names, tables)], ignore_index=True)
    taps = [c for c in t.columns if c.startswith("w") and c[1:].isdigit()]
    agg = {c: "mean" for c in taps} | {"homogeneity": "mean", "seed": "nunique"}
    out = t.groupby(["experiment", "state", "k"], sort=False).agg(agg).reset_index()
    out = out.rename(columns={"seed": "n_seeds", "homogeneity": "mean_seed_homogeneity"})
    return out
