# Appendix A: the diffusion of homogeneous filters, M^k delta, computed exactly (no training).
rule diffusion:
    output:
        table=report(f"{TABLES}/appendix_A.csv", caption="../report/appendix_A_table.rst", category="Appendix A"),
        profiles=f"{RESULTS}/appendix_a/profiles.csv",
        verdict=report(
            f"{RESULTS}/appendix_a/verdict.txt", caption="../report/appendix_A_verdict.rst", category="Appendix A"
        ),
    log:
        f"{LOGS}/diffusion.log",
    conda:
        CONDA_ENV
    params:
        filter_sizes=CFG["appendix_a"]["filter_sizes"],
        depths=CFG["appendix_a"]["depths"],
        plot_depths=CFG["appendix_a"]["plot_depths"],
        length=CFG["appendix_a"]["length"],
    script:
        "../scripts/diffusion.py"
