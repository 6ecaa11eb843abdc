"""Verdicts of the scorecard: every claim judged on the data and on a control it must reject.

A scorecard row applies one criterion twice: to the measured value (the trained nets) and to a
*control*, a case where the paper's claim should not hold (initialisation weights, a net that did
not learn, an identity "ablation", a permutation of architectures, ...). The verdict is

- ``not tested``: a precondition of the claim is not met (e.g. the tanh nets never learned the
  homogeneous filters whose consequence the claim is about); ``gate`` says which;
- ``not enough data``: fewer valid seeds / architectures than the claim needs (``n < n_min``),
  or an estimate that passes with an interval reaching beyond the tolerance (``too_wide``);
- ``uninformative``: the criterion passes on the data *and* on the control, so passing says
  nothing about the claim;
- ``reproduced`` / ``not reproduced``: the criterion passes on the data and fails on its control /
  fails on the data.

``passed`` is True only for ``reproduced``. Tests apply every criterion to its control
(tests/test_fits_scorecard.py, tests/test_image_scorecard.py, tests/test_correlations.py).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

# Parts of the paper (the workflow's targets) by the first character of a row's `section` label.
PART_OF_SECTION = {"1": "section2", "2": "section2", "3": "section3", "4": "section4",
                   "A": "appendix_a", "B": "appendix_b", "C": "appendix_c"}


def paper_section(label: str) -> str:
    """'4.3' -> '4', '3, B (figs. 4, B1)' -> '3', 'C (tables C2, C3)' -> 'C', '1, 2 (figs 1, C3)' -> '1'."""
    first = str(label).split()[0].rstrip(",")
    return first.split(".")[0].split("-")[0]


def part_of(label: str) -> str:
    """The part of the paper (workflow target) a row's section label belongs to: '4.3' -> 'section4'.

    Raises KeyError for a label outside the paper's sections.
    """
    return PART_OF_SECTION[paper_section(label)]


VERDICTS = ("reproduced", "not reproduced", "uninformative", "not enough data", "not tested")
COLUMNS = ["section", "claim", "experiment", "paper", "measured", "ci_low", "ci_high", "n", "n_min",
           "effect", "criterion", "passed_data", "control", "control_measured", "control_passed",
           "gate", "verdict", "passed"]


def verdict(passed_data: bool, control_passed: bool | None, n: int | None = None, n_min: int = 1,
            gate: str = "", too_wide: bool = False) -> str:
    """The verdict of one claim (module docstring). control_passed None: no control could be
    evaluated, which is itself a reason not to call the claim reproduced ('uninformative').
    too_wide: the estimate passes but its interval reaches beyond the tolerance, so the seeds
    cannot decide ('not enough data')."""
    if gate:  # a failed premise explains a lack of valid seeds too: say so first
        return "not tested"
    if n is not None and n < n_min:
        return "not enough data"
    if passed_data and too_wide:
        return "not enough data"
    if not passed_data:
        return "not reproduced"
    if control_passed is None or control_passed:
        return "uninformative"
    return "reproduced"


def row(section: str, claim: str, experiment: str, paper, measured, passed_data: bool, *,
        control: str, control_measured, control_passed: bool | None, criterion: str,
        ci=(np.nan, np.nan), n: int | None = None, n_min: int = 1, effect=np.nan, gate: str = "",
        too_wide: bool = False) -> dict:
    """One scorecard row; see the module docstring for the verdict.

    paper: the paper's value or statement; measured / control_measured: the criterion's statistic
    on the data / on the control; ci: interval of `measured` over seeds; n, n_min: valid seeds (or
    architectures) and the minimum the claim needs; effect: an effect size (e.g. the difference
    from the prediction, in units of the predicted value); gate: non-empty when a precondition fails.
    """
    passed_data = bool(passed_data) and _finite(measured)
    if control_passed is not None:
        control_passed = bool(control_passed)
    v = verdict(passed_data, control_passed, n, n_min, gate, too_wide)
    return dict(section=section, claim=claim, experiment=experiment, paper=paper, measured=measured,
                ci_low=ci[0], ci_high=ci[1], n=np.nan if n is None else int(n), n_min=n_min, effect=effect,
                criterion=criterion, passed_data=passed_data, control=control,
                control_measured=control_measured, control_passed=control_passed, gate=gate,
                verdict=v, passed=v == "reproduced")


def _finite(value) -> bool:
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return value is not None  # a textual measurement (e.g. '4/4')


def table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)
