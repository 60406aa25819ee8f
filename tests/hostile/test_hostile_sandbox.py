"""The sealed sandbox (issue #21, part A): each attack on the sandboxed worker that broke it, as a test.

* writing to ``/``, ``/sandbox``, ``/usr`` or ``/dev/shm`` (bwrap's in-memory root was writable and
  uncapped: 960 MiB of host shared memory past every limit), and past the ``/tmp`` cap;
* ``torch.jit.fork`` running on more CPUs than the threads the scorer states;
* a 1 GiB sparse ``submission.pt`` read whole into memory before any size check;
* a model printing lines that pass for the scorer's, or terminal escapes, into ``submission.log``;
* the CUDA mode's binds of all of ``/sys`` and a ``/proc`` (checked on the command line: no GPU here);
* enormous finite outputs (``positions + 1e300``) that overflowed the metrics;
* data kept in buffers and tensor attributes, counted as 0 parameters.

The tests that start a sandboxed worker are marked slow (bubblewrap, a fresh Python and torch each);
the others check the pieces directly and are fast.
"""

from __future__ import annotations

import os
import resource
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from gnnbench.predict.export import trivial_metadata, write_submission
from gnnbench.predict.sandbox import (
    MODEL_PREFIX,
    LogSink,
    SandboxLimits,
    bwrap_candidates,
    bwrap_command,
    cuda_binds,
    load_sandboxed,
)
from gnnbench.predict.submission import (
    MAX_FILE_BYTES,
    MAX_SPEED_A_PER_PS,
    SubmissionError,
    SubmissionOutputError,
    check_model_file,
    check_outputs,
    counted_parameters,
    expected_shapes,
    load_submission,
    sha256_of,
)
from gnnbench.predict.trivial import ConstantVelocity
from gnnbench.predict.worker import describe_outputs
from gnnbench.score.inputs import batch_inputs

LIMITS = SandboxLimits(memory_gib=2.0, call_timeout_s=30.0, submission_timeout_s=120.0)
T = torch.Tensor


def inputs(n_graphs: int = 2, n_atoms: int = 8, dt_fs: float = 10.0) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(0)
    return batch_inputs(rng.normal(size=(n_graphs, n_atoms, 3)), rng.normal(size=(n_graphs, n_atoms, 3)), np.full((n_graphs, n_atoms), 13),
                        np.tile(np.eye(3) * 8.1, (n_graphs, 1, 1)), None, np.full(n_graphs, dt_fs), np.full(n_graphs, 300.0))


def make(module: torch.nn.Module, folder: Path, name: str = "hostile") -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return write_submission(module, trivial_metadata(name, "a hostile test model"), folder)


def pairs(args: list[str], flag: str) -> list[tuple[str, ...]]:
    """The operands of every ``flag`` in a bwrap command line (two for binds, one for --remount-ro, --proc)."""
    width = {"--ro-bind": 2, "--dev-bind": 2, "--symlink": 2, "--remount-ro": 1, "--proc": 1, "--tmpfs": 1}[flag]
    return [tuple(args[i + 1:i + 1 + width]) for i, a in enumerate(args) if a == flag]


# --- models ------------------------------------------------------------------------------------

class WriteAndReadBack(torch.nn.Module):
    """torch.save of ``n_bytes`` to ``target``, then reads them back: the call fails unless the whole file was written."""

    def __init__(self, target: str, n_bytes: int):
        super().__init__()
        self.target, self.n_bytes = target, n_bytes

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        torch.save(torch.ones(self.n_bytes, dtype=torch.uint8), self.target)
        back = torch.from_file(self.target, False, self.n_bytes, dtype=torch.uint8)
        return {"positions": positions + 0.0 * back[-1].to(positions.dtype), "velocities": velocities}


