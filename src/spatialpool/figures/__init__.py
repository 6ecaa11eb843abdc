"""Stage 8, figures: matplotlib/seaborn renderings of the tables."""
