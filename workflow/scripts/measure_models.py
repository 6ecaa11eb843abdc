import sys
from pathlib import Path

import torch

from spatialpool.cli import measure_to_folder

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
torch.set_num_threads(snakemake.threads)

e = snakemake.params.entry
measure_to_folder(e["models"], e["data"], Path(snakemake.output.layers).parent, weights=e.get("weights"),
                  transform=e.get("transform"), probe=e.get("probe"), layers=e.get("layers"),
                  num_classes=e.get("num_classes"), model_seed=e.get("model_seed", 0),
                  width_factor=e.get("width_factor", 1.0), state=e.get("state", "best"),
                  correlations=e.get("correlations", False), progress=True, log=print)
