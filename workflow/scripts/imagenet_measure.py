import sys

import numpy as np
import torch

from spatialpool.perturbations.diffeo import temperature
from spatialpool.measurement.images import filter_spectra, measure_states
from spatialpool.data.images import imagenet_eval_transform, imagenet_val_folder, pretrained_imagenet_model
from spatialpool.runtime import pick_device

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
torch.set_num_threads(snakemake.threads)

p, name = snakemake.params, snakemake.wildcards.model
pr = p.probe
folder = imagenet_val_folder(p.val_dir, imagenet_eval_transform(pr.get("resize", 256), pr.get("crop", 224)))
index = np.sort(np.random.default_rng(pr["seed"]).choice(len(folder), pr["size"], replace=False))
x = torch.stack([folder[int(i)][0] for i in index]).double()
y = torch.tensor([folder.targets[int(i)] for i in index])
side = x.shape[-1]
probe = dict(dataset="imagenet", kind="imagenet", index=index, x=x, y=y, size=len(x), draws=pr["draws"],
             seed=pr["seed"], side=side, perturbation="diffeo", delta=pr["delta"], cut=pr["cut"],
             temperature=temperature(pr["delta"], side, pr["cut"]))
print(f"{len(folder)} validation images in {p.val_dir}; probe of {len(x)}, T = {probe['temperature']:.4g}")

trained = pretrained_imagenet_model(name, p.weights)
torch.manual_seed(p.init_seed)
from torchvision import models  # noqa: E402

init = models.get_model(name, weights=None)
for m in init.modules():
    if getattr(m, "inplace", False):
        m.inplace = False
init.eval()
device = pick_device()
dtype = getattr(torch, pr["dtype"])
with torch.no_grad():
    net = trained.to(device=device, dtype=dtype)
    out = torch.cat([net(x[i:i + pr["batch_size"]].to(device, dtype)).cpu() for i in range(0, len(x), pr["batch_size"])])
    error = (out.argmax(1) != y).double().mean().item()
    trained = trained.cpu().float()
if not folder.complete:  # folder positions are not ImageNet's class indices then
    print(f"{len(folder.classes)} class folders, not ImageNet's 1000: class indices unknown, no probe error")
    error = float("nan")
print(f"{name}: top-1 error on the probe set {error:.4f}")

table = measure_states(init, trained, probe, shuffles=p.shuffles, shuffle_base=0, net_seed=0,
                       batch_size=pr["batch_size"], dtype=dtype, device=device)
ids = dict(group="imagenet", arch=name, noise=0.0, seed=0)
table.assign(**ids, probe_error=error).to_csv(snakemake.output.sensitivity, index=False)
spectra, aggregates = filter_spectra(init, trained)
spectra.assign(**ids).to_csv(snakemake.output.spectra, index=False)
aggregates.assign(**ids).to_csv(snakemake.output.aggregates, index=False)
