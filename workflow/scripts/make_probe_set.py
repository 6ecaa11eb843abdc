import sys

from spatialpool.config import task_from_config
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_npz
from spatialpool.perturbations.probes import make_probe_set, save_probe

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

data = read_npz(snakemake.input[0])
p = snakemake.params
probe = make_probe_set(task_from_config(p.task), data["test_sites"], p.size, p.draws, p.seed)
print(f"{p.size} probe images from the test set, {p.draws} draws each, seed {p.seed}; "
      f"mean ||tau x - x||^2 / ||x||^2 = {probe['deformation_ratio'].mean():.4f}")
probe.update(dataset=snakemake.wildcards.task, data_seed=int(data["seed"]))  # provenance
save_probe(probe, snakemake.output[0])
