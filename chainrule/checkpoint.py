"""Checkpoints: safetensors files holding weights, architecture, optimiser state and training progress.

The file is plain safetensors, written and read by the ``safetensors`` library (an 8-byte header length,
a JSON header, then the raw tensor bytes). Nothing is ever unpickled, so loading runs no code.

Tensors: ``model/<param>`` (weights), ``optimizer/<i>.<buffer>`` (e.g. Adam's m and v), and any extra
arrays (``data/mean`` ...). Header metadata (string → string; JSON strings):

=================  ==============================================================================
``format``         ``chainrule-checkpoint/1``
``model``          the architecture (``model.spec()``), so `load` can rebuild the model
``optimizer``      optimiser type, hyper-parameters and scalar state (step counts)
``scheduler``      learning-rate schedule state (optional)
``info``           free-form training information: epoch, configuration, task, classes ...
``sha256``         SHA-256 of the other metadata and every tensor (name, dtype, shape, bytes)
=================  ==============================================================================

Writes are atomic: a temporary file in the same folder, fsync, then ``os.replace``; an interrupted write
never leaves a half-written checkpoint under the final name, and files get the user's umask. The
architecture is optional: a model whose class has no ``spec()`` is saved by its `state_dict` names and
restored into a model built by its own constructor (`Checkpoint.restore`).

Loading is defensive, and refuses with one line *before* any large allocation: files over ``max_bytes``,
headers over 8 MiB or nested deeper than 64 levels, tensors whose dtype, shape or offsets do not fit the
file, non-float weights or weights of mixed dtypes, an architecture whose weights would not be the ones
stored (its size is computed from the description, nothing is built), a checksum mismatch, and NaN or
infinite weights. The tensors are memory-mapped while they are checked, then copied once.

>>> import chainrule.nn as nn, tempfile, os
>>> net = nn.mlp([4, 3], rng=0)
>>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
>>> save(path, net, info={"epoch": 1})
>>> ckpt = load(path)
>>> ckpt.info["epoch"], ckpt.build_model().spec() == net.spec()
(1, True)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import struct
import tempfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FORMAT = "chainrule-checkpoint/1"
#: default bound on a checkpoint's size (pass ``max_bytes=`` to `load` for larger models)
MAX_BYTES = 2 * 1024**3
MAX_HEADER_BYTES = 8 * 1024**2
MAX_JSON_DEPTH = 64
__all__ = ["FORMAT", "MAX_BYTES", "MAX_HEADER_BYTES", "MAX_JSON_DEPTH", "Checkpoint", "CheckpointError", "RunLock",
           "RunLockError", "atomic_write", "decode_safetensors", "encode_safetensors", "load", "read_safetensors",
           "remove_orphaned_temporaries", "resolve", "save"]
_DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I8": "i1", "U8": "u1", "I16": "<i2", "I32": "<i4",
           "I64": "<i8", "BOOL": "?"}


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, altered, or not a chainrule checkpoint.

    >>> import os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "broken.safetensors")
    >>> with open(path, "wb") as handle:
    ...     _ = handle.write(bytes(2))
    >>> load(path)
    Traceback (most recent call last):
        ...
    chainrule.checkpoint.CheckpointError: .../broken.safetensors: file is truncated (2 bytes; a safetensors file
        starts with an 8-byte header length)
    >>> issubclass(CheckpointError, ValueError)
    True
    >>> tmp.cleanup()
    """


