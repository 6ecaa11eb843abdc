import sys

import pandas as pd
import torch

from spatialpool.image_training import ImageTrainConfig, run_seed, save_result
from spatialpool.image_workflow import load_dataset

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
torch.set_num_threads(snakemake.threads)

p, w = snakemake.params, snakemake.wildcards
data = load_dataset(p.spec, snakemake.input.data)
cfg = ImageTrainConfig(**p.train, progress_seconds=10.0)
print(f"{w.arch} x{p.width_factor} on {data.name} ({len(data.x_train)} train, {len(data.x_val)} val, "
      f"{len(data.x_test)} test), noise std {cfg.noise_std}, seed {w.seed}; {cfg}")
model, result = run_seed(w.arch, data, cfg, int(w.seed), width_factor=p.width_factor, log=print)
save_result(result, snakemake.output.result)

ids = dict(group=w.group, arch=w.arch, noise=float(w.noise), seed=int(w.seed))
pd.DataFrame(result.history).assign(**ids).to_csv(snakemake.output.history, index=False)
c, h, _ = data.image_shape
summary = dict(ids, **result.summary, dataset=data.name, in_channels=c, input_size=h,
               num_classes=1 if cfg.loss == "hinge" else (len(data.classes) or 10),
               **{f"seed_{k}": v for k, v in result.seeds.items() if k != "data"})
pd.DataFrame([summary]).to_csv(snakemake.output.summary, index=False)
print(pd.Series(summary).to_string())
