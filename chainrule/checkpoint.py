"""Checkpoints: safetensors files holding weights, architecture, optimiser state and training progress.

The file is plain safetensors (readable by ``safetensors.numpy.load_file``): an 8-byte little-endian
header length, a JSON header, then the raw tensor bytes. Nothing is ever unpickled, so loading runs no code.

Tensors: ``model/<param>`` (weights), ``optimizer/<i>.<buffer>`` (e.g. Adam's m and v), and any extra
arrays (``data/mean`` ...). Header metadata (string → string; JSON strings):

=================  ==============================================================================
``format``         ``chainrule-checkpoint/1``
``model``          the architecture (``model.spec()``), so `load` can rebuild the model
``optimizer``      optimiser type, hyper-parameters and scalar state (step counts)
``scheduler``      learning-rate schedule state (optional)
``info``           free-form training information: epoch, configuration, task, classes ...
``sha256``         SHA-256 of the canonical header (without this entry) and the tensor bytes
=================  ==============================================================================

Writes are atomic: a temporary file in the same folder, fsync, then ``os.replace``; an interrupted write
never leaves a half-written checkpoint under the final name. A truncated or altered file is refused.

>>> import chainrule.nn as nn, tempfile, os
>>> net = nn.mlp([4, 3], rng=0)
>>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
>>> save(path, net, info={"epoch": 1})
>>> ckpt = load(path)
>>> ckpt.info["epoch"], ckpt.build_model().spec() == net.spec()
(1, True)
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FORMAT = "chainrule-checkpoint/1"

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
           "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}
_MAX_HEADER = 100 * 2**20


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, altered, or not a chainrule checkpoint."""


# ---- the safetensors layer --------------------------------------------------------------------------------
def _digest(entries: dict[str, Any], metadata: dict[str, str], payload: bytes | memoryview) -> str:
    canonical = json.dumps({"tensors": entries, "metadata": metadata}, sort_keys=True, separators=(",", ":"))
    sha = hashlib.sha256(canonical.encode())
    sha.update(payload)
    return sha.hexdigest()


