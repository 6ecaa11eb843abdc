"""Stage 3, models: the architecture registry and the networks it builds."""
