"""Stage 4: submissions — loading a stranger's model safely and calling it (and the trivial baselines)."""
