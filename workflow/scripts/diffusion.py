import sys


from spatialpool.analysis.diffusion import appendix_a_profiles, appendix_a_table, verdict

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

p = snakemake.params
table = appendix_a_table(p.filter_sizes, p.depths, p.length)
profiles = appendix_a_profiles(p.filter_sizes, p.plot_depths, p.length)
table.to_csv(snakemake.output.table, index=False)
profiles.to_csv(snakemake.output.profiles, index=False)
text = verdict(table)
open(snakemake.output.verdict, "w").write(text + "\n")
print(table.to_string(index=False))
print(text)
