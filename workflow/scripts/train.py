import signal
import sys

import pandas as pd
import torch

from spatialpool.config import resume_settings, task_from_config
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_npz
from spatialpool.training.resume import Checkpointer, run_key
from spatialpool.runtime import pick_device
from spatialpool.data.scale_detection import render
from spatialpool.models.simple_cnn import SimpleCNN
from spatialpool.training.checkpoints import save_checkpoint
from spatialpool.training.scale_detection import TrainConfig, init_seeds, train_seeds

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback
torch.set_num_threads(snakemake.threads)

p = snakemake.params
task = task_from_config(p.task)
data = read_npz(snakemake.input[0])
x_train, x_test = (torch.tensor(render(task, *data[k].T), dtype=torch.float32)
                   for k in ("train_sites", "test_sites"))
y_train, y_test = (torch.tensor(data[k], dtype=torch.float32) for k in ("train_y", "test_y"))

nets, batch_seeds, init_seed_of = [], [], {}
for seed in p.seeds:
    init_seed, batch_seed = init_seeds(seed)
    torch.manual_seed(init_seed)  # initialise on the CPU, so a GPU run starts from the same weights
    nets.append(SimpleCNN(activation=p.activation, **p.net))
    batch_seeds.append(batch_seed)
    init_seed_of[seed] = init_seed
    print(f"seed {seed} (init {init_seed}, batches {batch_seed})")
device = pick_device()
x_train, y_train, x_test, y_test = (t.to(device) for t in (x_train, y_train, x_test, y_test))
cfg = TrainConfig(**p.train)
print(f"{len(nets)} seeds stacked in one model on {device}; {cfg}")

# Resumable state, keyed by everything that determines the run; resume settings are not
# rerun triggers (they do not change results), so they are read from the config directly.
resume = resume_settings(snakemake.config)
key = run_key(dict(task=p.task, activation=p.activation, net=p.net, train=p.train, seeds=p.seeds),
              open(snakemake.input[0], "rb").read())
checkpointer = Checkpointer(
    f"{resume['dir']}/train/{snakemake.wildcards.experiment}/{key}.state"
    if resume["enabled"] else None,
    resume["interval_s"])
signal.signal(signal.SIGTERM, checkpointer.request_stop)
results = train_seeds(nets, x_train, y_train, x_test, y_test, cfg, batch_seeds, checkpointer=checkpointer)

save_checkpoint(snakemake.output.weights, {"name": "simple_cnn", **nets[0].arch()},
                {seed: {"states": {"init": r.init_state, "t_star": r.tstar_state, "final": r.final_state}}
                 for seed, r in zip(p.seeds, results)})
pd.concat([pd.DataFrame(r.history).assign(seed=seed) for seed, r in zip(p.seeds, results)]).to_csv(
    snakemake.output.history, index=False)
summary = pd.DataFrame([dict(seed=seed, init_seed=init_seed_of[seed], data_seed=int(data["seed"]), **r.summary)
                        for seed, r in zip(p.seeds, results)])
summary.to_csv(snakemake.output.summary, index=False)
checkpointer.clear()
print(summary.to_string(index=False))
