"""Scorecard rows for the real-image claims (paper sec. 2-3, app. C), computed from the run's tables.

Every row applies one criterion to the data and to a control where the claim should not hold
(claims.py gives the verdict). Per (group, architecture) at noise 0, seeds pooled (geometric means
of R, i.e. log R averaged; shuffled nets: over permutations, then seeds), or per (group, noise
level) across architectures. n: seeds (architectures) entering; n_min: `min_seeds`
(`min_architectures`) of images.scorecard; ci: the range over seeds (bootstrap interval for rho).

1. R_k falls with depth after training and not at initialisation (figs 3, C2, C4).
   C(X) = R_K / R_0 of nets X below `fall_factor`. Data: trained nets, which must also be below
   `init_gap` x their init value. Control: the init nets (a seeded random init for ImageNet).
   effect: log10(R_K / R_0), trained.
2. Channel shuffling (m = mean over layers 1..K of log(R_k / R_0); f(X) = (m_X - m_trained) /
   (0 - m_trained): the fraction of the trained nets' fall from flat that nets X undo; 0 = X is
   the trained net, 1 = X is flat). Gate: the trained R_k must fall, exp(m_trained) <
   `shuffle_gate`; otherwise f is a ratio of noise (or of a rise) and the claim is 'not tested'.
   - Sec. 2 (natural images): "shuffled-channel R_k lies between the original and flat": both
     spatial and channel pooling operate. C(f) = `shuffle_margin` <= f <= 1 - `shuffle_margin`.
     Control: the identity 'shuffle' (f = 0: pure spatial pooling; rejected whenever the margin
     is > 0) and the init nets in place of the shuffled ones (if random nets lie between as well,
     lying between says nothing); the control passes if C passes on either.
   - Sec. 3 (2D scale detection): "shuffled-channel R_k is essentially unaltered": channel pooling
     negligible. C(f) = |f| <= `unaltered_tolerance`. Control: the init nets in place of the
     shuffled ones (if random nets fall like trained ones, 'unaltered' is not evidence of
     anything) and the flat curve (f = 1, rejected whenever the tolerance is < 1).
   effect: (m_shuffled - m_trained) / ln 10, the mean shift of log10 R_k due to shuffling.
3. Filters of middle layers become low-frequency (figs 4, C5-C7), conv layers with relative
   depth in `middle` of nets with >= 3 conv layers. C(X; ref) = fig. C5 aggregate of X <
   (1 - `low_frequency_margin`) x ref AND constant-mode share >= `constant_enrichment` x its
   i.i.d. value 1/F^2 AND the share of the `low_modes` lowest Laplacian eigenvalues >=
   `low_enrichment` x its i.i.d. value (multiplicities / F^2). Data: trained filters, ref = their
   init aggregate. Control: the init filters, ref = 1 (the i.i.d. aggregate). effect: constant-mode
   share of the trained filters in units of 1/F^2.
4. rho(eps, D_f) > 0, rho(eps, G_f) < 0, rho(eps, R_f) > 0 and the strongest of the three (figs 1
   right, C1, C3), per noise level, over the architectures that learned (correlations.py; the
   others are listed in the criterion). Data: the sign (and for R_f, rho_R >= max(|rho_D|,
   |rho_G|)). Control: random pairings of errors and sensitivities (permutation null, exact for
   <= 8 architectures); it 'passes' when they reach the observed rho in the claimed direction
   with probability >= `alpha`. So 'reproduced' = right sign and one-sided permutation p < alpha;
   right sign with p >= alpha = 'uninformative'. effect: rho. With 4 architectures the smallest p
   is 1/24, hence `min_architectures`.
5. "R_f is learned over training" (sec. 2: the loss of relative sensitivity "is learned over
   training, as it is not seen at initialization"), per (group, architecture) whose training
   records a trajectory, at noise 0: along the trajectory (init and the recorded epochs; seed
   means, analysis/trajectory.py), rho(log eps, log R_f) > 0: R_f falls as the test error falls.
   Control: random pairings of the trajectory's errors and R_f (permutation null, exact for <= 8
   points); it 'passes' when they reach the observed rho upwards with probability >= `alpha`.
   n: trajectory points, n_min: `min_trajectory_points`. effect: R_f / R_f(init) at the last
   recorded epoch (ci: its range over seeds is not kept; the row gives the seed mean).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from spatialpool.analysis.correlations import log_correlation, permutation_p
from spatialpool.claims import statistics as claims

MIN_CONVS = 3  # the filter claim needs a first, a middle and a last conv layer
COLUMNS = claims.COLUMNS
BETWEEN = "shuffled-channel R_k lies between the original and flat"
UNALTERED = "shuffled-channel R_k is essentially unaltered (channel pooling negligible)"
FALLS = "R_k falls with depth after training and not at initialisation"
LOW_FREQUENCY = "filters of middle layers become low-frequency"
LEARNED = "R_f is learned over training: it falls as the test error falls"


def _range(values) -> tuple[float, float]:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return (float(v.min()), float(v.max())) if len(v) else (np.nan, np.nan)


def _finite(*values) -> bool:
    return all(np.isfinite(v) for v in values)


def conv_archs(layers: pd.DataFrame) -> list[str]:
    """Architectures with a shuffled state, i.e. with convolutions, in table order."""
    return list(dict.fromkeys(layers[layers.state == "shuffled"].arch))


def curve_stats(layers: pd.DataFrame, arch: str, state: str) -> pd.DataFrame:
    """Per seed: log_out = log(R_K / R_0) and m = mean over layers 1..K of log(R_k / R_0).

    Shuffled nets: per permutation, then averaged over a seed's permutations (in log)."""
    t = layers[(layers.arch == arch) & (layers.state == state)]
    keys = ["seed", "shuffle"] if state == "shuffled" and "shuffle" in t else ["seed"]
    rows = []
    for key, g in t.groupby(keys, sort=True, dropna=False):
        r0 = g[g.kind == "input"].R.mean()
        out = g[g.name == "output"].R.to_numpy(float)[:1] / r0
        ratios = g[g.is_layer.astype(bool) & (g.kind != "input")].R.to_numpy(float) / r0
        ok = np.isfinite(ratios) & (ratios > 0)
        rows.append(dict(seed=key[0] if isinstance(key, tuple) else key,
                         log_out=float(np.log(out[0])) if len(out) and np.isfinite(out[0]) and out[0] > 0 else np.nan,
                         m=float(np.log(ratios[ok]).mean()) if ok.all() and len(ratios) else np.nan))
    if not rows:
        return pd.DataFrame(columns=["log_out", "m"], index=pd.Index([], name="seed"))
    return pd.DataFrame(rows).groupby("seed")[["log_out", "m"]].agg(lambda v: v.mean(skipna=False))


