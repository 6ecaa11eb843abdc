"""Appendix A: k homogeneous filters [1/F, ..., 1/F] (stride 1, periodic) as a random walk.

A one-channel layer with that filter acts on a length-L signal as the circulant M whose row a
holds 1/F on the columns
    odd F:  a-(F-1)/2 .. a+(F-1)/2          even F:  a-F/2 .. a+F/2-1      (mod L).
(M delta_i)_a = M[a, i], so M delta_i is 1/F on a - i in -(F-1)/2..(F-1)/2 (odd) and on
-F/2+1..F/2 (even): M^k delta_i is the law of a k-step walk with steps uniform on F consecutive
integers, per-step mean mu = 0 (odd) or +1/2 (even) and variance sigma^2 = (F^2 - 1)/12.
Written as exp(-(v k + a - i)^2 / (4 D k)) / (2 sqrt(pi D k)) the CLT needs
    v = -mu,  D = sigma^2 / 2 = (F^2 - 1)/24,
to be compared with the paper's (A.2) v = 0, D1 = (F-1)^3/(12F) and
(A.3) v2 = (1-F)/(2F), D2 = (F^3 - 3F^2 + 6F - 4)/(12F). Everything below measures the drift
and diffusion of the exact profiles, so which set holds is read off the numbers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

RTOL = 1e-9  # measured moments are exact up to float rounding, so agreement must be tight


def _check(F: int, L: int | None = None, k: int | None = None, i: int | None = None):
    if int(F) != F or F < 2:
        raise ValueError(f"filter size F must be an integer >= 2 (F=1 is the identity), got {F}")
    if L is not None and (int(L) != L or L < F):
        raise ValueError(f"signal length L must be an integer >= F={F}, got {L}")
    if k is not None and (int(k) != k or k < 0):
        raise ValueError(f"number of layers k must be an integer >= 0, got {k}")
    if i is not None and not 0 <= i < L:
        raise ValueError(f"site i must lie in [0, {L}), got {i}")


def _offsets(F: int) -> np.ndarray:
    """Column offsets (relative to the row index) that carry 1/F, in the paper's convention."""
    lo = -(F - 1) // 2 if F % 2 else -F // 2
    return np.arange(lo, lo + F)


def _displacement(L: int, i: int) -> np.ndarray:
    """a - i for every site a, folded into (-L/2, L/2]."""
    d = (np.arange(L) - i) % L
    return np.where(d > L / 2, d - L, d)


def homogeneous_matrix(L: int, F: int) -> np.ndarray:
    _check(F, L)
    M = np.zeros((L, L))
    rows = np.arange(L)[:, None]
    M[rows, (rows + _offsets(F)) % L] = 1.0 / F
    return M


def exact_profile(L: int, F: int, k: int, i: int = 0) -> np.ndarray:
    _check(F, L, k, i)
    M = homogeneous_matrix(L, F)
    p = np.zeros(L)
    p[i] = 1.0
    for _ in range(k):
        p = M @ p
    return p


def profile_moments(p: np.ndarray, i: int) -> tuple[float, float]:
    """(mean, variance) of the displacement a - i; meaningful only while p has not wrapped."""
    d = _displacement(len(p), i)
    mass = p.sum()
    mean = float((p * d).sum() / mass)
    return mean, float((p * (d - mean) ** 2).sum() / mass)


def exact_coefficients(F: int) -> dict:
    _check(F)
    mu = 0.0 if F % 2 else 0.5
    return dict(drift=-mu, diffusion=(F**2 - 1) / 24)


def paper_coefficients(F: int) -> dict:
    _check(F)
    if F % 2:
        return dict(drift=0.0, diffusion=(F - 1) ** 3 / (12 * F))  # (A.2)
    return dict(drift=(1 - F) / (2 * F), diffusion=(F**3 - 3 * F**2 + 6 * F - 4) / (12 * F))  # (A.3)


def gaussian_profile(L: int, k: int, i: int, drift: float, diffusion: float) -> np.ndarray:
    if k < 1 or diffusion <= 0:
        raise ValueError(f"need k >= 1 and diffusion > 0, got k={k}, diffusion={diffusion}")
    x = drift * k + _displacement(L, i)
    return np.exp(-x**2 / (4 * diffusion * k)) / (2 * np.sqrt(np.pi * diffusion * k))


def _agree(measured: float, claimed: float) -> bool:
    scale = abs(claimed) if claimed != 0 else 1.0  # absolute test for a zero drift
    return abs(measured - claimed) <= RTOL * scale


def appendix_a_table(F_values=(2, 3, 4, 5), ks=(1, 2, 4, 8, 16, 32), L: int = 512) -> pd.DataFrame:
    if min(ks) < 1:
        raise ValueError(f"drift and diffusion are per layer, so every k must be >= 1, got {ks}")
    i = L // 2
    rows = []
    for F in F_values:
        _check(F, L)
        M, ex, pa = homogeneous_matrix(L, F), exact_coefficients(F), paper_coefficients(F)
        steps = -_offsets(F) * max(ks)  # displacement a - i spans k * (-offsets)
        if steps.min() <= -L / 2 or steps.max() > L / 2:
            raise ValueError(f"L={L} too short: the k={max(ks)} profile of F={F} would wrap")
        p, done = np.zeros(L), 0
        p[i] = 1.0
        for k in sorted(ks):
            for _ in range(k - done):  # reuse M^done delta_i instead of restarting at each k
                p = M @ p
            done = k
            mean, var = profile_moments(p, i)
            drift, diff = -mean / k, var / (2 * k)
            rows.append(dict(
                F=F, k=k, parity="odd" if F % 2 else "even",
                measured_drift=drift, measured_diffusion=diff,
                exact_drift=ex["drift"], exact_diffusion=ex["diffusion"],
                paper_drift=pa["drift"], paper_diffusion=pa["diffusion"],
                paper_max_err=np.abs(gaussian_profile(L, k, i, **pa) - p).max(),
                clt_max_err=np.abs(gaussian_profile(L, k, i, **ex) - p).max(),
                exact_drift_holds=_agree(drift, ex["drift"]),
                exact_diffusion_holds=_agree(diff, ex["diffusion"]),
                paper_drift_holds=_agree(drift, pa["drift"]),
                paper_diffusion_holds=_agree(diff, pa["diffusion"]),
            ))
    t = pd.DataFrame(rows)
    t["paper_holds"] = t.paper_drift_holds & t.paper_diffusion_holds
    return t


