rule appendix_a:
    output:
        table=report(f"{TABLES}/appendix_A.csv", caption="../report/appendix_A_table.rst", category="Appendix A"),
        profiles=f"results/appendix_a/profiles.csv",
        verdict=report("results/appendix_a/verdict.txt", caption="../report/appendix_A_verdict.rst",
                       category="Appendix A"),
    params:
        filter_sizes=config["appendix_a"]["filter_sizes"],
        depths=config["appendix_a"]["depths"],
        plot_depths=config["appendix_a"]["plot_depths"],
        length=config["appendix_a"]["length"],
    conda:
        CONDA_ENV
    log:
        "logs/appendix_a.log",
    script:
        "../scripts/appendix_a.py"
