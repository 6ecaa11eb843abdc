import sys

from spatialpool.analysis.swish import crossover_slope, homogeneous_theory
from spatialpool.io import exit_briefly_on_corrupted_intermediate
from spatialpool.perturbations.probes import load_probe

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

p = snakemake.params
out = homogeneous_theory(p.net, p.length, load_probe(snakemake.input.probe), p.betas, p.magnitudes, p.window,
                         p.batch_size)
for key in ("sweep", "exponents", "crossovers"):
    out[key].to_csv(snakemake.output[key], index=False)
print(out["exponents"].pivot_table(index=["noise", "activation"], columns="magnitude", values="exponent",
                                   sort=False).round(3).to_string())
print(out["crossovers"].to_string(index=False))
for noise in ("plain", "rect"):
    for lo in (0, 2):
        slope = crossover_slope(out["crossovers"], noise, min_beta=lo)
        print(f"slope of log m* against log beta ({noise} noise, beta >= {lo}): {slope:.3f}")
