"""The paper's predicted exponents against the effective receptive field A_k (sec. 4, app. B).

For the spatial-pooling solution (homogeneous positive filters, no bias) of the simple CNNs:

- stride 1 (task 1, sec. 4.1): D_k ~ A_k^-2 (eq. 5), G_k ~ A_k with rectified noise (eq. 7),
  so R_k ~ A_k^-3; with zero-mean noise G_k is constant (end of sec. 4.1), for ReLU
  asymptotically and for tanh (app. B), so R_k then follows D_k.
- stride F (task 2, sec. 4.2): D_k ~ A_k^-1 (eq. 8), G_k ~ A_k (eq. 9), R_k ~ A_k^-2; zero-mean
  noise again gives a constant G_k.

D_k's prediction does not depend on the activation (sec. 4.1, app. B).
"""
from __future__ import annotations

PREDICTED = {
    1: {"D": -2.0, "G_rect": 1.0, "R_rect": -3.0, "G_plain": 0.0, "R_plain": -2.0},
    "F": {"D": -1.0, "G_rect": 1.0, "R_rect": -2.0, "G_plain": 0.0, "R_plain": -1.0},
}


def geometry(stride: int) -> str:
    return "stride 1" if stride == 1 else "stride F"


def predicted(stride: int, measure: str) -> float:
    """Predicted exponent of a measure against A_k for a net of this stride (1 or F)."""
    return PREDICTED[1 if stride == 1 else "F"][measure]


def agrees(measured: float, prediction: float, rel_tolerance: float, flat_tolerance: float) -> bool:
    """Whether an exponent matches a prediction: within rel_tolerance x |prediction|, or, for a
    predicted 0 (a flat curve), within flat_tolerance in absolute value."""
    if measured is None or not float("-inf") < measured < float("inf"):
        return False
    if prediction == 0:
        return abs(measured) <= flat_tolerance
    return abs(measured - prediction) <= rel_tolerance * abs(prediction)
