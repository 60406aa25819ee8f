"""The baselines' results, kept on disk between scorings.

Every submission is compared with the same baselines on the same frames: zero displacement,
constant velocity and Verlet k = 1, 4 and 1 fs per anchor, and the Verlet rollouts at the
submission's stride. The Verlet rows cost thousands of LAMMPS runs (about 40 s of a 60 s score
on mini, far more on the 4000-atom configs) and never depend on the submission, so they are
computed once and kept as JSON files under ``$GNNBENCH_CACHE`` (default
``~/.cache/gnnbench/baselines``; ``GNNBENCH_CACHE=off`` turns the cache off).

A file is named by the SHA-256 of everything its content depends on:

* the dataset: its ``data_sha256`` (every shard's bytes) and config,
* what was computed: the split and strides, or the rollout mode, stride and protocol,
* the scorer: ``SCORER_VERSION``, the source of every module that can change a baseline's number
  (``gnnbench.score``, ``gnnbench.generate``, ``gnnbench.load``, ``gnnbench.units``) and the
  LAMMPS version.

So a changed input is a new name and a stale file is never read. A file is also checked by its
content before it is used: it must repeat the identity and the computation its name was made
from, and carry the sha256 of its value (``value_sha256``, of the value's canonical JSON), so a
truncated, corrupted or hand-edited number is not read. A file that fails a check, or cannot be
read or parsed, counts as missing (it is recomputed and replaced); a cache directory that cannot
be written only costs time. A hit gives the numbers a miss would (``tests/test_scorer.py`` scores
twice and compares every number). The check catches accidents and careless edits, not someone who
can write the cache and recompute a sha256: ``gnnbench validate --rescore`` therefore never reads
the user's cache (it computes the baselines afresh in a private one).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import os
from pathlib import Path
from typing import Any

from . import SCORER_VERSION

CACHE_ENV = "GNNBENCH_CACHE"
PACKAGE = Path(__file__).resolve().parents[1]
SOURCES = ("score", "generate", "load", "units.py")  # the code a baseline's number can depend on, under gnnbench/


def cache_directory() -> Path | None:
    """``$GNNBENCH_CACHE``, ``$XDG_CACHE_HOME/gnnbench/baselines`` or ``~/.cache/gnnbench/baselines``; None when off."""
    value = os.environ.get(CACHE_ENV, "")
    if value.lower() in ("off", "0", "no"):
        return None
    if value:
        return Path(value)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gnnbench" / "baselines"


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 over the path and bytes of every .py (and protocol.yaml) of ``SOURCES``."""
    digest = hashlib.sha256()
    for source in SOURCES:
        root = PACKAGE / source
        files = sorted(root.rglob("*.py")) + sorted(root.rglob("*.yaml")) if root.is_dir() else [root]
        for path in files:
            digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _lammps_version() -> str:
    try:
        return importlib.metadata.version("lammps")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class BaselineCache:
    """Baseline results of one dataset (``data_sha256``, ``config``), read and written as JSON.

    ``get(what)`` returns what ``put(what, value)`` stored, or None; ``what`` is a JSON-able dict
    naming the computation (e.g. ``{"stride": "test", "strides_fs": [...]}``).
    """

    def __init__(self, data_sha256: str, config: str, directory: Path | None = None):
        self.directory = directory
        self.identity = {"data_sha256": data_sha256, "config": config, "scorer": SCORER_VERSION,
                         "code": code_digest(), "lammps": _lammps_version()}
        self.hits = self.misses = 0

    @classmethod
    def default(cls, data_sha256: str, config: str) -> BaselineCache:
        return cls(data_sha256, config, cache_directory())

    def path(self, what: dict) -> Path | None:
        if self.directory is None:
            return None
        key = hashlib.sha256(json.dumps({**self.identity, **what}, sort_keys=True).encode()).hexdigest()
        return self.directory / f"{key}.json"

    def peek(self, what: dict) -> Any | None:
        """The stored value of ``what``, or None; not counted as a hit or a miss."""
        path = self.path(what)
        try:
            stored = json.loads(path.read_text()) if path is not None else None
        except (OSError, ValueError):
            stored = None
        return stored.get("value") if self._intact(stored, what) else None

    def get(self, what: dict) -> Any | None:
        value = self.peek(what)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def _intact(self, stored: Any, what: dict) -> bool:
        """The file repeats this identity and ``what``, and its value has its recorded sha256."""
        if not isinstance(stored, dict) or "value" not in stored or stored.get("what") != json.loads(json.dumps(what)):
            return False
        if any(stored.get(key) != value for key, value in self.identity.items()):
            return False
        return stored.get("value_sha256") == value_digest(stored["value"])

    def put(self, what: dict, value: Any) -> None:
        path = self.path(what)
        if path is None:
            return
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            plain = json.loads(json.dumps(value, default=_plain))  # the value as it will be read back
            tmp.write_text(json.dumps({"what": what, **self.identity, "value_sha256": value_digest(plain), "value": plain}))
            tmp.replace(path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def value_digest(value: Any) -> str:
    """sha256 of a JSON value's canonical form (sorted keys, no spaces)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _plain(value):
    """numpy scalars and arrays as Python numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store a {type(value).__name__} in the baseline cache")