# --------------------------------------------------------------------------- claims 1 and 2


def fall_row(group: str, section: str, arch: str, trained: pd.DataFrame, init: pd.DataFrame, tol: dict,
             n_min: int) -> dict:
    fall, gap = tol["fall_factor"], tol["init_gap"]
    t, i = trained.log_out.dropna(), init.log_out.dropna()
    seeds = t.index.intersection(i.index)
    n = len(seeds)
    tr = float(np.exp(t[seeds].mean())) if n else np.nan
    ini = float(np.exp(i[seeds].mean())) if n else np.nan
    passed = _finite(tr, ini) and tr < fall and tr < gap * ini
    control = bool(ini < fall) if np.isfinite(ini) else None
    return claims.row(
        section, FALLS, f"{group}/{arch}", f"R_K/R_0 < {fall:g} and < {gap:g} x init", tr, passed,
        control=f"the init nets: R_K/R_0 at init < {fall:g} (must fail)", control_measured=ini,
        control_passed=control, ci=_range(np.exp(t[seeds])), n=n, n_min=n_min,
        effect=float(np.log10(tr)) if np.isfinite(tr) and tr > 0 else np.nan,
        criterion=f"C(X): R at the output over R at the input of nets X < {fall:g} (geometric mean over "
                  f"{n} seeds; ci: range over seeds); data: trained nets, also < {gap:g} x init")