# ---- the safetensors layer --------------------------------------------------------------------------------
def _digest(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> str:
    """SHA-256 over the metadata (without the digest itself) and every tensor's name, dtype, shape and bytes."""
    sha = hashlib.sha256(json.dumps(metadata, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        sha.update(json.dumps([name, array.dtype.str, list(array.shape)]).encode())
        sha.update(array.reshape(-1).view(np.uint8) if array.size else b"")  # no copy of a memory map
    return sha.hexdigest()


def encode_safetensors(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None,
                       checksum: bool = True) -> bytes:
    """The bytes of a safetensors file (written by the ``safetensors`` library; metadata values are strings),
    with a ``sha256`` metadata entry over everything else unless ``checksum=False``.

    >>> raw = encode_safetensors({"w": np.arange(3, dtype=np.float32)}, {"note": "hi"})
    >>> int.from_bytes(raw[:8], "little") < len(raw), sorted(decode_safetensors(raw)[1])
    (True, ['note', 'sha256'])
    >>> encode_safetensors({"w": np.zeros(1)}, {"epoch": 1})
    Traceback (most recent call last):
        ...
    TypeError: checkpoint: metadata 'epoch' must be a string (JSON-encode it first)
    """
    from safetensors.numpy import save

    metadata = {k: v for k, v in (metadata or {}).items() if k != "sha256"}
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise TypeError(f"checkpoint: metadata '{key}' must be a string (JSON-encode it first)")
    arrays = {name: np.ascontiguousarray(array) for name, array in tensors.items()}
    if checksum:
        metadata["sha256"] = _digest(arrays, metadata)
    try:
        return save(arrays, metadata=metadata)
    except Exception as error:  # the library's own error type, for dtypes safetensors cannot store
        raise TypeError(f"checkpoint: cannot store these tensors in safetensors: {error}") from None


def decode_safetensors(raw: bytes, source: str = "checkpoint", verify: bool = True
                       ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Parse and validate safetensors bytes: ``(tensors, metadata)``. With ``verify``, the ``sha256``
    metadata entry must be present and match.

    >>> raw = encode_safetensors({"w": np.array([1.0, 2.0])}, {"note": "hi"})
    >>> tensors, metadata = decode_safetensors(raw)
    >>> tensors["w"], metadata["note"]
    (array([1., 2.]), 'hi')
    >>> raw = raw[:-8] + np.zeros(1).tobytes()  # the last number zeroed
    >>> decode_safetensors(raw, source="w.safetensors")
    Traceback (most recent call last):
        ...
    chainrule.checkpoint.CheckpointError: w.safetensors: checksum mismatch: the file was altered or corrupted
    >>> decode_safetensors(raw, verify=False)[0]["w"]
    array([1., 0.])
    """
    from safetensors.numpy import load

    if len(raw) < 8:
        raise CheckpointError(f"{source}: file is truncated ({len(raw)} bytes; a safetensors file starts with "
                              f"an 8-byte header length)")
    (size,) = struct.unpack("<Q", raw[:8])
    if size > len(raw) - 8:
        raise CheckpointError(f"{source}: truncated or not a safetensors file (header claims {size} bytes, "
                              f"the file has {len(raw) - 8} after the length field)")
    try:
        header = json.loads(raw[8:8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{source}: corrupted safetensors header (not valid JSON)") from None
    metadata = header.get("__metadata__") or {} if isinstance(header, dict) else None
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{source}: corrupted safetensors header or metadata")
    try:
        tensors = load(bytes(raw))
    except Exception as error:  # SafetensorError: truncated payload, inconsistent offsets, bad dtypes ...
        raise CheckpointError(f"{source}: truncated or corrupted safetensors file ({error})") from None
    if verify:
        expected = metadata.get("sha256")
        if expected is None:
            raise CheckpointError(f"{source}: no sha256 checksum in the metadata; not a chainrule checkpoint")
        if _digest(tensors, {k: v for k, v in metadata.items() if k != "sha256"}) != expected:
            raise CheckpointError(f"{source}: checksum mismatch: the file was altered or corrupted")
    return {name: array.copy() for name, array in tensors.items()}, metadata


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, ``os.replace``.

    >>> import os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "sub", "notes.txt")
    >>> atomic_write(path, b"hello")
    >>> from pathlib import Path
    >>> Path(path).read_bytes(), os.listdir(os.path.dirname(path))
    (b'hello', ['notes.txt'])
    >>> tmp.cleanup()
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(handle, 0o666 & ~_umask())  # mkstemp makes 0600 files; a saved file gets the user's umask
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    try:  # make the rename itself durable (not possible on every platform)
        directory = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory)
    except OSError:
        pass
    finally:
        os.close(directory)


def _umask() -> int:
    try:
        with open("/proc/self/status") as status:  # reading it does not change it (os.umask would, briefly)
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_TEMPORARY_OF = ("model.safetensors", "history.json", "history.csv")


def remove_orphaned_temporaries(folder: str | os.PathLike) -> int:
    """Delete the temporary files (``.model.safetensors.*.tmp`` ...) a killed save left in a run folder;
    returns how many. Call it only while holding the folder's `RunLock` (a live save's file looks the same).

    >>> import os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for name in (".model.safetensors.abc123.tmp", ".history.json.x.tmp", "keep.tmp"):
    ...     open(os.path.join(tmp.name, name), "w").close()
    >>> remove_orphaned_temporaries(tmp.name), os.listdir(tmp.name)
    (2, ['keep.tmp'])
    >>> tmp.cleanup()
    """
    removed = 0
    for name in os.listdir(folder):
        if name.endswith(".tmp") and any(name.startswith(f".{stem}.") for stem in _TEMPORARY_OF):
            try:
                os.unlink(os.path.join(folder, name))
                removed += 1
            except FileNotFoundError:
                pass
    return removed


class RunLockError(CheckpointError):
    """Another process holds the run folder's lock.

    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> lock = RunLock(tmp.name)
    >>> try:
    ...     RunLock(tmp.name)
    ... except RunLockError as error:
    ...     print(type(error).__name__, isinstance(error, CheckpointError))
    RunLockError True
    >>> lock.release(); tmp.cleanup()
    """


class RunLock:
    """An exclusive lock on a run folder, so that two trainers never write the same files: a ``.lock`` file
    locked with ``flock`` (released by the system when the process dies, so a crash leaves no stale lock)
    and holding the owner's process id. ``release()`` removes it.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> lock = RunLock(folder)
    >>> RunLock(folder)
    Traceback (most recent call last):
    ...
    chainrule.checkpoint.RunLockError: another trainer (process ...) is writing ...; wait for it ... --out
    >>> lock.release()
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.path = os.path.join(os.fspath(folder), ".lock")
        try:
            import fcntl
        except ImportError:  # no flock (Windows): an exclusive create; a crash leaves the file to delete by hand
            self._create_exclusively(folder)
            return
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                owner = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise RunLockError(f"another trainer (process {owner}) is writing {os.fspath(folder)}; wait for it "
                                   f"to finish or use another --out") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:  # (else the owner removed the file between our open and flock: try again)
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd: int | None = fd

    def _create_exclusively(self, folder: str | os.PathLike) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            raise RunLockError(f"another trainer is writing {os.fspath(folder)} (or one crashed: then delete "
                               f"{self.path}); wait for it to finish or use another --out") from None
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd

    def release(self) -> None:
        """Remove the lock file and unlock (idempotent).

        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> lock = RunLock(tmp.name)
        >>> lock.release(); lock.release()  # idempotent
        >>> RunLock(tmp.name).release()  # the folder is free again
        >>> tmp.cleanup()
        """
        if self.fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self.fd)
        self.fd = None


# ---- defensive reading ----------------------------------------------------------------------------------
def _json_depth_ok(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests at most ``limit`` levels (checked before ``json.loads``, which recurses)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True


def _loads(text: str, source: str, what: str) -> Any:
    if not _json_depth_ok(text):
        raise CheckpointError(f"{source}: the {what} nests deeper than {MAX_JSON_DEPTH} levels; refused")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{source}: corrupted {what} (not valid JSON)") from None


def read_safetensors(path: str, max_bytes: int = MAX_BYTES) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors (read-only memory maps of the file) and the metadata of a safetensors file, after checking
    its size, header, dtypes, shapes and offsets; nothing large is allocated. Raises `CheckpointError`.

    >>> import os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "w.safetensors")
    >>> atomic_write(path, encode_safetensors({"w": np.eye(2)}, {"note": "hi"}))
    >>> tensors, metadata = read_safetensors(path)
    >>> tensors["w"].shape, tensors["w"].flags.writeable, metadata["note"]
    ((2, 2), False, 'hi')
    >>> read_safetensors(path, max_bytes=100)
    Traceback (most recent call last):
        ...
    chainrule.checkpoint.CheckpointError: .../w.safetensors: the file has 208 bytes, over the limit of 100
        (pass max_bytes= to load larger checkpoints)
    >>> del tensors; tmp.cleanup()
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            start = handle.read(8)
            if len(start) < 8:
                raise CheckpointError(f"{path}: file is truncated ({len(start)} bytes; a safetensors file starts "
                                      f"with an 8-byte header length)")
            (header_size,) = struct.unpack("<Q", start)
            if header_size > size - 8:
                raise CheckpointError(f"{path}: truncated or not a safetensors file (header claims {header_size} "
                                      f"bytes, the file has {size - 8} after the length field)")
            if header_size > MAX_HEADER_BYTES:
                raise CheckpointError(f"{path}: the header claims {header_size} bytes, over the limit of "
                                      f"{MAX_HEADER_BYTES}; refused")
            raw_header = handle.read(header_size)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error.strerror}") from None
    if size > max_bytes:
        raise CheckpointError(f"{path}: the file has {size} bytes, over the limit of {max_bytes} (pass max_bytes= "
                              f"to load larger checkpoints)")
    try:
        text = raw_header.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{path}: corrupted safetensors header (not valid JSON)") from None
    header = _loads(text, path, "safetensors header")
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupted safetensors header or metadata")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{path}: corrupted safetensors header or metadata")
    payload = size - 8 - header_size
    entries, spans = {}, []
    for name, entry in header.items():
        if not isinstance(entry, dict) or entry.get("dtype") not in _DTYPES or \
                not isinstance(entry.get("shape"), list) or not isinstance(entry.get("data_offsets"), list) or \
                len(entry["data_offsets"]) != 2 or \
                not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                        for n in entry["shape"] + entry["data_offsets"]):
            raise CheckpointError(f"{path}: tensor '{name}' has a malformed entry in the header")
        dtype = np.dtype(_DTYPES[entry["dtype"]])
        begin, end = entry["data_offsets"]
        count = math.prod(entry["shape"])  # Python ints: no overflow
        if end < begin or end > payload or end - begin != count * dtype.itemsize:
            raise CheckpointError(f"{path}: tensor '{name}' ({entry['dtype']} {entry['shape']}) does not fit its "
                                  f"offsets {entry['data_offsets']} in a {payload}-byte payload")
        entries[name] = (dtype, tuple(entry["shape"]), begin, end)
        spans.append((begin, end, name))
    spans.sort()
    for (_, end_a, a), (begin_b, _, b) in zip(spans, spans[1:], strict=False):
        if begin_b < end_a:
            raise CheckpointError(f"{path}: tensors '{a}' and '{b}' overlap in the file")
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_size) if payload else np.zeros(0, np.uint8)
    tensors = {name: data[begin:end].view(dtype).reshape(shape) for name, (dtype, shape, begin, end) in entries.items()}
    return tensors, metadata


