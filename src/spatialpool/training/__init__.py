"""Stage 4, training: the training loops, their protocols and resumable checkpoints."""
