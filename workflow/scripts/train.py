import json
import sys

import numpy as np
import pandas as pd
import torch

from spatialpool.config import task_from_config
from spatialpool.scale_detection import render
from spatialpool.simple_cnn import SimpleCNN
from spatialpool.training import TrainConfig, init_seeds, train

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
torch.set_num_threads(snakemake.threads)

p = snakemake.params
task = task_from_config(p.task)
data = np.load(snakemake.input[0])
x_train, x_test = (torch.tensor(render(task, *data[k].T), dtype=torch.float32)
                   for k in ("train_sites", "test_sites"))
y_train, y_test = (torch.tensor(data[k], dtype=torch.float32) for k in ("train_y", "test_y"))

init_seed, batch_seed = init_seeds(p.seed)
torch.manual_seed(init_seed)  # initialise on the CPU, so a GPU run starts from the same weights
net = SimpleCNN(activation=p.activation, **p.net)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
net = net.to(device)
x_train, y_train, x_test, y_test = (t.to(device) for t in (x_train, y_train, x_test, y_test))
cfg = TrainConfig(**p.train)
print(f"seed {p.seed} (init {init_seed}, batches {batch_seed}) on {device}; {cfg}")
result = train(net, x_train, y_train, x_test, y_test, cfg, batch_seed)

torch.save({"arch": net.arch(), "init": result.init_state, "t_star": result.tstar_state,
            "final": result.final_state}, snakemake.output.weights)
pd.DataFrame(result.history).to_csv(snakemake.output.history, index=False)
summary = dict(seed=p.seed, init_seed=init_seed, data_seed=int(data["seed"]), **result.summary)
json.dump(summary, open(snakemake.output.summary, "w"), indent=2)
print(json.dumps(summary, indent=2))