# ---- chainrule checkpoints ----------------------------------------------------------------------------------
@dataclass
class Checkpoint:
    """What `load` returns. ``model_state`` maps `state_dict` names to arrays; ``model_spec`` is the
    architecture (None if the model's class has no ``spec()``); ``arrays`` holds the extra tensors; ``info``
    the free-form training information.

    >>> import os, tempfile, chainrule.nn as nn, chainrule.optim as optim
    >>> tmp = tempfile.TemporaryDirectory()
    >>> net = nn.mlp([3, 4, 2], rng=0)
    >>> opt = optim.Adam(net.parameters(), lr=0.01)
    >>> path = os.path.join(tmp.name, "model.safetensors")
    >>> save(path, net, opt, info={"epoch": 5}, arrays={"data/mean": np.zeros(3)})
    >>> ckpt = load(path)
    >>> ckpt.model_spec, ckpt.info
    ({'type': 'mlp', 'sizes': [3, 4, 2], 'activation': 'relu'}, {'epoch': 5})
    >>> sorted(ckpt.model_state)
    ['0.bias', '0.weight', '2.bias', '2.weight']
    >>> ckpt.optimizer_state["type"], list(ckpt.arrays)
    ('Adam', ['data/mean'])
    >>> rebuilt = ckpt.build_model()
    >>> np.array_equal(rebuilt[0].weight.data, net[0].weight.data)
    True
    >>> fresh = ckpt.restore(nn.mlp([3, 4, 2], rng=1))
    >>> np.array_equal(fresh[2].bias.data, net[2].bias.data)
    True
    >>> ckpt.restore(nn.mlp([3, 5, 2], rng=1))
    Traceback (most recent call last):
        ...
    chainrule.checkpoint.CheckpointError: .../model.safetensors: the weights do not fit the model
        (load_state_dict: '0.weight' has shape (3, 4) in the state, but the model expects (3, 5))
    >>> tmp.cleanup()
    """

    path: str
    model_spec: dict[str, Any] | None
    model_state: dict[str, np.ndarray]
    optimizer_state: dict[str, Any] | None = None
    scheduler_state: dict[str, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def build_model(self):
        """The model, rebuilt from its architecture and loaded with the saved weights (in their dtype).

        >>> import os, tempfile, chainrule.nn as nn
        >>> tmp = tempfile.TemporaryDirectory(); path = os.path.join(tmp.name, "model.safetensors")
        >>> net = nn.mlp([2, 4, 3], activation="tanh", rng=0, dtype=np.float64)
        >>> save(path, net)
        >>> model = load(path).build_model()
        >>> print(model)
        MLP(sizes=[2, 4, 3], activation=tanh)
          (0): Linear(2 -> 4, init=xavier)  # 12 parameters
          (1): Tanh()
          (2): Linear(4 -> 3, init=xavier)  # 15 parameters
        total: 27 parameters
        >>> np.array_equal(model(chainrule.tensor(np.ones((1, 2)))).data, net(chainrule.tensor(np.ones((1, 2)))).data)
        True
        >>> tmp.cleanup()
        """
        from .nn import build_model

        if self.model_spec is None:
            raise CheckpointError(f"{self.path}: no architecture is stored (the model's class has no spec()); build "
                                  f"the model with its constructor and call restore(model)")
        dtype = next(iter(self.model_state.values())).dtype if self.model_state else np.float32
        try:
            model = build_model(self.model_spec, rng=0, dtype=dtype)
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"{self.path}: the stored architecture cannot be built ({error})") from None
        return self.restore(model)

    def restore(self, model):
        """Load the saved weights into ``model`` (e.g. built by its own constructor) and return it; a clear
        error names missing, unexpected and mis-shaped entries.

        >>> import os, tempfile, chainrule.nn as nn
        >>> class Scale(nn.Module):  # a model with no spec(): saved by its state_dict names only
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.a = nn.Parameter(np.array([2.0]))
        ...     def forward(self, x):
        ...         return self.a * x
        >>> tmp = tempfile.TemporaryDirectory(); path = os.path.join(tmp.name, "scale.safetensors")
        >>> save(path, Scale())
        >>> ckpt = load(path)
        >>> ckpt.model_spec, ckpt.restore(Scale()).a.data
        (None, array([2.]))
        >>> ckpt.build_model()
        Traceback (most recent call last):
            ...
        chainrule.checkpoint.CheckpointError: .../scale.safetensors: no architecture is stored (the model's class
        has no spec()); build the model with its constructor and call restore(model)
        >>> tmp.cleanup()
        """
        try:
            model.load_state_dict(self.model_state)
        except (KeyError, ValueError, TypeError) as error:
            message = error.args[0] if error.args else str(error)
            raise CheckpointError(f"{self.path}: the weights do not fit the model ({message})") from None
        return model