def shuffle_row(group: str, section: str, arch: str, trained: pd.DataFrame, init: pd.DataFrame,
                shuffled: pd.DataFrame, tol: dict, n_min: int, scale_detection: bool) -> dict:
    t, s = trained.m.dropna(), shuffled.m.dropna()
    seeds = t.index.intersection(s.index)
    n = len(seeds)
    m_t = float(t[seeds].mean()) if n else np.nan
    m_s = float(s[seeds].mean()) if n else np.nan
    i = init.m.dropna()
    init_seeds = seeds.intersection(i.index)
    m_i = float(i[init_seeds].mean()) if len(init_seeds) else np.nan

    def fraction(m_x, m_ref=m_t):
        return (m_x - m_ref) / (0.0 - m_ref) if _finite(m_x, m_ref) and m_ref != 0 else np.nan

    frac, frac_init = fraction(m_s), fraction(m_i)
    per_seed = [fraction(s[k], t[k]) for k in seeds]
    gate_value = tol["shuffle_gate"]
    gate = "" if np.isfinite(m_t) and np.exp(m_t) < gate_value else (
        f"the trained R_k does not fall: exp(mean_k log(R_k/R_0)) = {np.exp(m_t):.3g} >= {gate_value:g}, "
        f"so the fraction undone by shuffling is undefined")
    base = (f"f(X) = (m_X - m_trained) / (0 - m_trained), m = mean over layers 1..K of log(R_k/R_0) "
            f"(trained {m_t:.3g}, shuffled {m_s:.3g}, init {m_i:.3g}; mean over {n} seeds, ci: range); "
            f"gate: exp(m_trained) < {gate_value:g}")
    if scale_detection:
        tol_u = tol["unaltered_tolerance"]

        def crit(f):
            return bool(np.isfinite(f) and abs(f) <= tol_u)

        claim, paper = UNALTERED, f"|fraction undone| <= {tol_u:g}"
        control_text = ("the init nets in place of the shuffled ones (f_init, must fail) and the flat curve "
                        "(f = 1, fails for tolerance < 1)")
        control_passed = crit(frac_init) or crit(1.0)
        criterion = f"C(f) = |f| <= {tol_u:g}; {base}"
    else:
        margin = tol["shuffle_margin"]

        def crit(f):
            return bool(np.isfinite(f) and margin <= f <= 1 - margin)

        claim, paper = BETWEEN, f"{margin:g} <= fraction undone <= {1 - margin:g} (both kinds of pooling)"
        control_text = ("the identity shuffle (f = 0, pure spatial pooling: fails for margin > 0) and the "
                        "init nets in place of the shuffled ones (f_init); must both fail")
        control_passed = crit(0.0) or crit(frac_init)
        criterion = f"C(f) = {margin:g} <= f <= {1 - margin:g}; {base}"
    return claims.row(section, claim, f"{group}/{arch}", paper, frac, crit(frac), control=control_text,
                      control_measured=frac_init, control_passed=control_passed, criterion=criterion,
                      ci=_range(per_seed), n=n, n_min=n_min,
                      effect=(m_s - m_t) / np.log(10) if _finite(m_s, m_t) else np.nan, gate=gate)


def depth_rows(group: str, section: str, layers: pd.DataFrame, tol: dict, noise: str | float = 0,
               scale_detection: bool = False, n_min: int | None = None) -> list[dict]:
    """Claims 1 and 2 for every conv architecture of one group at one noise level."""
    n_min = tol["min_seeds"] if n_min is None else n_min
    layers = layers[layers.noise.astype(float) == float(noise)]
    rows = []
    for arch in conv_archs(layers):
        tr, ini, sh = (curve_stats(layers, arch, s) for s in ("best", "init", "shuffled"))
        rows.append(fall_row(group, section, arch, tr, ini, tol, n_min))
        rows.append(shuffle_row(group, section, arch, tr, ini, sh, tol, n_min, scale_detection))
    return rows


# --------------------------------------------------------------------------- claim 3


def mode_enrichment(spectra: pd.DataFrame, low_modes: int) -> pd.DataFrame:
    """Per (arch, seed, state, k): constant-mode and lowest-`low_modes`-eigenvalue shares, each in
    units of its i.i.d. value (multiplicities / F^2): 1 for i.i.d. filters."""
    rows = []
    for key, g in spectra.groupby(["arch", "seed", "state", "k"], sort=False):
        g = g.sort_values("eigenvalue")
        n_taps = g.multiplicity.sum()
        low = g.iloc[:low_modes]
        rows.append(dict(zip(["arch", "seed", "state", "k"], key),
                         constant=float(g.share.iloc[0] / (g.multiplicity.iloc[0] / n_taps)),
                         low=float(low.share.sum() / (low.multiplicity.sum() / n_taps))))
    return pd.DataFrame(rows, columns=["arch", "seed", "state", "k", "constant", "low"])


