import hashlib
import signal
import sys

import pandas as pd
import torch

from spatialpool.training.images import ImageTrainConfig, run_seed, save_result
from spatialpool.image_workflow import load_dataset
from spatialpool.io import exit_briefly_on_corrupted_intermediate
from spatialpool.config import resume_settings
from spatialpool.training.resume import Checkpointer, run_key

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback
torch.set_num_threads(snakemake.threads)

p, w = snakemake.params, snakemake.wildcards
data = load_dataset(p.spec, snakemake.input.data)
cfg = ImageTrainConfig(**p.train, progress_seconds=10.0)
print(f"{w.arch} x{p.width_factor} on {data.name} ({len(data.x_train)} train, {len(data.x_val)} val, "
      f"{len(data.x_test)} test), noise std {cfg.noise_std}, seed {w.seed}; {cfg}")

# Resumable state, keyed by everything that determines the run (resume settings are not rerun
# triggers: they do not change results, so they are read from the config directly).
with open(snakemake.input.data, "rb") as f:
    data_digest = hashlib.file_digest(f, "sha256").hexdigest()
key = run_key(dict(spec=p.spec, train=p.train, width_factor=p.width_factor, arch=w.arch, seed=int(w.seed)),
              data_digest)
resume = resume_settings(snakemake.config)
checkpointer = Checkpointer(
    f"{resume['dir']}/image_train/{w.group}/{w.arch}/noise{w.noise}/seed{w.seed}/{key}.state"
    if resume["enabled"] else None,
    resume["interval_s"])
signal.signal(signal.SIGTERM, checkpointer.request_stop)
model, result = run_seed(w.arch, data, cfg, int(w.seed), width_factor=p.width_factor, log=print,
                         checkpointer=checkpointer)
save_result(result, snakemake.output.result)

ids = dict(group=w.group, arch=w.arch, noise=float(w.noise), seed=int(w.seed))
pd.DataFrame(result.history).assign(**ids).to_csv(snakemake.output.history, index=False)
c, h, _ = data.image_shape
summary = dict(ids, **result.summary, dataset=data.name, data=data.info.get("label", data.name), in_channels=c, input_size=h,
               num_classes=1 if cfg.loss == "hinge" else (len(data.classes) or 10),
               **{f"seed_{k}": v for k, v in result.seeds.items() if k != "data"})
pd.DataFrame([summary]).to_csv(snakemake.output.summary, index=False)
print(pd.Series(summary).to_string())
checkpointer.clear()
