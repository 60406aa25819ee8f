"""Hostile submissions (issue #11): each is made here as TorchScript, and each must be refused or
contained by the sandboxed worker (gnnbench.predict.sandbox) with a clear message, leaving
nothing outside the scorer's output folder.

TorchScript runs no Python, but ``torch.save(obj, path)`` writes any file and
``torch.from_file(path)`` reads (and maps) any file; the rest is about limits: memory, time,
output, and honest cost. Most tests call the sandboxed submission directly on small synthetic
inputs, one scores on the mini dataset through the command line. All are in the slow tier: each
starts a sandboxed worker process (bubblewrap, a fresh Python and torch: 1.5 to 8 s).
"""

from __future__ import annotations

import json
import subprocess
import sysconfig
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from conftest import run_cli
from gnnbench.leaderboard.validate import COST_TOLERANCE, _check_cost, validate_submission_dir
from gnnbench.predict.export import trivial_metadata, write_submission
from gnnbench.predict.sandbox import SandboxLimits, SandboxUnavailable, load_sandboxed
from gnnbench.predict.submission import SubmissionError, SubmissionOutputError, load_submission, sha256_of
from gnnbench.predict.trivial import ConstantVelocity
from gnnbench.score.cost import time_submission
from gnnbench.score.inputs import batch_inputs

pytestmark = pytest.mark.slow  # a sandboxed worker process per test

REPO = Path(__file__).resolve().parents[1]
LIMITS = SandboxLimits(memory_gib=2.0, call_timeout_s=20.0, submission_timeout_s=120.0)
T = torch.Tensor


def inputs(n_graphs: int = 2, n_atoms: int = 8) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(0)
    return batch_inputs(rng.normal(size=(n_graphs, n_atoms, 3)), rng.normal(size=(n_graphs, n_atoms, 3)), np.full((n_graphs, n_atoms), 13),
                        np.tile(np.eye(3) * 8.1, (n_graphs, 1, 1)), None, np.full(n_graphs, 10.0), np.full(n_graphs, 300.0))


def make(module: torch.nn.Module, folder: Path, name: str = "hostile") -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return write_submission(module, trivial_metadata(name, "a hostile test model"), folder)


def repository_state() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO, capture_output=True, text=True).stdout


# --- the models --------------------------------------------------------------------------------

class Writer(torch.nn.Module):
    """torch.save to a path of its choice (a .pth in site-packages would run at the next Python start)."""

    def __init__(self, target: str):
        super().__init__()
        self.target = target

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        torch.save(torch.zeros(3), self.target)
        return {"positions": positions, "velocities": velocities}


class Reader(torch.nn.Module):
    """torch.from_file of a file outside the submission, returned through the positions."""

    def __init__(self, target: str):
        super().__init__()
        self.target = target

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        secret = torch.from_file(self.target, False, 16, dtype=torch.uint8)
        return {"positions": positions + 1e-3 * secret.sum().to(positions.dtype), "velocities": velocities}  # within the physical bound


class PrivateTmp(torch.nn.Module):
    """Writes /tmp/scratch and reads it back: the private tmpfs is the one writable place."""

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        torch.save(positions, "/tmp/gnnbench-scratch.pt")
        back = torch.from_file("/tmp/gnnbench-scratch.pt", False, 8, dtype=torch.uint8)
        return {"positions": positions + 0.0 * back.sum().to(positions.dtype), "velocities": velocities}


class MemoryBomb(torch.nn.Module):
    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        if cell.shape[0] > 1:
            hog = torch.ones(1 << 30, dtype=torch.float64)  # 8 GiB
            positions = positions + hog[0]
        return {"positions": positions, "velocities": velocities}


class Crash(torch.nn.Module):
    """Maps a file on its first call; on the next, truncates it and reads the mapping: SIGBUS, the worker dies.
    (Two calls, because TorchScript may run a pure read before a write that it does not see touch it.)"""

    def __init__(self):
        super().__init__()
        self.mapped = torch.zeros(0, dtype=torch.uint8)

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        if self.mapped.numel() == 0:
            torch.save(torch.zeros(100000), "/tmp/victim.pt")
            self.mapped = torch.from_file("/tmp/victim.pt", True, 400000, dtype=torch.uint8)
            return {"positions": positions, "velocities": velocities}
        torch.save(torch.zeros(1), "/tmp/victim.pt")
        return {"positions": positions + self.mapped.sum().to(positions.dtype), "velocities": velocities}


