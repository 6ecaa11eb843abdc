import sys

from spatialpool.models.architectures import table_c1

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

table = table_c1()
table.to_csv(snakemake.output[0], index=False)
print(table.to_string(index=False))
