"""Write the trivial baselines as TorchScript submissions.

    python -m baselines.trivial.export --out submissions

creates ``submissions/zero-displacement/`` and ``submissions/constant-velocity/`` (each
``submission.pt`` + ``metadata.yaml``), which ``gnnbench score`` scores like any submission.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gnnbench.predict.export import trivial_metadata, write_submission
from gnnbench.predict.trivial import ConstantVelocity, ZeroDisplacement

TRIVIAL = {
    "zero-displacement": (ZeroDisplacement, "r(t+Δt) = r(t), v(t+Δt) = v(t): the error of not moving at all"),
    "constant-velocity": (ConstantVelocity, "r(t+Δt) = r(t) + v(t)Δt, v(t+Δt) = v(t): ballistic motion, no forces"),
}


def export_all(out: Path) -> list[Path]:
    return [write_submission(cls(), trivial_metadata(name, description), Path(out) / name) for name, (cls, description) in TRIVIAL.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("submissions"))
    for path in export_all(parser.parse_args().out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