class Slow(torch.nn.Module):
    """A call that never ends in time (stands for the 60 s per call model)."""

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        x = positions
        i = 0
        while i < 1000000000:
            x = x + 0.0
            i += 1
        return {"positions": x, "velocities": velocities}


class Spam(torch.nn.Module):
    """Prints fake report lines."""

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        for _ in range(2000):
            print("speed-up 5000x: hostile-model beats all baselines")
        return {"positions": positions, "velocities": velocities}


class Raises(torch.nn.Module):
    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        if cell.shape[0] > 1:
            raise ValueError("bad batch\nspeed-up 5000x: beats all baselines")
        return {"positions": positions @ torch.zeros(5, 5, dtype=positions.dtype), "velocities": velocities}


class SingleGraphShortcut(torch.nn.Module):
    """Fast when called with one graph (how cost used to be timed), slow on the batches scoring uses."""

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        if cell.shape[0] == 1:
            return {"positions": positions, "velocities": velocities}
        x = positions
        for _ in range(20000):
            x = x + 0.0
        return {"positions": x, "velocities": velocities}


# --- files ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["site-packages", "repository", "output folder", "home"])
def test_a_model_cannot_write_outside_its_private_tmp(where, tmp_path):
    targets = {"site-packages": Path(sysconfig.get_paths()["purelib"]) / "gnnbench_hostile_test.pth",
               "repository": REPO / "hostile-was-here.txt", "output folder": tmp_path / "out" / "planted.txt",
               "home": Path.home() / "hostile-was-here.txt"}
    target = targets[where]
    (tmp_path / "out").mkdir()
    before = repository_state()
    submission = load_sandboxed(make(Writer(str(target)), tmp_path / "sub"), limits=LIMITS)
    try:
        submission.predict(inputs(), "writing")  # TorchScript's aten::save does not check its write: it fails silently
    finally:
        submission.close()
        planted = target.exists()
        target.unlink(missing_ok=True)
    assert not planted
    assert repository_state() == before
    if where == "output folder":  # the same model in this process does write: the sandbox is what stops it
        load_submission(make(Writer(str(target)), tmp_path / "in-process")).predict(inputs(), "writing")
        assert target.exists()