def save(path: str | os.PathLike, model: Any, optimizer: Any = None, scheduler: Any = None, *,
         info: dict[str, Any] | None = None, arrays: dict[str, np.ndarray] | None = None) -> None:
    """Write a checkpoint atomically (see the module docstring for the layout). Any `chainrule.nn.Module`
    works: its `state_dict` (parameters and buffers) by name; its architecture too if it has ``spec()``.

    >>> import os, tempfile, chainrule.nn as nn, chainrule.optim as optim
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "model.safetensors")
    >>> net = nn.Linear(2, 1, rng=0)
    >>> opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    >>> net.weight.grad, net.bias.grad = np.ones((2, 1)), np.ones(1); opt.step()
    >>> save(path, net, opt, optim.StepLR(opt, step_size=10), info={"epoch": 3})
    >>> tensors, metadata = read_safetensors(path)
    >>> sorted(tensors)
    ['model/bias', 'model/weight', 'optimizer/0.velocity', 'optimizer/1.velocity']
    >>> sorted(metadata)
    ['format', 'info', 'model', 'optimizer', 'scheduler', 'sha256']
    >>> del tensors; tmp.cleanup()
    """
    tensors = {f"model/{name}": value for name, value in model.state_dict().items()}
    metadata = {"format": FORMAT, "info": json.dumps(info or {}, allow_nan=False)}
    with contextlib.suppress(NotImplementedError):  # without one: restore into a model built by its constructor
        metadata["model"] = json.dumps(model.spec())
    if optimizer is not None:
        state = optimizer.state_dict()
        tensors.update({f"optimizer/{key}": value for key, value in state["buffers"].items()})
        metadata["optimizer"] = json.dumps({k: v for k, v in state.items() if k != "buffers"})
    if scheduler is not None:
        metadata["scheduler"] = json.dumps(scheduler.state_dict())
    for name, value in (arrays or {}).items():
        if name.startswith(("model/", "optimizer/")):
            raise ValueError(f"checkpoint: extra array name '{name}' clashes with the reserved prefixes")
        tensors[name] = np.asarray(value)
    atomic_write(path, encode_safetensors(tensors, metadata))


