import sys

from spatialpool.measurement.images import make_probe
from spatialpool.perturbations.probes import save_probe
from spatialpool.image_workflow import load_dataset
from spatialpool.io import exit_briefly_on_corrupted_intermediate

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

p = snakemake.params
splits = load_dataset(p.spec, snakemake.input[0])
probe = make_probe(splits, p.spec["kind"], p.probe["size"], p.probe["draws"], p.probe["seed"], p.probe["delta"],
                   p.probe["cut"], task=p.spec)
save_probe(probe, snakemake.output[0])
extra = (f"temperature {probe['temperature']:.4g}" if probe["perturbation"] == "diffeo" else
         f"realised displacement {probe['displacement'].pow(2).mean().sqrt():.3f} px")
print(f"{probe['size']} test images x {probe['draws']} draws, perturbation '{probe['perturbation']}' "
      f"(spatialpool.perturbations.registry), {extra}")
