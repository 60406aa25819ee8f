"""gnnbench: a dataset and benchmark suite for learned molecular-dynamics integrators.

The pipeline, one sub-package per stage:

    generate  LAMMPS trajectories -> dump files -> frames      (gnnbench.generate)
    package   frames -> parquet shards, splits, manifest, card (gnnbench.package)
    load      verify, install into the HF cache, PyG adapter   (gnnbench.load)
    predict   the submission format: TorchScript + metadata    (gnnbench.predict)
    score     stride accuracy, rollouts, cost -> scores.json   (gnnbench.score)
    leaderboard  validate submissions, generate leaderboard/   (gnnbench.leaderboard)

Training the learned baselines is ``gnnbench.train``.

Units inside the data are LAMMPS ``metal`` units (Å, ps, eV, Å/ps, K, bar); strides Δt are
given in fs in the task API (``gnnbench.units``).
"""

__version__ = "0.1.0"

DATASET_REPO = "gnnmd/al-eam"
DATASET_VERSION = "2.1.0"
