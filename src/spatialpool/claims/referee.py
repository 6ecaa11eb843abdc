"""A referee's summary of the scorecard: per paper section, what reproduced, what did not, and
what could not be judged (uninformative, not enough data, not tested). Computed from the
scorecard table only (claims.COLUMNS), so it can never say more than the rows do."""
from __future__ import annotations

import html

import pandas as pd

from spatialpool.claims.statistics import VERDICTS, paper_section

SECTION_NAMES = {"1": "1-2 Real images: sensitivities and test error (figs 1, C3)",
                 "2": "2 Real images: layer-wise pooling (figs 3, 4, C4-C7)",
                 "3": "3 Scale detection in 2D (figs 4, C1, C2, C5, C7)",
                 "4": "4 Simple CNNs: scaling laws of D_k, G_k, R_k (fig. 7)",
                 "A": "A Diffusion of homogeneous filters",
                 "B": "B tanh against ReLU (figs B1, B2)",
                 "C": "C Mean filters (tables C2, C3)",
                 "S": "Beyond the paper: swish between linear and ReLU (the conjecture of sec. 4.1)"}


def summary(card: pd.DataFrame) -> pd.DataFrame:
    """Tidy counts: one row per (section, verdict) with the number of claims and their names."""
    c = card.assign(part=card.section.map(paper_section))
    rows = []
    for part, g in c.groupby("part", sort=True):
        for v in VERDICTS:
            hit = g[g.verdict == v]
            if len(hit):
                rows.append(dict(section=SECTION_NAMES.get(part, part), verdict=v, claims=len(hit),
                                 which="; ".join(f"{r.claim} [{r.experiment}]" for r in hit.itertuples())))
    return pd.DataFrame(rows, columns=["section", "verdict", "claims", "which"])


def to_html(table: pd.DataFrame, title: str = "Referee's summary") -> str:
    """A self-contained HTML page of summary(): one block per section, verdicts in a fixed order."""
    parts = [f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>",
             f"<h2>{title}</h2>",
             "<p>Computed from the scorecard (results/tables/scorecard.csv). <b>reproduced</b>: the criterion "
             "passes on our nets and fails on its control; <b>uninformative</b>: it passes on the control too; "
             "<b>not enough data</b>: too few valid seeds or architectures; <b>not tested</b>: a premise of the "
             "claim is not met in this run.</p>"]
    for section, g in table.groupby("section", sort=False):
        counts = ", ".join(f"{r.claims} {r.verdict}" for r in g.itertuples())
        parts.append(f"<h3>{html.escape(section)}</h3><p>{counts}</p><ul>")
        for r in g.itertuples():
            parts.append(f"<li><b>{r.verdict}</b>: {html.escape(r.which)}</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)
