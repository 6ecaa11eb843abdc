import sys

from spatialpool.data.cifar10 import prepare_cifar10
from spatialpool.io import read_npz

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

p = snakemake.params
path = prepare_cifar10(snakemake.output[0], source=p.source, cache_dir=p.cache_dir, download=p.download)
label = str(read_npz(path)["label"])
print(f"{label} written to {path} (source: {p.source or p.cache_dir})")
