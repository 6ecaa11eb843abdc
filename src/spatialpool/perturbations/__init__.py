"""Stage 2, perturbations: diffeomorphisms, pixel moves and norm-matched noise; probe sets."""
