import sys

from spatialpool.image_workflow import make_dataset, save_splits

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

splits = make_dataset(snakemake.params.spec)
save_splits(splits, snakemake.output[0])
print(f"{splits.name}: train {tuple(splits.x_train.shape)}, val {len(splits.x_val)}, test {len(splits.x_test)}, "
      f"mean {splits.mean}, std {splits.std}; seeds { {k: v for k, v in splits.info.items() if 'seed' in k} }")
