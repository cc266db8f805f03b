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



class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, altered, or not a chainrule checkpoint."""


# ---- the safetensors layer --------------------------------------------------------------------------------
def _digest(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> str:
    """SHA-256 over the metadata (without the digest itself) and every tensor's name, dtype, shape and bytes."""
    sha = hashlib.sha256(json.dumps(metadata, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        sha.update(json.dumps([name, array.dtype.str, list(array.shape)]).encode())
        sha.update(array.tobytes())
    return sha.hexdigest()


def encode_safetensors(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None,
                       checksum: bool = True) -> bytes:
    """The bytes of a safetensors file (written by the ``safetensors`` library; metadata values are strings),
    with a ``sha256`` metadata entry over everything else unless ``checksum=False``."""
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
    metadata entry must be present and match."""
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


def resolve(run: str | os.PathLike) -> str:
    """The checkpoint file of a run folder (its ``model.safetensors``), or ``run`` itself if it is a file."""
    run = os.fspath(run)
    if os.path.isdir(run):
        path = os.path.join(run, "model.safetensors")
        if not os.path.isfile(path):
            raise CheckpointError(f"no model.safetensors in the run folder {run}")
        return path
    if not os.path.isfile(run):
        raise CheckpointError(f"run folder or checkpoint not found: {run}")
    return run


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
