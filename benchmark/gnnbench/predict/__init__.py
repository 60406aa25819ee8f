"""Stage 4 (predict): submissions — loading a stranger's model safely and calling it (and the trivial baselines)."""
