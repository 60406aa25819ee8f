"""The suite's baselines: trivial (zero displacement, constant velocity), physical (velocity-Verlet
with the true EAM forces, run by the scorer), and learned (the paper's reference attention-GNN,
a GNS-style message-passing network). One folder per baseline, each with a README."""
