"""Stage 5, measurement: the streaming estimator of eq. 1 and what it is applied to (layers, ablated nets, filter spectra, receptive fields)."""
