import sys

from spatialpool.data.cifar10 import prepare_cifar10
from spatialpool.data.images import DataIntegrityError
from spatialpool.io import read_npz

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

p = snakemake.params
try:
    path = prepare_cifar10(snakemake.output[0], source=p.source, cache_dir=p.cache_dir, download=p.download)
except DataIntegrityError as err:  # a wrong or damaged source: its message, not a traceback
    for stream in {sys.stderr, sys.__stderr__} - {None}:
        print(f"Error: {err}", file=stream, flush=True)
    sys.exit(1)
label = str(read_npz(path)["label"])
print(f"{label} written to {path} (source: {p.source or p.cache_dir})")
