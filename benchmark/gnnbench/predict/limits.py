"""The sandbox's limits, apart from :mod:`gnnbench.predict.sandbox` so that the command line
can show their defaults without importing torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SandboxLimits:
    """The sandbox's limits (``gnnbench score --help`` lists the flags that change them).

    Defaults: 8 GiB of address space (a 256-atom model needs well under 1 GiB; torch alone maps
    about 0.6 GiB); 60 s per call (a learned integrator's call on 16 × 256 atoms takes milliseconds
    to a second on a CPU); 2 h in all for one submission (scoring ``mini`` calls it about 400
    times); a 10 MiB log; a 64 MiB private /tmp.
    """

    memory_gib: float = 8.0
    call_timeout_s: float = 60.0
    submission_timeout_s: float = 7200.0
    log_bytes: int = 10 * 2**20
    tmp_bytes: int = 64 * 2**20
    max_worker_starts: int = 8

    def describe(self) -> dict:
        return asdict(self)