def spectra_rows(group: str, section: str, aggregates: pd.DataFrame, tol: dict, noise: str | float = 0,
                 spectra: pd.DataFrame | None = None, n_min: int | None = None) -> list[dict]:
    """Claim 3 for every architecture with >= 3 conv layers (the others have no middle layers)."""
    n_min = tol["min_seeds"] if n_min is None else n_min
    lo, hi = tol["middle"]
    margin, ce, le, low_modes = (tol["low_frequency_margin"], tol["constant_enrichment"], tol["low_enrichment"],
                                 tol["low_modes"])

    def at_noise(t):
        return t[t.noise.astype(float) == float(noise)] if "noise" in t else t

    a = at_noise(aggregates)
    enrich = mode_enrichment(at_noise(spectra), low_modes) if spectra is not None and len(spectra) else None
    rows = []
    for arch, g in a.groupby("arch", sort=False):
        mid = g[(g.rel_depth > lo) & (g.rel_depth <= hi)]
        if mid.empty or g.n_convs.max() < MIN_CONVS:
            continue
        ks = sorted(mid.k.unique())
        stats = {"aggregate": mid.groupby(["seed", "state"]).aggregate_frequency.mean().unstack("state")}
        if enrich is not None:
            e = enrich[(enrich.arch == arch) & enrich.k.isin(ks)].groupby(["seed", "state"])[["constant", "low"]].mean()
            stats.update(constant=e.constant.unstack("state"), low=e.low.unstack("state"))
        per_seed = pd.concat(stats, axis=1).reindex(
            columns=pd.MultiIndex.from_product([list(stats), ["init", "best"]])).dropna()  # seeds with all
        n = len(per_seed)
        mean = per_seed.mean() if n else pd.Series(np.nan, index=per_seed.columns)
        a_t, a_i = mean[("aggregate", "best")], mean[("aggregate", "init")]
        c_t, c_i, l_t, l_i = ((mean[(c, s)] if c in stats else np.nan) for c in ("constant", "low")
                              for s in ("best", "init"))

        def crit(a_x, c_x, l_x, ref):
            return bool(_finite(a_x, c_x, l_x, ref) and a_x < (1 - margin) * ref and c_x >= ce and l_x >= le)

        gate = "" if enrich is not None else "no filter spectra table: the mode shares cannot be measured"
        rows.append(claims.row(
            section, LOW_FREQUENCY, f"{group}/{arch}",
            f"aggregate < (1 - {margin:g}) x init; constant mode >= {ce:g}/F^2; lowest {low_modes} eigenvalues "
            f">= {le:g} x i.i.d.", a_t, crit(a_t, c_t, l_t, a_i),
            control=f"the init filters, reference 1 (i.i.d.): must fail (init: aggregate {a_i:.3g}, constant "
                    f"mode {c_i:.3g}/F^2, lowest {low_modes} eigenvalues {l_i:.3g} x i.i.d.)",
            control_measured=a_i, control_passed=crit(a_i, c_i, l_i, 1.0) if _finite(a_i, c_i, l_i) else None,
            criterion=f"C(X; ref): fig. C5 aggregate of X < (1 - {margin:g}) ref AND constant-mode share of X >= "
                      f"{ce:g} x 1/F^2 AND share of the {low_modes} lowest Laplacian eigenvalues >= {le:g} x its "
                      f"i.i.d. value; trained: aggregate {a_t:.3g} (init {a_i:.3g}), constant mode {c_t:.3g}/F^2, "
                      f"lowest modes {l_t:.3g} x i.i.d.; mean over conv layers k = {ks[0]}..{ks[-1]} of "
                      f"{int(g.n_convs.max())} (relative depth in ({lo:g}, {hi:g}]) and {n} seeds; "
                      f"1 = i.i.d., aggregate 0 = constant filters; ci: range of the aggregate over seeds",
            ci=_range(per_seed[("aggregate", "best")]), n=n, n_min=n_min, effect=c_t, gate=gate))
    return rows


# --------------------------------------------------------------------------- claim 4