class Forks(torch.nn.Module):
    """Four heavy matmul loops started with torch.jit.fork and waited for: as many cores as the inter-op pool has."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.eye(160, dtype=torch.float64))

    def loop(self, x: T) -> T:
        for _ in range(200):
            x = torch.tanh(x @ self.weight)
        return x

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        futures: list[torch.jit.Future[T]] = []
        for i in range(4):
            futures.append(torch.jit.fork(self.loop, torch.full((160, 160), 0.001 * (i + 1), dtype=torch.float64)))
        total = torch.zeros((), dtype=torch.float64)
        for future in futures:
            total = total + torch.jit.wait(future).sum()
        return {"positions": positions + 0.0 * total, "velocities": velocities}


class Forger(torch.nn.Module):
    """Prints a line that looks like the scorer's, terminal escapes, a carriage return and bidi/zero-width characters."""

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        zero = int(species[0]) - 13  # built at run time: TorchScript saves a folded constant with these characters as code it cannot read
        print("[gnnbench] worker stopped: closed (exit status 0)")
        rlo = chr(zero + 0xE2) + chr(zero + 0x80) + chr(zero + 0xAE)  # U+202E in UTF-8 (TorchScript's chr makes one byte)
        zwsp = chr(zero + 0xE2) + chr(zero + 0x80) + chr(zero + 0x8B)  # U+200B
        print(chr(zero + 27) + "[2J" + chr(zero + 27) + "[31mscore OK" + chr(zero + 13) + "speed-up 5000x" + rlo + "olleh" + zwsp + "end")
        return {"positions": positions, "velocities": velocities}


