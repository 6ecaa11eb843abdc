import sys

import numpy as np
import torch

from spatialpool.measure import measure_states
from spatialpool.training import load_seed

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
torch.set_num_threads(snakemake.threads)

ckpt = load_seed(snakemake.input.weights, int(snakemake.wildcards.seed))
probe = dict(np.load(snakemake.input.probe))
table = measure_states(ckpt, probe, snakemake.params.batch_size, log=print)
table.insert(0, "experiment", snakemake.wildcards.experiment)
table.insert(1, "seed", int(snakemake.wildcards.seed))
table.to_csv(snakemake.output[0], index=False)
