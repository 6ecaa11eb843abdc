"""Stage 6, analysis: tidy tables, exponent fits, correlations, the appendix-A diffusion."""
