"""Shared fixtures, and the two test tiers.

LAMMPS data is built here once per test run and shared by all tests that ask for it. Tests
are in two tiers: the fast tier (``pytest -m "not slow"``: unit tests, seconds) and the slow
tier (``pytest -m slow``). A test is slow when it uses a LAMMPS-built dataset, directly or
through another fixture (marked here, see ``pytest_collection_modifyitems``), or when it is
marked ``@pytest.mark.slow`` itself (DDP, Chromium, a LAMMPS run of its own, a sandboxed worker,
an OVITO render, a whole leaderboard drawn).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Tests never reach the network: datasets and huggingface_hub read these at import time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in test logs (tqdm reads it at import)

TESTS = Path(__file__).resolve().parent
TINY_CONFIG = TESTS / "data" / "tiny.yaml"
BUILT_DATA_FIXTURES = {"mini_dataset", "tiny_dataset"}


def pytest_collection_modifyitems(config, items) -> None:
    """Mark ``slow`` every test that needs a LAMMPS build: ``fixturenames`` is the closure of a
    test's fixtures, so one reached through another fixture (``mini_hf``, ``mini_copy``, a
    module's own) counts too."""
    for item in items:
        if BUILT_DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def run_cli(*args: str, env: dict | None = None, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run ``gnnbench ARGS`` in a subprocess (as a user would) and return the result."""
    result = subprocess.run(
        [sys.executable, "-m", "gnnbench.cli", *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, **kwargs,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"gnnbench {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def shard_checksums(root: Path) -> dict[str, str]:
    """sha256 of every data shard, as recorded in the manifest."""
    files = json.loads((root / "manifest.json").read_text())["files"]
    return {name: info["sha256"] for name, info in files.items() if name.startswith("data/")}


@pytest.fixture(scope="session", autouse=True)
def baseline_cache(tmp_path_factory) -> Path:
    """The scorer's baseline cache (gnnbench.score.baseline_cache) for this test run only, never the
    user's ~/.cache: the first scoring of a dataset computes the baselines, the others read them."""
    from gnnbench.score.baseline_cache import CACHE_ENV

    directory = tmp_path_factory.mktemp("baseline-cache")
    os.environ[CACHE_ENV] = str(directory)  # CLI subprocesses inherit it
    return directory


@pytest.fixture(scope="session")
def mini_dataset(tmp_path_factory) -> Path:
    """The `mini` config, built once with the CLI (about a minute on 2 cores)."""
    root = tmp_path_factory.mktemp("al-eam") / "al-eam"
    run_cli("data", "build", "--config", "mini", "--out", str(root), "--no-progress")
    return root


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """The test-only `tiny` config (two temperatures), built once, dumps kept."""
    root = tmp_path_factory.mktemp("tiny") / "al-eam"
    run_cli("data", "build", "--config", str(TINY_CONFIG), "--out", str(root), "--no-progress", "--keep-dumps")
    return root


@pytest.fixture
def mini_copy(mini_dataset, tmp_path) -> Path:
    """A private copy of the mini dataset that a test may damage."""
    copy = tmp_path / "al-eam"
    shutil.copytree(mini_dataset, copy, ignore=shutil.ignore_patterns(".work"))
    return copy


@pytest.fixture(scope="session")
def mini_hf(mini_dataset, tmp_path_factory):
    """The mini dataset installed in a private HF cache and loaded offline, in this process."""
    cache = tmp_path_factory.mktemp("hf-cache")
    from gnnbench.load.install import install

    install(mini_dataset, ["mini"], cache_dir=cache)
    import datasets

    return datasets.load_dataset("gnnmd/al-eam", "mini", cache_dir=str(cache))
