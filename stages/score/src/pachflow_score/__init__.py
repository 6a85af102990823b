"""pachflow-score: the scoring pipeline stage."""
