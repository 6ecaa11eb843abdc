import sys

import torch

from spatialpool.io import exit_briefly_on_corrupted_intermediate
from spatialpool.perturbations.probes import load_probe
from spatialpool.measurement.scale_detection import measure_states
from spatialpool.training.checkpoints import load_checkpoint

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback
torch.set_num_threads(snakemake.threads)

ckpt = load_checkpoint(snakemake.input.weights, int(snakemake.wildcards.seed))
probe = load_probe(snakemake.input.probe)
table = measure_states(ckpt, probe, snakemake.params.batch_size, log=print)
table.insert(0, "experiment", snakemake.wildcards.experiment)
table.insert(1, "seed", int(snakemake.wildcards.seed))
table.to_csv(snakemake.output[0], index=False)