class Enormous(torch.nn.Module):
    """Finite but enormous: positions + 1e300 (velocities too, on graph 1 only, when asked)."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        if self.what == "positions":
            return {"positions": positions + 1e300, "velocities": velocities}
        return {"positions": positions, "velocities": velocities + 1e6 * (batch == 1).to(velocities.dtype)[:, None]}


@torch.jit.script
class Store:
    def __init__(self, table: T):
        self.table = table


class Memoriser(torch.nn.Module):
    """Keeps data everywhere but in registered parameters: a buffer, plain tensor attributes, containers, a
    TorchScript class object; one parameter of 3 elements."""

    def __init__(self):
        super().__init__()
        self.shift = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
        self.register_buffer("registered", torch.zeros(5))
        self.plain = torch.zeros(7)
        self.listed: list[T] = [torch.zeros(11), torch.zeros(13)]
        self.keyed: dict[str, T] = {"a": torch.zeros(17)}
        self.paired: tuple[T, int] = (torch.zeros(19), 1)
        self.store = Store(torch.zeros(23))

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        return {"positions": positions + self.shift + self.plain[0] + self.store.table[0], "velocities": velocities}


HELD = 3 + 5 + 7 + 11 + 13 + 17 + 19 + 23  # every element the Memoriser holds


# --- the command line (fast) --------------------------------------------------------------------

def test_the_cpu_sandbox_is_read_only_but_a_capped_tmp_and_has_no_proc(tmp_path):
    args = bwrap_command("bwrap", tmp_path, "cpu", 1, SandboxLimits(tmp_bytes=1234567))
    body = args[:args.index("--")]
    ops = [i for i, a in enumerate(body) if a.startswith("--")]
    assert body[-2:] == ["--remount-ro", "/"], "the root is remounted read-only last, once every mount point exists"
    assert ("/",) in pairs(body, "--remount-ro") and ("/dev",) in pairs(body, "--remount-ro")
    assert pairs(body, "--tmpfs") == [("/tmp",)] and body[body.index("--tmpfs") - 2:body.index("--tmpfs")] == ["--size", "1234567"]
    assert ops[-1] == len(body) - 2
    assert "--proc" not in body and "--bind" not in body and "--dev-bind" not in body
    assert not [d for _, d in pairs(body, "--ro-bind") if d.startswith("/proc") and d != "/proc/cpuinfo"]
    assert not [d for _, d in pairs(body, "--ro-bind") if d == "/sys" or (d.startswith("/sys") and d != "/sys/devices/system/cpu")]


def test_the_cuda_sandbox_binds_only_what_the_driver_needs(tmp_path):
    sys_root, dev_root = tmp_path / "sys", tmp_path / "dev"
    gpu = sys_root / "devices/pci0000:16/0000:16:01.0/0000:17:00.0"
    nic = sys_root / "devices/pci0000:00/0000:00:03.0"
    for folder, vendor in ((gpu, "0x10de"), (nic, "0x8086")):
        folder.mkdir(parents=True)
        (folder / "vendor").write_text(vendor + "\n")
        link = sys_root / "bus/pci/devices" / folder.name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(folder, link.parent))
    for folder in ("module/nvidia", "module/nvidia_uvm", "module/e1000", "devices/system/node/node0", "bus/pci/drivers/nvidia",
                   "class/net/eth0", "fs/cgroup", "kernel", "firmware"):
        (sys_root / folder).mkdir(parents=True, exist_ok=True)
    dev_root.mkdir()
    for name in ("nvidiactl", "nvidia0", "nvidia-uvm", "sda", "kvm"):
        (dev_root / name).touch()

    args = cuda_binds(sys_root, dev_root)
    binds = {dest: source for source, dest in pairs(args, "--ro-bind")}
    assert set(binds) == {"/sys/module/nvidia", "/sys/module/nvidia_uvm", "/sys/devices/pci0000:16/0000:16:01.0/0000:17:00.0",
                          "/sys/bus/pci/drivers/nvidia", "/sys/devices/system/node"}
    assert binds["/sys/devices/pci0000:16/0000:16:01.0/0000:17:00.0"] == str(gpu.resolve())
    assert pairs(args, "--symlink") == [("../../../devices/pci0000:16/0000:16:01.0/0000:17:00.0", "/sys/bus/pci/devices/0000:17:00.0")]
    assert {dest for _, dest in pairs(args, "--dev-bind")} == {"/dev/nvidiactl", "/dev/nvidia0", "/dev/nvidia-uvm"}
    assert pairs(args, "--proc") == [("/proc",)]  # the sandbox's own procfs: /proc/self for the driver's thread names

    # on this machine (no GPU): CUDA mode has its own /proc, never all of /sys or the host's /proc, and ends read-only
    command = bwrap_command("bwrap", tmp_path, "cuda", 1, SandboxLimits())
    body = command[:command.index("--")]
    assert ("/sys", "/sys") not in pairs(body, "--ro-bind") and ("/proc", "/proc") not in pairs(body, "--ro-bind")
    assert pairs(body, "--proc") == [("/proc",)] and body[-2:] == ["--remount-ro", "/"]


# --- the submission file (fast) ------------------------------------------------------------------

def test_a_huge_sparse_submission_is_refused_before_it_is_read(tmp_path):
    folder = tmp_path / "sparse"
    path = make(ConstantVelocity(), folder)
    with open(path, "r+b") as stream:
        stream.truncate(MAX_FILE_BYTES + 1)  # a hole: no data, 1 GiB + 1 byte long
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    for refuse in (check_model_file, load_submission, lambda p: load_sandboxed(p, limits=LIMITS)):
        with pytest.raises(SubmissionError) as err:
            refuse(path)
        message = str(err.value)
        assert message == (f"{path}: refused, it is 1,073,741,825 bytes (1.00 GiB), more than the 1,073,741,824 bytes (1.00 GiB) a "
                           "submission file may have (gnnbench.predict.submission.MAX_FILE_BYTES); nothing of it was read")
    assert time.perf_counter() - started < 2.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 16 * 1024  # KiB: nothing was read into memory


def test_a_submission_file_is_hashed_in_chunks(tmp_path):
    path = tmp_path / "hole.pt"
    with open(path, "wb") as stream:
        stream.truncate(256 * 2**20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert sha256_of(path) == "a6d72ac7690f53be6ae46ba88506bd97302a093f7108472bd9efc3cefda06484"  # 256 MiB of zeros
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KiB; reading it whole took 256 MiB


# --- the parameter count (fast) -------------------------------------------------------------------

def test_buffers_and_tensor_attributes_are_counted_as_parameters(tmp_path):
    model = torch.jit.script(Memoriser())
    assert sum(p.numel() for p in model.parameters()) == 3  # what the worker used to report
    assert sum(b.numel() for b in model.buffers()) == 5 and sum(t.numel() for t in model.state_dict().values()) == 8
    path = make(Memoriser(), tmp_path / "memoriser")
    metadata = yaml.safe_load((path.parent / "metadata.yaml").read_text())
    assert counted_parameters(path) == metadata["parameter_count"] == HELD
    assert load_submission(path).metadata["parameter_count"] == HELD

    # a traced model's captured tensors become constants of its code: counted too
    table = torch.arange(41.0)
    traced = torch.jit.trace(lambda x: x + table, torch.zeros(41))
    torch.jit.save(traced, str(tmp_path / "traced.pt"))
    assert counted_parameters(tmp_path / "traced.pt") == 41

    metadata_path = path.parent / "metadata.yaml"
    metadata_path.write_text(yaml.safe_dump({**metadata, "parameter_count": 3}))
    with pytest.raises(SubmissionError) as err:
        load_submission(path)
    assert str(err.value).startswith(f"{path}: metadata parameter_count 3 differs from the model's {HELD:,} (every tensor element")
    assert "\n" not in str(err.value)


# --- outputs (fast) -----------------------------------------------------------------------------------

def checked(out: dict[str, torch.Tensor], given: dict[str, torch.Tensor], allow_nonfinite: bool = False) -> dict[str, torch.Tensor]:
    expected = expected_shapes(given)
    is_dict, infos, tensors = describe_outputs(out, expected)
    return check_outputs(is_dict, infos, tensors, expected, False, "nve rollout step 3 (t = 30 fs)", allow_nonfinite, given)


def test_enormous_or_non_physical_outputs_fail_the_call_with_the_largest_value():
    given = inputs()
    positions, velocities = given["positions"], given["velocities"]
    with pytest.raises(SubmissionOutputError) as err:
        checked({"positions": positions + 1e300}, given)
    assert str(err.value) == ("output 'positions' is not physical: atom 0 (graph 0) moved 1.73e+300 Å in one call, more than the 124 Å "
                              "possible at Δt 10 fs (1e+04 Å/ps × Δt plus the cell's edges) [input: nve rollout step 3 (t = 30 fs)]")
    fast = velocities.clone()
    fast[11] = torch.tensor([3e4, 0.0, 0.0], dtype=torch.float64)
    with pytest.raises(SubmissionOutputError, match=r"output 'velocities' is not physical: atom 11 \(graph 1\) has a speed of 3e\+04 Å/ps, "
                                                    r"more than 1e\+04 Å/ps \[input: nve rollout step 3"):
        checked({"positions": positions, "velocities": fast}, given)
    with pytest.raises(SubmissionOutputError, match="moved 1.1e\\+03 Å in one call, more than the 524 Å possible at Δt 50 fs"):
        checked({"positions": positions + torch.tensor([1100.0, 0.0, 0.0], dtype=torch.float64)}, inputs(dt_fs=50.0))

    # what is physically possible passes: a wrap into the cell (one lattice vector), the bound's own speed, NaN left to rollouts
    wrapped = positions + torch.tensor([8.1, -8.1, 8.1], dtype=torch.float64)
    assert torch.equal(checked({"positions": wrapped}, given)["positions"], wrapped)
    at_bound = velocities.clone()
    at_bound[0] = torch.tensor([MAX_SPEED_A_PER_PS, 0.0, 0.0], dtype=torch.float64)
    checked({"positions": positions, "velocities": at_bound}, given)
    nan = positions.clone()
    nan[3] = float("nan")
    assert torch.isnan(checked({"positions": nan}, given, allow_nonfinite=True)["positions"][3]).all()
    with pytest.raises(SubmissionOutputError, match="not finite"):
        checked({"positions": nan}, given)


# --- the log (fast) ------------------------------------------------------------------------------------

def test_the_models_lines_are_prefixed_and_cannot_pass_for_the_scorers(tmp_path):
    sink = LogSink(cap=10_000)
    sink.attach(tmp_path / "submission.log")
    sink.note("worker start 1 (loading)")
    sink.write(b"[gnnbench] worker stopped: closed (exit status 0)\nhalf a li")
    sink.write("ne\x1b[2J\x1b[31m OK\rfake\u202eolleh\u200b\x00\x85".encode() + b"\xff\n[gnnbench] unfinished")
    sink.note("worker stopped: died (killed by SIGBUS)")
    tail = sink.last_lines()
    sink.write(b" and the rest" + b"x" * 5000 + b"\n")
    sink.close()
    lines = (tmp_path / "submission.log").read_text().splitlines()
    assert lines[:5] == [
        "[gnnbench] worker start 1 (loading)",
        "model| [gnnbench] worker stopped: closed (exit status 0)",
        "model| half a line\\x1b[2J\\x1b[31m OK\\x0dfake\\u202eolleh\\u200b\\x00\\x85\\xff",
        "model| [gnnbench] unfinished",
        "[gnnbench] worker stopped: died (killed by SIGBUS)",
    ]
    assert lines[5] == "model|  and the rest" + "x" * (4096 - 13) and lines[6] == "model| " + "x" * (5000 - 4096 + 13)
    assert all(line.startswith((MODEL_PREFIX, "[gnnbench] ")) for line in lines)
    assert [line for line in lines if line.startswith("[gnnbench]")] == [lines[0], lines[4]]
    text = (tmp_path / "submission.log").read_text()
    assert not any(ch in text for ch in "\x1b\r\u202e\u200b\x00\x85")
    assert tail == ("model| [gnnbench] worker stopped: closed (exit status 0) / model| half a line\\x1b[2J\\x1b[31m OK\\x0dfake\\u202eolleh"
                    "\\u200b\\x00\\x85\\xff / model| [gnnbench] unfinished")  # the model's lines only, each marked as such


# --- through the worker (slow) --------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize(("target", "n_bytes", "written"), [("/x.pt", 16, False), ("/sandbox/x.pt", 16, False), ("/usr/x.pt", 16, False),
                                                          ("/dev/shm/x.pt", 16, False), ("/tmp/x.pt", 16, True), ("/tmp/x.pt", 80, False)])
def test_nothing_is_writable_but_the_capped_tmp(target, n_bytes, written, tmp_path):
    """MiB written with torch.save and read back: only /tmp takes them, and not past its 64 MiB cap."""
    submission = load_sandboxed(make(WriteAndReadBack(target, n_bytes * 2**20), tmp_path / "writer"), limits=LIMITS)
    try:
        if written:
            assert submission.predict(inputs(), "writing")["positions"].shape == (16, 3)
        else:  # torch.save fails silently or raises; either way the whole file is not there to read back
            with pytest.raises(SubmissionOutputError, match=r"^the submission raised .*\[input: writing\]$"):
                submission.predict(inputs(), "writing")
    finally:
        submission.close()
    assert not Path(target).exists() or target.startswith("/tmp/") and Path(target).stat().st_size < 2**20  # nothing on the host


@pytest.mark.slow
def test_torch_jit_fork_runs_on_the_threads_stated_and_its_cpu_time_is_measured(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the scorer states 1 thread (LAMMPS sets it so)
    try:
        submission = load_sandboxed(make(Forks(), tmp_path / "forks"), limits=LIMITS)
        try:
            for _ in range(4):
                submission.predict(inputs(), "forks")
            info = submission.sandbox_info()
        finally:
            submission.close()
    finally:
        torch.set_num_threads(threads)
    assert info["worker"]["cpus"] and len(info["worker"]["cpus"]) == 1
    assert info["worker"]["threads"] == 1 and info["worker"]["interop_threads"] == 1
    ratios = [c.cpu_seconds / c.seconds for c in submission.call_log]
    assert all(c.seconds > 0.02 for c in submission.call_log)  # heavy enough for the ratio to mean something
    assert max(ratios) <= 1.1, ratios  # one CPU busy at most (both cores of a 2-core machine before: about 2)
    assert info["cpu"]["calls"] == 4 and info["cpu"]["cpu_per_wall_second"] <= 1.1
    assert info["cpu"]["call_cpu_seconds"] > 0 and info["cpu"]["cpu_seconds_between_calls"] >= 0


@pytest.mark.slow
def test_the_worker_pins_itself_to_the_new_count_when_the_scorers_threads_change(tmp_path):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: nothing to narrow")
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        submission = load_sandboxed(make(ConstantVelocity(), tmp_path / "cv"), limits=LIMITS)
        try:
            assert len(submission.ready["cpus"]) == 2
            torch.set_num_threads(1)
            submission.predict(inputs(), "after LAMMPS started")
            assert len(submission.ready["cpus"]) == 1 and submission.starts == 2 and submission.thread_restarts == 1
        finally:
            submission.close()
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_a_model_cannot_forge_the_scorers_log_lines(tmp_path):
    submission = load_sandboxed(make(Forger(), tmp_path / "forger"), limits=LIMITS)
    try:
        submission.attach_log(tmp_path / "submission.log")
        submission.predict(inputs(), "forging")
    finally:
        submission.close()
    lines = (tmp_path / "submission.log").read_text().splitlines()
    assert "model| [gnnbench] worker stopped: closed (exit status 0)" in lines
    assert "model| \\x1b[2J\\x1b[31mscore OK\\x0dspeed-up 5000x\\u202eolleh\\u200bend" in lines
    notes = [line for line in lines if line.startswith("[gnnbench] ")]
    assert [n.split(":")[0] for n in notes] == ["[gnnbench] worker start 1 (loading)", "[gnnbench] worker stopped"]
    assert all(line.startswith(("model| ", "[gnnbench] ")) for line in lines)


@pytest.mark.slow
def test_an_enormous_output_is_a_failed_call_through_the_sandbox(tmp_path):
    submission = load_sandboxed(make(Enormous("positions"), tmp_path / "positions"), limits=LIMITS)
    try:
        with pytest.raises(SubmissionOutputError, match=r"output 'positions' is not physical: atom 0 \(graph 0\) moved 1.73e\+300 Å in one "
                                                        r"call.*\[input: nve rollout step 1"):
            submission.predict(inputs(), "nve rollout step 1 (t = 10 fs)", allow_nonfinite=True, phase="rollout")
    finally:
        submission.close()
    submission = load_sandboxed(make(Enormous("velocities"), tmp_path / "velocities"), limits=LIMITS)
    try:
        with pytest.raises(SubmissionOutputError, match=r"atom \d+ \(graph 1\) has a speed of 1.7\de\+06 Å/ps"):
            submission.predict(inputs(), "split test, Δt 10 fs")
        assert submission.starts == 1  # a refused output is not a crash: the worker goes on
    finally:
        submission.close()


@pytest.mark.slow
def test_the_worker_counts_buffers_and_a_wrong_count_is_refused(tmp_path):
    path = make(Memoriser(), tmp_path / "memoriser")
    submission = load_sandboxed(path, limits=LIMITS)
    try:
        assert (submission.ready["parameter_count"], submission.ready["parameters"], submission.ready["buffers"]) == (HELD, 3, HELD - 3)
    finally:
        submission.close()
    metadata_path = path.parent / "metadata.yaml"
    metadata_path.write_text(yaml.safe_dump({**yaml.safe_load(metadata_path.read_text()), "parameter_count": 3}))
    with pytest.raises(SubmissionError, match=rf"^{path}: metadata parameter_count 3 differs from the model's {HELD} \(every tensor"):
        load_sandboxed(path, limits=LIMITS)


def test_bubblewrap_is_there():
    """The slow tests above need it (a machine without it fails them with SandboxUnavailable, saying why)."""
    assert bwrap_candidates()