def resolve(run: str | os.PathLike) -> str:
    """The checkpoint file of a run folder (its ``model.safetensors``), or ``run`` itself if it is a file.

    >>> import os, tempfile, chainrule.nn as nn
    >>> tmp = tempfile.TemporaryDirectory()
    >>> resolve(tmp.name)
    Traceback (most recent call last):
        ...
    chainrule.checkpoint.CheckpointError: no model.safetensors in the run folder ...
    >>> save(os.path.join(tmp.name, "model.safetensors"), nn.Linear(2, 1, rng=0))
    >>> resolve(tmp.name) == os.path.join(tmp.name, "model.safetensors")
    True
    >>> tmp.cleanup()
    """
    run = os.fspath(run)
    if os.path.isdir(run):
        path = os.path.join(run, "model.safetensors")
        if not os.path.isfile(path):
            raise CheckpointError(f"no model.safetensors in the run folder {run}")
        return path
    if not os.path.isfile(run):
        raise CheckpointError(f"run folder or checkpoint not found: {run}")
    return run


def _check_model_tensors(path: str, state: dict[str, np.ndarray], spec: Any, info: dict[str, Any]) -> None:
    """The weights' dtypes, and the architecture's size against them, before anything is built."""
    from .nn import state_size

    dtypes = {array.dtype for array in state.values()}
    if any(dtype.kind != "f" or dtype.itemsize < 4 for dtype in dtypes):
        bad = next(name for name, array in state.items() if array.dtype.kind != "f" or array.dtype.itemsize < 4)
        raise CheckpointError(f"{path}: the weight '{bad}' is {state[bad].dtype}; expected float32 or float64")
    if len(dtypes) > 1:
        raise CheckpointError(f"{path}: the weights mix dtypes ({', '.join(sorted(map(str, dtypes)))}); expected one")
    expected_dtype = (info.get("config") or {}).get("dtype") if isinstance(info.get("config"), dict) else None
    if expected_dtype and dtypes and str(next(iter(dtypes))) != expected_dtype:
        raise CheckpointError(f"{path}: the weights are {next(iter(dtypes))}, but the run was configured for "
                              f"{expected_dtype}")
    if spec is not None:
        if not isinstance(spec, dict):
            raise CheckpointError(f"{path}: the stored architecture is not a description like {{'type': ...}}")
        try:
            expected = state_size(spec)
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"{path}: the stored architecture is malformed ({error})") from None
        stored = sum(array.size for array in state.values())
        if expected is not None and expected != stored:
            raise CheckpointError(f"{path}: the stored architecture describes {expected:,} weights, but the file "
                                  f"holds {stored:,}; refused")


