"""Training the learned baselines (``gnnbench train CONFIG``, ``gnnbench export``); single process or DDP."""
