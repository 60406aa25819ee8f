"""The sandboxed worker: loads one submission (any format of :mod:`gnnbench.predict.formats`) and answers calls over two pipes.

This file is run by :mod:`gnnbench.predict.sandbox` inside bubblewrap as a plain script
(``python -I /sandbox/worker.py CONFIG``), where nothing of gnnbench but this file and the format
modules (``/sandbox/formats``) is visible; it therefore imports only the standard library, torch and those. The scorer's own process imports it
too, for the pieces both sides share: the wire format, :func:`describe_outputs` and
:func:`describe_error`.

Wire format, one message each way per request (little-endian; no pickle anywhere)::

    8 bytes   header length H (uint64)
    H bytes   JSON header; "arrays": [{"dtype": "float64"|"int64", "shape": [...]}, ...]
    ...       the arrays' raw bytes, C order, one after the other

The reader checks the header size, every dtype and shape and the payload size against caps it
chooses before reading the bytes: the scorer treats whatever comes from the worker as hostile.
Requests come on the file descriptor ``fd_in`` and answers go to ``fd_out``; the worker's
stdout and stderr (the model's ``print``) are another pipe that the scorer writes to
``submission.log``, so nothing a model prints can reach the protocol or the report.

CPUs: the worker runs on as many CPUs as the scorer states threads (``threads``; the CPUs are
the first ``threads`` of the list ``cpus`` the scorer chose). It pins itself to them before
torch is imported, so every thread torch starts (OpenMP's, the inter-op pool that runs
``torch.jit.fork``) inherits the pin, which TorchScript has no way to change; torch's intra-op
and inter-op thread counts are set to ``threads`` too. Each answer carries the CPU time the
worker used during the call (``cpu_seconds``, all its threads) and since its previous answer
(``cpu_seconds_between``: work a model forked and did not wait for runs on after its call), so
that CPU-seconds per wall-second can be checked beside the wall time.
"""

from __future__ import annotations

import json
import os
import re
import struct
import sys
import time

if __name__ == "__main__":  # pin before torch starts any thread: threads inherit the CPUs of the thread that creates them
    try:
        _config = json.loads(sys.argv[1])
        os.sched_setaffinity(0, _config["cpus"][:max(1, int(_config["threads"]))])
    except (OSError, LookupError, TypeError, ValueError):
        pass  # the "ready" header reports the CPUs the worker has; the scorer refuses a worker that has more than it stated

import torch  # noqa: E402

INPUT_NAMES = ("positions", "velocities", "species", "batch", "cell", "descriptors", "dt_fs", "temperature_K")
OUTPUT_KEYS = ("positions", "velocities", "cell")
DTYPES = {"float64": (torch.float64, 8), "int64": (torch.int64, 8)}
MAX_HEADER_BYTES = 1 << 20
ERROR_TEXT_CHARS = 800


class ProtocolError(RuntimeError):
    """A message broke the wire format (size, dtype, shape or JSON)."""


# --- wire format ------------------------------------------------------------------------------

def encode(header: dict, arrays: list[torch.Tensor]) -> bytes:
    arrays = [a.detach().to("cpu").contiguous() for a in arrays]
    specs = []
    for a in arrays:
        name = {torch.float64: "float64", torch.int64: "int64"}.get(a.dtype)
        if name is None:
            raise ProtocolError(f"cannot send dtype {a.dtype}")
        specs.append({"dtype": name, "shape": list(a.shape)})
    head = json.dumps({**header, "arrays": specs}, allow_nan=True).encode()
    return b"".join([struct.pack("<Q", len(head)), head] + [_le_bytes(a) for a in arrays])


def _le_bytes(a: torch.Tensor) -> bytes:
    data = a.numpy().tobytes() if a.numel() else b""
    return data if sys.byteorder == "little" else a.numpy().byteswap().tobytes()


