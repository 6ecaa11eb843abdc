import sys

import torch

from spatialpool.models.architectures import build
from spatialpool.measurement.images import filter_spectra, measure_states
from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table, read_torch

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback
torch.set_num_threads(snakemake.threads)

w, s = snakemake.wildcards, snakemake.params.settings
summary = read_table(snakemake.input.summary).iloc[0]
result = read_torch(snakemake.input.result, map_location="cpu", weights_only=False)
probe = read_torch(snakemake.input.probe, weights_only=False)


def net(state):
    model = build(w.arch, num_classes=int(summary.num_classes), in_channels=int(summary.in_channels),
                  width_factor=float(summary.width_factor), input_size=int(summary.input_size))
    model.load_state_dict(result[state])
    return model.eval()


init, trained = net("init_state"), net("selected_state")
print(f"{w.group}/{w.arch} noise {w.noise} seed {w.seed}: selected epoch {result['selected_epoch']}, "
      f"test error {summary.selected_test_error:.4f}")
ids = dict(group=w.group, arch=w.arch, noise=float(w.noise), seed=int(w.seed))
table = measure_states(init, trained, probe, noise_std=float(w.noise), shuffles=s["shuffles"],
                       net_seed=int(w.seed), batch_size=s["batch_size"], dtype=getattr(torch, s["dtype"]))
table.assign(**ids).to_csv(snakemake.output.sensitivity, index=False)
spectra, aggregates = filter_spectra(init, trained)
spectra.assign(**ids).to_csv(snakemake.output.spectra, index=False)
aggregates.assign(**ids).to_csv(snakemake.output.aggregates, index=False)
print(aggregates.to_string(index=False))
