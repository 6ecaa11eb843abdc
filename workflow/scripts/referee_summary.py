import sys

from spatialpool.io import exit_briefly_on_corrupted_intermediate, read_table
from spatialpool.claims.referee import summary, to_html

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)
exit_briefly_on_corrupted_intermediate()  # a bad input file: its name and remedy, not a traceback

table = summary(read_table(snakemake.input[0]))
table.to_csv(snakemake.output.csv, index=False)
with open(snakemake.output.html, "w") as f:
    f.write(to_html(table))
print(table.drop(columns="which").to_string(index=False))
