import sys

import numpy as np

from spatialpool.config import task_from_config
from spatialpool.data.scale_detection import make_dataset

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

spec = snakemake.params.task
task = task_from_config(spec)
data = make_dataset(task, spec["n_train"], spec["data_seed"])
print(f"{task}: {len(data['train_y'])} training and {len(data['test_y'])} test pairs, "
      f"seed {data['seed']}, train balance {np.mean(data['train_y'] == 1):.3f}")
np.savez(snakemake.output[0], **data)