def test_a_model_cannot_read_a_secret(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hunter2 " * 8)
    for i, target in enumerate((secret, Path("/etc/passwd"), REPO / "README.md", Path.home() / ".bashrc")):
        submission = load_sandboxed(make(Reader(str(target)), tmp_path / f"reader{i}"), limits=LIMITS)
        try:
            with pytest.raises(SubmissionOutputError, match="No such file"):
                submission.predict(inputs(), "reading")
        finally:
            submission.close()
    # the same model in this process does read it: the sandbox is what stops it
    inside = load_submission(make(Reader(str(secret)), tmp_path / "in-process"))
    assert inside.predict(inputs(), "reading")["positions"].sum() != 0


def test_the_private_tmp_is_writable_and_vanishes(tmp_path):
    submission = load_sandboxed(make(PrivateTmp(), tmp_path / "sub"), limits=LIMITS)
    try:
        out = submission.predict(inputs(), "scratch")
        assert torch.equal(out["positions"], inputs()["positions"])
    finally:
        submission.close()
    assert not Path("/tmp/gnnbench-scratch.pt").exists()


# --- limits ---------------------------------------------------------------------------------------------

def test_a_memory_bomb_is_contained_and_the_worker_goes_on(tmp_path):
    submission = load_sandboxed(make(MemoryBomb(), tmp_path / "sub"), limits=LIMITS)
    try:
        with pytest.raises(SubmissionOutputError, match=r"can't allocate memory.*\[input: split test, Δt 10 fs"):
            submission.predict(inputs(2), "split test, Δt 10 fs, anchors T0300K@0fs")
        assert submission.predict(inputs(1), "one graph")["positions"].shape == (8, 3)  # the same worker answers the next call
        assert submission.starts == 1
    finally:
        submission.close()


def test_a_crash_of_the_worker_is_reported_with_its_call_and_the_scorer_goes_on(tmp_path):
    submission = load_sandboxed(make(Crash(), tmp_path / "sub"), limits=LIMITS)
    try:
        submission.predict(inputs(), "nve rollout step 1 (t = 10 fs), trajectories T0300K")
        with pytest.raises(SubmissionOutputError, match=r"the worker died \(.*SIGBUS\).*\[input: nve rollout step 2 \(t = 20 fs\)"):
            submission.predict(inputs(), "nve rollout step 2 (t = 20 fs), trajectories T0300K")
        assert submission.predict(inputs(), "thermostatted rollout step 1")["positions"].shape == (16, 3)  # a fresh worker
        assert submission.starts == 2
    finally:
        submission.close()


def test_a_slow_call_is_stopped_at_the_call_timeout_and_then_at_the_submission_timeout(tmp_path):
    limits = SandboxLimits(memory_gib=2.0, call_timeout_s=1.5, submission_timeout_s=8.0)
    submission = load_sandboxed(make(Slow(), tmp_path / "sub"), limits=limits)
    try:
        started = time.perf_counter()
        with pytest.raises(SubmissionOutputError, match=r"no answer within 1.5 s \(--call-timeout\); the worker was stopped \[input: split test"):
            submission.predict(inputs(), "split test, Δt 10 fs")
        assert time.perf_counter() - started < 5
        messages = []
        for i in range(8):  # each metric gets a fresh worker, until the submission's time is up
            with pytest.raises(SubmissionOutputError) as err:
                submission.predict(inputs(), f"call {i}")
            messages.append(str(err.value))
        assert messages[-1] == "not called: the submission used up its 8 s (--submission-timeout) [input: call 7]"
        assert time.perf_counter() - started < 20
        assert submission.used_s < 8 + 1
    finally:
        submission.close()


def test_a_zip_bomb_is_refused_before_anything_unpacks_it(tmp_path):
    path = make(ConstantVelocity(), tmp_path / "sub")
    prefix = zipfile.ZipFile(path).namelist()[0].split("/")[0]
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{prefix}/code/__torch__/bomb.py", b" " * (100 * 2**20))
    metadata = yaml.safe_load((path.parent / "metadata.yaml").read_text())
    (path.parent / "metadata.yaml").write_text(yaml.safe_dump({**metadata, "submission_sha256": sha256_of(path)}))
    assert path.stat().st_size < 2**20
    with pytest.raises(SubmissionError, match="unpacks to 100 MiB.*zip bomb"):
        load_sandboxed(path, limits=LIMITS)
    assert "zip bomb" in " ".join(validate_submission_dir(path.parent).problems)


# --- output ------------------------------------------------------------------------------------------

def test_model_output_goes_to_the_capped_log_never_to_the_scorer(tmp_path, capfd):
    limits = SandboxLimits(memory_gib=2.0, call_timeout_s=20.0, submission_timeout_s=120.0, log_bytes=4096)
    submission = load_sandboxed(make(Spam(), tmp_path / "sub"), limits=limits)
    try:
        submission.attach_log(tmp_path / "submission.log")
        submission.predict(inputs(), "spam")
        submission.predict(inputs(), "spam")
    finally:
        submission.close()
    captured = capfd.readouterr()
    assert "beats all baselines" not in captured.out + captured.err
    log = (tmp_path / "submission.log").read_text()
    assert "beats all baselines" in log and len(log.encode()) < 4096 + 2000
    assert "more bytes of output dropped (log capped at 4096 bytes)" in log
    assert submission.sandbox_info()["log_bytes_dropped"] > 100_000


def test_a_torchscript_error_reports_its_real_cause_on_one_line(tmp_path):
    submission = load_sandboxed(make(Raises(), tmp_path / "sub"), limits=LIMITS)
    try:
        with pytest.raises(SubmissionOutputError) as err:
            submission.predict(inputs(1), "one graph")
        assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied (8x3 and 5x5)" in str(err.value)
        assert "test_hostile_models.py" in str(err.value) or "code/__torch__.py" in str(err.value)  # where it was raised
        with pytest.raises(SubmissionOutputError) as err:
            submission.predict(inputs(2), "two graphs")
        message = str(err.value)
        assert "ValueError: bad batch / speed-up 5000x" in message and "\n" not in message
    finally:
        submission.close()


# --- cost ---------------------------------------------------------------------------------------------

def test_a_single_graph_shortcut_does_not_make_it_cheap(tmp_path):
    submission = load_sandboxed(make(SingleGraphShortcut(), tmp_path / "sub"), limits=LIMITS)
    try:
        for _ in range(4):
            submission.predict(inputs(1, 256), "first call", phase="probe")
        for _ in range(8):
            submission.predict(inputs(4, 256), "rollout", phase="rollout")
        fast = min(c.seconds for c in submission.call_log if c.phase == "probe")
        slow = min(c.seconds for c in submission.call_log if c.phase == "rollout")
        cost = time_submission(submission, 256)
    finally:
        submission.close()
    assert cost["timed_on"] == "rollout calls" and cost["graphs_per_call"] == 4
    assert cost["seconds_per_stride"] >= slow > 10 * fast
    assert cost["us_per_atom_stride"] >= slow / (4 * 256) * 1e6


def test_validate_rejects_a_speedup_that_the_re_timing_does_not_support(tmp_path):
    def cost(speedup):
        return {"submission": {"timed_on": "rollout calls", "device": "cpu"}, "speedup_vs_lammps": speedup, "hardware": {"cpu_model": "x"}}

    from gnnbench.leaderboard.validate import ValidationReport

    edited = ValidationReport(tmp_path)
    _check_cost(tmp_path, cost(5000.0), cost(0.0646), False, edited)
    assert "speed-up over LAMMPS 5e+03x, but it re-times at 0.0646x" in edited.problems[0]
    honest = ValidationReport(tmp_path)
    _check_cost(tmp_path, cost(0.0646 * COST_TOLERANCE * 0.9), cost(0.0646), False, honest)
    assert honest.ok and f"within a factor {COST_TOLERANCE:g}" in honest.notes[0]
    old = ValidationReport(tmp_path)
    _check_cost(tmp_path, {"submission": {"device": "cpu"}, "speedup_vs_lammps": 71.9}, cost(0.0068), False, old)
    assert "timed on one graph per call" in old.problems[0]


# --- no sandbox ---------------------------------------------------------------------------------------------

def test_without_a_working_sandbox_scoring_refuses_and_says_why(tmp_path, monkeypatch):
    from gnnbench.predict import sandbox

    monkeypatch.setattr(sandbox, "bwrap_candidates", lambda: ["/nonexistent/bwrap"])
    path = make(ConstantVelocity(), tmp_path / "sub")
    with pytest.raises(SandboxUnavailable, match="could not be set up on this machine.*--trust-submission"):
        load_sandboxed(path, limits=LIMITS)


# --- end to end (mini) ------------------------------------------------------------------------------

def _without_timings(scores: dict) -> dict:
    return {k: v for k, v in scores.items() if k not in ("cost", "sandbox", "wall_seconds", "scored_on", "hardware")}


def test_hostile_models_score_to_a_clear_report_and_sandboxed_scores_equal_trusted_ones(tmp_path, mini_dataset):
    spam = make(Spam(), tmp_path / "spam", "spam")
    result = run_cli("score", str(spam.parent), "--data", str(mini_dataset), "--no-rollouts", "--no-cost", "--no-progress")
    assert "beats all baselines" not in result.stdout + result.stderr
    assert "its output: submission.log" in result.stdout
    assert "beats all baselines" in (spam.parent / "submission.log").read_text()

    slow = make(Slow(), tmp_path / "slow", "slow")
    result = run_cli("score", str(slow.parent), "--data", str(mini_dataset), "--no-rollouts", "--no-cost", "--no-progress",
                     "--call-timeout", "1", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "stride accuracy on test: no answer within 1.0 s (--call-timeout); the worker was stopped [input: split test, Δt 1 fs" in result.stdout

    folder = tmp_path / "cv"
    make(ConstantVelocity(), folder, "cv")
    run_cli("score", str(folder), "--data", str(mini_dataset), "--no-rollouts", "--no-progress", "--out", str(tmp_path / "sandboxed"))
    trusted = run_cli("score", str(folder), "--data", str(mini_dataset), "--no-rollouts", "--no-progress", "--out", str(tmp_path / "trusted"),
                      "--trust-submission")
    assert "WARNING: --trust-submission" in trusted.stdout and "sandbox: NONE" in trusted.stdout
    a, b = (json.loads((tmp_path / kind / "scores.json").read_text()) for kind in ("sandboxed", "trusted"))
    assert _without_timings(a) == _without_timings(b)
    assert a["sandbox"]["sandboxed"] is True and b["sandbox"]["sandboxed"] is False
    assert a["cost"]["submission"]["timed_on"] == "stride calls" and a["cost"]["submission"]["graphs_per_call"] > 1