def parse_header(head: bytes, max_payload: int) -> tuple[dict, list[tuple[torch.dtype, tuple[int, ...]]], int]:
    """Decode and check a header; return it, the array specs and the payload size in bytes."""
    try:
        header = json.loads(head.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ProtocolError(f"header is not JSON ({err})") from None
    if not isinstance(header, dict) or not isinstance(header.get("arrays", []), list):
        raise ProtocolError("header is not a JSON object with a list 'arrays'")
    specs, total = [], 0
    for spec in header.get("arrays", []):
        if not isinstance(spec, dict) or spec.get("dtype") not in DTYPES or not isinstance(spec.get("shape"), list):
            raise ProtocolError(f"bad array spec {str(spec)[:80]}")
        shape = spec["shape"]
        if len(shape) > 4 or not all(type(n) is int and 0 <= n < 1 << 40 for n in shape):
            raise ProtocolError(f"bad array shape {str(shape)[:80]}")
        dtype, size = DTYPES[spec["dtype"]]
        count = 1
        for n in shape:
            count *= n
        total += count * size
        if total > max_payload:
            raise ProtocolError(f"payload over the {max_payload} bytes allowed")
        specs.append((dtype, tuple(shape)))
    return header, specs, total


def arrays_from(payload: bytes, specs: list[tuple[torch.dtype, tuple[int, ...]]]) -> list[torch.Tensor]:
    out, offset = [], 0
    for dtype, shape in specs:
        count = 1
        for n in shape:
            count *= n
        size = count * 8
        chunk = bytearray(payload[offset:offset + size])  # a private, writable copy
        offset += size
        tensor = torch.frombuffer(chunk, dtype=dtype) if size else torch.empty(0, dtype=dtype)
        if sys.byteorder != "little":
            tensor = torch.from_numpy(tensor.numpy().byteswap())
        out.append(tensor.reshape(shape))
    return out


def _read_exactly(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int, max_payload: int) -> tuple[dict, list[torch.Tensor]]:
    """Blocking read of one message (the worker's side; the scorer reads with a deadline)."""
    (length,) = struct.unpack("<Q", _read_exactly(fd, 8))
    if length > MAX_HEADER_BYTES:
        raise ProtocolError(f"header of {length} bytes")
    header, specs, total = parse_header(_read_exactly(fd, length), max_payload)
    return header, arrays_from(_read_exactly(fd, total), specs)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# --- shared between the worker and the scorer ------------------------------------------------

def clean_text(text: str, limit: int = ERROR_TEXT_CHARS) -> str:
    """One line of printable text: a model chooses its error messages, and they go into reports."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", str(text))
    text = " / ".join(line.strip() for line in text.splitlines() if line.strip())
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def describe_error(err: BaseException) -> str:
    """The real cause of an exception, in one line.

    A TorchScript error's message starts with "The following operation failed in the
    TorchScript interpreter" and two tracebacks; the cause is the last line(s) after them
    (e.g. "RuntimeError: mat1 and mat2 shapes cannot be multiplied (4x3 and 5x5)"). That is what
    is reported, with where it was raised (the submitter's own file and line when the archive
    kept them, else the serialized code's).
    """
    message = str(err).strip()
    lines = message.splitlines()
    if not lines:
        return type(err).__name__
    if "TorchScript" not in lines[0] or len(lines) < 2:
        return clean_text(f"{type(err).__name__}: {message}")
    cause_start = None
    for i, line in enumerate(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b.*:", line):
            cause_start = i
    cause = "\n".join(lines[cause_start:]) if cause_start is not None else lines[-1]
    where = [m.groups() for m in (re.match(r'^\s*File "([^"]+)", line (\d+), in (\w+)', line) for line in lines) if m]
    location = f" (at {where[-1][0]}, line {where[-1][1]}, in {where[-1][2]})" if where else ""
    return clean_text(cause + location)


def describe_outputs(out, expected: dict[str, tuple[int, ...]]) -> tuple[bool, dict[str, dict], dict[str, torch.Tensor]]:
    """What a model returned: (is a dict, {key: description}, {key: float64 CPU tensor}).

    Only the keys of ``expected`` are looked at. A tensor is converted (and sent, by the worker)
    only when it is floating-point and has the expected shape; the scorer's checks
    (:func:`gnnbench.predict.submission.check_outputs`) decide what the rest means.
    """
    if not isinstance(out, dict):
        return False, {}, {}
    infos, tensors = {}, {}
    for key in OUTPUT_KEYS:
        if key not in out or key not in expected:
            continue
        value = out[key]
        if not isinstance(value, torch.Tensor):
            infos[key] = {"tensor": False, "type": type(value).__name__}
            continue
        infos[key] = {"tensor": True, "floating": bool(value.is_floating_point()), "dtype": str(value.dtype).replace("torch.", ""),
                      "shape": list(value.shape)}
        if value.is_floating_point() and tuple(value.shape) == tuple(expected[key]):
            tensors[key] = value.detach().to("cpu", torch.float64)
    return True, infos, tensors


def timed_call(module, inputs: dict[str, torch.Tensor], device: torch.device):
    """Call the model once; return (its output, wall seconds and CPU seconds of moving the inputs and the call).

    CPU seconds are the process's (``time.process_time``: every thread of it, ``torch.jit.fork``'s
    inter-op threads included), so CPU seconds per wall second above the threads stated says
    the model used more CPUs than it was given.
    """
    cpu, started = time.process_time(), time.perf_counter()
    moved = [inputs[name].to(device) for name in INPUT_NAMES]
    with torch.no_grad():
        out = module(*moved)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return out, time.perf_counter() - started, time.process_time() - cpu


def parameter_elements(module) -> int:
    """Elements of the module's registered parameters, a tensor shared by several counted once."""
    seen, total = set(), 0
    for p in module.parameters():
        key = (p.untyped_storage().data_ptr(), p.storage_offset(), tuple(p.shape), tuple(p.stride()), p.dtype)
        if key not in seen:
            seen.add(key)
            total += int(p.numel())
    return total


# --- the worker's main loop --------------------------------------------------------------------

def import_formats(parent: str):
    """gnnbench's format modules (:mod:`gnnbench.predict.formats`), which the sandbox binds at ``parent``/formats."""
    sys.path.insert(0, parent)
    import formats  # noqa: PLC0415
    return formats


def _set_limits(limits: dict) -> None:
    import resource

    for name, value in limits.items():
        if value is not None:
            which = getattr(resource, name)
            resource.setrlimit(which, (int(value), int(value)))


def main(config: dict) -> int:
    fd_in, fd_out = config["fd_in"], config["fd_out"]
    send = lambda header, arrays=(): write_all(fd_out, encode(header, list(arrays)))  # noqa: E731
    try:
        threads = max(1, int(config["threads"]))
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)  # torch.jit.fork's pool; only settable before its first use
        device = torch.device(config["device"])
        formats = import_formats(config["formats_parent"])
        model_format = formats.detect(config["submission"])
        module, info = model_format.load(config["submission"], device)
        parameters = parameter_elements(getattr(module, "model", module))
        stored = max(parameters, model_format.count_parameters(config["submission"]))
    except Exception as err:  # a broken file: say why, then stop
        send({"op": "ready", "ok": False, "error": describe_error(err)})
        return 1
    send({"op": "ready", "ok": True, "format": model_format.NAME, "strides_fs": info["strides_fs"], "masses_u": info["masses_u"],
          "parameter_count": stored, "parameters": parameters, "buffers": stored - parameters,
          "torch": torch.__version__, "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
          "cpus": sorted(os.sched_getaffinity(0)), "cpu_capability": torch.backends.cpu.get_cpu_capability()})
    max_payload = int(config["max_request_bytes"])
    answered = time.process_time()  # the CPU clock when the worker last answered
    while True:
        try:
            request, arrays = read_message(fd_in, max_payload)
        except EOFError:
            return 0
        if request.get("op") == "quit":
            return 0
        threads = request.get("threads")
        if isinstance(threads, int) and threads > 0 and threads != torch.get_num_threads():
            torch.set_num_threads(threads)  # the scorer's own count (it restarts a worker pinned to another count)
        expected = {k: tuple(v) for k, v in request.get("expected", {}).items()}
        inputs = dict(zip(INPUT_NAMES, arrays, strict=True))
        between = time.process_time() - answered
        try:
            out, seconds, cpu_seconds = timed_call(module, inputs, device)
        except Exception as err:  # the model raised: report it, stay alive for the next call
            send({"op": "call", "nonce": request.get("nonce"), "ok": False, "error": describe_error(err)})
            answered = time.process_time()
            continue
        is_dict, infos, tensors = describe_outputs(out, expected)
        keys = sorted(tensors)
        send({"op": "call", "nonce": request.get("nonce"), "ok": True, "seconds": seconds, "cpu_seconds": cpu_seconds,
              "cpu_seconds_between": between, "is_dict": is_dict, "outputs": infos, "sent": keys}, [tensors[k] for k in keys])
        answered = time.process_time()


if __name__ == "__main__":
    settings = json.loads(sys.argv[1])
    _set_limits(settings.pop("rlimits", {}))
    sys.exit(main(settings))