def encode_safetensors(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None,
                       checksum: bool = True) -> bytes:
    """The bytes of a safetensors file (tensors in name order; metadata values must be strings)."""
    metadata = dict(metadata or {})
    entries: dict[str, Any] = {}
    chunks: list[bytes] = []
    offset = 0
    for name in sorted(tensors):
        array = np.asarray(tensors[name])
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if dtype not in _CODES:
            raise TypeError(f"checkpoint: tensor '{name}' has dtype {array.dtype}, which safetensors cannot "
                            f"store (expected one of {', '.join(sorted(_CODES.values()))})")
        raw = np.ascontiguousarray(array, dtype=dtype).tobytes()
        entries[name] = {"dtype": _CODES[dtype], "shape": list(array.shape),
                         "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    payload = b"".join(chunks)
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise TypeError(f"checkpoint: metadata '{key}' must be a string (JSON-encode it first)")
    metadata.pop("sha256", None)
    if checksum:
        metadata["sha256"] = _digest(entries, {k: v for k, v in metadata.items()}, payload)
    header = json.dumps({"__metadata__": metadata, **entries}, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + payload


def decode_safetensors(raw: bytes, source: str = "checkpoint", verify: bool = True
                       ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Parse and validate safetensors bytes: ``(tensors, metadata)``. With ``verify``, the ``sha256``
    metadata entry must be present and match."""
    if len(raw) < 8:
        raise CheckpointError(f"{source}: file is truncated ({len(raw)} bytes; a safetensors file starts with "
                              f"an 8-byte header length)")
    (size,) = struct.unpack("<Q", raw[:8])
    if size > min(_MAX_HEADER, len(raw) - 8):
        raise CheckpointError(f"{source}: truncated or not a safetensors file (header claims {size} bytes, "
                              f"the file has {len(raw) - 8} after the length field)")
    try:
        header = json.loads(raw[8:8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{source}: corrupted safetensors header (not valid JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{source}: corrupted safetensors header (expected a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{source}: corrupted safetensors metadata (expected string values)")
    payload = memoryview(raw)[8 + size:]
    spans = []
    for name, entry in header.items():
        try:
            dtype = np.dtype(_DTYPES[entry["dtype"]])
            shape = tuple(int(d) for d in entry["shape"])
            begin, end = (int(v) for v in entry["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{source}: corrupted entry for tensor '{name}'") from None
        if min(shape, default=0) < 0 or end - begin != int(np.prod(shape)) * dtype.itemsize or begin < 0:
            raise CheckpointError(f"{source}: tensor '{name}' has inconsistent shape and byte range")
        spans.append((begin, end, name, dtype, shape))
    spans.sort()
    position = 0
    for begin, end, name, _, _ in spans:
        if begin != position:
            raise CheckpointError(f"{source}: tensor byte ranges overlap or leave gaps (at '{name}')")
        position = end
    if position != len(payload):
        raise CheckpointError(f"{source}: file is truncated or has trailing bytes (tensors need {position} "
                              f"bytes, the file holds {len(payload)})")
    if verify:
        expected = metadata.get("sha256")
        if expected is None:
            raise CheckpointError(f"{source}: no sha256 checksum in the metadata; not a chainrule checkpoint")
        rest = {k: v for k, v in metadata.items() if k != "sha256"}
        if _digest(header, rest, payload) != expected:
            raise CheckpointError(f"{source}: checksum mismatch: the file was altered or corrupted")
    tensors = {name: np.frombuffer(payload[begin:end], dtype=dtype).reshape(shape).copy()
               for begin, end, name, dtype, shape in spans}
    return tensors, metadata


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, ``os.replace``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
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


# ---- chainrule checkpoints ----------------------------------------------------------------------------------
@dataclass
class Checkpoint:
    """What `load` returns. ``model_state`` maps parameter names to arrays; ``arrays`` holds the extra
    tensors; ``info`` the free-form training information."""

    path: str
    model_spec: dict[str, Any]
    model_state: dict[str, np.ndarray]
    optimizer_state: dict[str, Any] | None = None
    scheduler_state: dict[str, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def build_model(self):
        """The model, rebuilt from its architecture and loaded with the saved weights."""
        from .nn import build_model

        model = build_model(self.model_spec, rng=0)
        try:
            model.load_state_dict(self.model_state)
        except (KeyError, ValueError) as error:
            raise CheckpointError(f"{self.path}: weights do not fit the stored architecture ({error})") from None
        return model


def save(path: str | os.PathLike, model: Any, optimizer: Any = None, scheduler: Any = None, *,
         info: dict[str, Any] | None = None, arrays: dict[str, np.ndarray] | None = None) -> None:
    """Write a checkpoint atomically (see the module docstring for the layout)."""
    tensors = {f"model/{name}": value for name, value in model.state_dict().items()}
    metadata = {"format": FORMAT, "model": json.dumps(model.spec()), "info": json.dumps(info or {})}
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


def load(path: str | os.PathLike) -> Checkpoint:
    """Read and verify a checkpoint written by `save`. Raises `CheckpointError` with the reason."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error.strerror}") from None
    tensors, metadata = decode_safetensors(raw, source=path)
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a chainrule checkpoint (format {metadata.get('format')!r}, "
                              f"expected {FORMAT!r})")
    try:
        spec = json.loads(metadata["model"])
        info = json.loads(metadata.get("info", "{}"))
        optimizer = json.loads(metadata["optimizer"]) if "optimizer" in metadata else None
        scheduler = json.loads(metadata["scheduler"]) if "scheduler" in metadata else None
    except (KeyError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: corrupted checkpoint metadata ({error})") from None
    model_state = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
    if optimizer is not None:
        optimizer["buffers"] = {k[len("optimizer/"):]: v for k, v in tensors.items()
                                if k.startswith("optimizer/")}
    arrays = {k: v for k, v in tensors.items() if not k.startswith(("model/", "optimizer/"))}
    return Checkpoint(path, spec, model_state, optimizer, scheduler, info, arrays)
