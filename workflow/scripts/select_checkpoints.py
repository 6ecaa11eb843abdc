import sys

from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

table = read_table(snakemake.input[0])[["seed", "interpolated", "train_error", "test_error", "t_star_epochs",
                                        "steps", "decay_times", "hit_step_cap"]]
# A trained net counts only if it interpolates its training set.
table["selected"] = table.interpolated
table.to_csv(snakemake.output[0], index=False)
print(table.to_string(index=False))
