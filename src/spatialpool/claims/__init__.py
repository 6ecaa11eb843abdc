"""Stage 7, claims: the statistics behind verdicts, the paper's predictions and the scorecards."""
