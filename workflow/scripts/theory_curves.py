import sys

from spatialpool.io import exit_briefly_on_corrupted_intermediate
from spatialpool.perturbations.probes import load_probe
from spatialpool.measurement.scale_detection import theory_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

p = snakemake.params
table = theory_table(p.net, p.activation, p.length, load_probe(snakemake.input.probe), p.batch_size)
table.to_csv(snakemake.output[0], index=False)
print(table.to_string(index=False))