def load(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> Checkpoint:
    """Read and verify a checkpoint written by `save`. Raises `CheckpointError` with the reason, in one line,
    before allocating anything large (see the module docstring for what is checked).

    >>> import os, tempfile, chainrule.nn as nn
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "model.safetensors")
    >>> net = nn.Linear(2, 1, rng=0)
    >>> save(path, net, info={"epoch": 1})
    >>> ckpt = load(path)
    >>> ckpt.info, ckpt.build_model().spec() == net.spec()
    ({'epoch': 1}, True)
    >>> from pathlib import Path
    >>> data = bytearray(Path(path).read_bytes()); data[-1] ^= 1  # one bit flipped
    >>> atomic_write(path, bytes(data))
    >>> load(path)
    Traceback (most recent call last):
        ...
    chainrule.checkpoint.CheckpointError: .../model.safetensors: checksum mismatch: the file was altered or corrupted
    >>> tmp.cleanup()
    """
    path = os.fspath(path)
    mapped, metadata = read_safetensors(path, max_bytes)
    expected = metadata.get("sha256")
    if expected is None:
        raise CheckpointError(f"{path}: no sha256 checksum in the metadata; not a chainrule checkpoint")
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a chainrule checkpoint (format {metadata.get('format')!r}, "
                              f"expected {FORMAT!r})")
    spec = _loads(metadata["model"], path, "architecture") if "model" in metadata else None
    info = _loads(metadata.get("info", "{}"), path, "training information")
    optimizer = _loads(metadata["optimizer"], path, "optimiser state") if "optimizer" in metadata else None
    scheduler = _loads(metadata["scheduler"], path, "schedule state") if "scheduler" in metadata else None
    if not isinstance(info, dict) or not isinstance(optimizer, dict | None) or not isinstance(scheduler, dict | None):
        raise CheckpointError(f"{path}: corrupted checkpoint metadata")
    model_state = {k[len("model/"):]: v for k, v in mapped.items() if k.startswith("model/")}
    _check_model_tensors(path, model_state, spec, info)
    if _digest(mapped, {k: v for k, v in metadata.items() if k != "sha256"}) != expected:
        raise CheckpointError(f"{path}: checksum mismatch: the file was altered or corrupted")
    for name, array in model_state.items():
        if not np.isfinite(array).all():
            raise CheckpointError(f"{path}: the weight '{name}' holds NaN or infinite values; refused")
    tensors = {name: np.array(array) for name, array in mapped.items()}  # the one copy, after every check
    del mapped
    model_state = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
    if optimizer is not None:
        optimizer["buffers"] = {k[len("optimizer/"):]: v for k, v in tensors.items()
                                if k.startswith("optimizer/")}
    arrays = {k: v for k, v in tensors.items() if not k.startswith(("model/", "optimizer/"))}
    return Checkpoint(path, spec, model_state, optimizer, scheduler, info, arrays)