def correlation_rows(group: str, section: str, correlations: pd.DataFrame, tol: dict) -> list[dict]:
    """Claim 4 per noise level, from a correlations.correlation_table."""
    alpha, n_min = tol["alpha"], tol["min_architectures"]
    rows = []
    for noise, g in correlations.groupby("noise", sort=True):
        r = g.set_index("measure")

        def get(m, col, default=np.nan):
            return r[col].get(m, default) if col in r else default

        rho = {m: float(get(m, "rho")) for m in ("D_f", "G_f", "R_f")}
        excluded = next((x for x in r.get("excluded", pd.Series(dtype=object)) if isinstance(x, str) and x), "")
        where = f"{group}, noise {noise:g}"

        def one(measure, claim, paper, passed_data, direction):
            p = float(get(measure, "p_greater" if direction > 0 else "p_less"))
            n = get(measure, "n_arch", 0)
            n = int(n) if np.isfinite(n) else 0
            exact = bool(get(measure, "exact", False)) if np.isfinite(p) else False
            learned = get(measure, "learned_fraction")
            crit = (f"Pearson rho of log eps and log {measure} across {n} architectures that learned "
                    + (f"(error < {learned:g} x chance) " if np.isfinite(learned) else "")
                    + f"(mean over seeds); excluded (not learned): {excluded or 'none'}; ci: 95% bootstrap; "
                    f"one-sided permutation p {'exact' if exact else 'Monte Carlo'} (control_measured)")
            by_seed = get(measure, "rho_by_seed", "")
            if isinstance(by_seed, str) and by_seed:  # shown, not judged: how much rho is one training draw
                crit += f"; rho of each seed's nets alone: {by_seed}"
            return claims.row(
                section, claim, where, paper, rho[measure], passed_data,
                control=f"random pairings of errors and {measure} (permutation null): reach the observed rho "
                        f"{'upwards' if direction > 0 else 'downwards'} with probability p >= {alpha:g} (must fail)",
                control_measured=p, control_passed=bool(p >= alpha) if np.isfinite(p) else None,
                criterion=crit, ci=(get(measure, "ci_low"), get(measure, "ci_high")), n=n, n_min=n_min,
                effect=rho[measure])

        d, gf, rf = rho["D_f"], rho["G_f"], rho["R_f"]
        rows.append(one("D_f", "rho(eps, D_f) > 0", "> 0", d > 0, +1))
        rows.append(one("G_f", "rho(eps, G_f) < 0", "< 0", gf < 0, -1))
        others = [abs(v) for v in (d, gf) if np.isfinite(v)]
        strongest = bool(others) and rf >= max(others)
        rows.append(one("R_f", "rho(eps, R_f) > 0 and the largest of the three",
                        f"> 0 and >= max(|rho(eps, D_f)|, |rho(eps, G_f)|) ({max(others) if others else np.nan:.3f})",
                        rf > 0 and strongest, +1))
    return rows


def trajectory_rows(group: str, section: str, summary: pd.DataFrame, tol: dict) -> list[dict]:
    """Claim 5 per architecture, from analysis.trajectory.trajectory_summary's table."""
    alpha, n_min = tol["alpha"], tol["min_trajectory_points"]
    rows = []
    for arch, t in summary[summary.noise.astype(float) == 0.0].groupby("arch", sort=True):
        t = t.sort_values("epoch")
        ok = (t.test_error > 0) & (t.R_f > 0) & np.isfinite(t.R_f)
        eps, r = t.test_error[ok].to_numpy(float), t.R_f[ok].to_numpy(float)
        rho = log_correlation(eps, r)
        p = permutation_p(eps, r)["p_greater"]
        last = t[ok].iloc[-1] if ok.any() else None
        rows.append(claims.row(
            section, LEARNED, f"{group}/{arch}", "rho(log eps, log R_f) > 0 along training", rho, rho > 0,
            control=f"random pairings of the trajectory's errors and R_f (permutation null): reach the observed rho "
                    f"upwards with probability p >= {alpha:g} (must fail)",
            control_measured=p, control_passed=bool(p >= alpha) if np.isfinite(p) else None, n=len(eps),
            n_min=n_min, effect=float(last.R_f_over_init) if last is not None else np.nan,
            criterion=f"Pearson rho of log test error and log R_f over the {len(eps)} trajectory points (epochs "
                      f"{', '.join(str(int(e)) for e in t.epoch[ok])}; seed means over up to {int(t.seeds.max())} "
                      "seeds); one-sided exact permutation p (control_measured); effect: R_f / R_f(init) at the "
                      "last recorded epoch"))
    return rows


# --------------------------------------------------------------------------- ImageNet


def imagenet_rows(layers: pd.DataFrame, aggregates: pd.DataFrame, tol: dict,
                  spectra: pd.DataFrame | None = None) -> list[dict]:
    """ImageNet: one pretrained model per architecture (n_min 1); init = a seeded random init."""
    def ids(t):
        return t.assign(**{c: v for c, v in (("noise", 0.0), ("seed", 0)) if c not in t})

    rows = depth_rows("imagenet", "2 (figs 3, C4 right)", ids(layers), tol, n_min=1)
    rows += spectra_rows("imagenet", "2 (figs 4, C5, C6)", ids(aggregates), tol,
                         spectra=None if spectra is None else ids(spectra), n_min=1)
    return rows


def table(rows: list[dict]) -> pd.DataFrame:
    return claims.table(rows)