def appendix_a_profiles(F, ks=(2, 8, 32), L: int = 512, i: int | None = None) -> pd.DataFrame:
    """Long table (F, k, site = a - i, exact, paper, clt); F may be one int or several."""
    i = L // 2 if i is None else i
    site = _displacement(L, i)
    frames = []
    for f in np.atleast_1d(F):
        f = int(f)
        for k in ks:
            frames.append(pd.DataFrame(dict(
                F=f, k=k, site=site, exact=exact_profile(L, f, k, i),
                paper=gaussian_profile(L, k, i, **paper_coefficients(f)),
                clt=gaussian_profile(L, k, i, **exact_coefficients(f)),
            )).sort_values("site"))
    return pd.concat(frames, ignore_index=True)


def verdict(table: pd.DataFrame) -> str:
    formulas = {
        "odd": ("paper (A.2): v = 0, D1 = (F-1)^3/(12F)", "v = 0"),
        "even": ("paper (A.3): v2 = (1-F)/(2F), D2 = (F^3-3F^2+6F-4)/(12F)", "v = -1/2"),
    }
    out = []
    for parity in ("odd", "even"):
        t = table[table.parity == parity]
        if t.empty:
            continue
        paper, correct = formulas[parity]
        per_F = t.groupby("F").agg(
            pd_=("paper_drift", "first"), pD=("paper_diffusion", "first"),
            md=("measured_drift", "mean"), mD=("measured_diffusion", "mean"),
            ok_d=("paper_drift_holds", "all"), ok_D=("paper_diffusion_holds", "all"),
            ex_ok=("exact_drift_holds", "all"), ex_OK=("exact_diffusion_holds", "all"))
        say = lambda ok: "holds" if ok.all() else ("fails" if not ok.any() else "holds only for some F")
        g = lambda x: f"{round(x, 12) + 0.0:.6g}"  # hide float noise such as -6.9e-18 and -0
        nums = "; ".join(f"F={F}: paper v={g(r.pd_)}, D={g(r.pD)} vs measured v={g(r.md)}, D={g(r.mD)}"
                         for F, r in per_F.iterrows())
        ours = "match" if (per_F.ex_ok & per_F.ex_OK).all() else "do NOT match"
        out.append(f"{parity.capitalize()} F ({paper}): the drift {say(per_F.ok_d)} and the diffusion "
                   f"{say(per_F.ok_D)} for k = {t.k.min()}..{t.k.max()} ({nums}). "
                   f"The measured coefficients {ours} {correct}, D = (F^2-1)/24 "
                   f"(per-step variance (F^2-1)/12 over 2).")
    return "\n".join(out)


def plot_appendix_a(profiles: pd.DataFrame, table: pd.DataFrame, path_stem: str, dpi: int = 150,
                    formats=("pdf", "png")):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    Fs = sorted(profiles.F.unique())
    fig, axes = plt.subplots(1, len(Fs) + 1, figsize=(3.4 * (len(Fs) + 1), 3.2))
    for ax, F in zip(axes, Fs):
        sub = profiles[profiles.F == F]
        for c, (k, g) in enumerate(sub.groupby("k")):
            # crop to where the walk actually lives so the markers stay readable
            c0 = exact_coefficients(F)
            g = g[np.abs(g.site + c0["drift"] * k) <= 4 * np.sqrt(2 * c0["diffusion"] * k) + 2]
            col = f"C{c}"
            ax.plot(g.site, g.exact, "o", ms=2.5, color=col, label=f"k={k} exact")
            ax.plot(g.site, g.paper, "--", lw=1, color=col)
            ax.plot(g.site, g.clt, "-", lw=1, color=col)
        ax.set(title=f"F={F} ({'odd' if F % 2 else 'even'})", xlabel="a - i",
               ylabel=r"$(M^k\delta_i)_a$" if F == Fs[0] else None)
    axes[0].plot([], [], "k--", lw=1, label="paper (A.2/A.3)")
    axes[0].plot([], [], "k-", lw=1, label="CLT, D=(F²-1)/24")
    axes[0].legend(fontsize=6)
    ax = axes[-1]
    for c, (F, g) in enumerate(table.groupby("F")):
        ax.loglog(g.k, g.paper_max_err, "--", marker=".", color=f"C{c}")
        ax.loglog(g.k, g.clt_max_err, "-", marker=".", color=f"C{c}", label=f"F={F}")
    ax.set(title="max |form - exact|", xlabel="k")
    ax.legend(fontsize=6, title="dashed: paper, solid: CLT", title_fontsize=6)
    fig.tight_layout()
    for fmt in formats:
        fig.savefig(f"{path_stem}.{fmt}", dpi=dpi)
    plt.close(fig)
