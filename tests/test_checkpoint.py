"""Checkpoints: round trip, safetensors compatibility, atomic writes, refusal of damaged files."""

import json
import os

import numpy as np
import pytest

import chainrule.nn as nn
import chainrule.optim as optim
from chainrule import checkpoint
from chainrule.checkpoint import CheckpointError


def _trained(steps=3):
    net = nn.mlp([4, 5, 3], "tanh", rng=0)
    opt = optim.Adam(net.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        for p in net.parameters():
            p.grad = rng.normal(size=p.shape)
        opt.step()
    return net, opt


def test_round_trip_restores_weights_architecture_and_optimizer(tmp_path):
    net, opt = _trained()
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, net, opt, info={"epoch": 3, "note": "hi"}, arrays={"data/mean": np.arange(4.0)})
    ckpt = checkpoint.load(path)
    assert ckpt.info == {"epoch": 3, "note": "hi"} and ckpt.model_spec == net.spec()
    rebuilt = ckpt.build_model()
    for (name, p), (_, q) in zip(net.named_parameters(), rebuilt.named_parameters(), strict=True):
        assert np.array_equal(p.data, q.data), name
    opt2 = optim.Adam(rebuilt.parameters(), lr=0.5)
    opt2.load_state_dict(ckpt.optimizer_state)
    assert opt2.lr == 0.01 and opt2.state[0]["step"] == 3
    assert np.array_equal(opt2.state[0]["m"], opt.state[0]["m"])
    assert np.array_equal(ckpt.arrays["data/mean"], np.arange(4.0))


def test_file_is_standard_safetensors(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    net, opt = _trained()
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, net, opt)
    tensors = safetensors_numpy.load_file(str(path))
    assert np.array_equal(tensors["model/0.weight"], net[0].weight.data)
    assert "optimizer/0.m" in tensors


def test_no_pickle_anywhere(tmp_path):
    net, _ = _trained()
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, net)
    raw = path.read_bytes()
    header = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])
    assert all(isinstance(v, str) for v in header["__metadata__"].values())


def test_atomic_write_survives_crash_before_rename(tmp_path, monkeypatch):
    net, _ = _trained()
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, net, info={"epoch": 1})
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("simulated crash between write and rename")

    monkeypatch.setattr(os, "replace", crash)
    net[0].weight.data += 1.0
    with pytest.raises(OSError, match="simulated crash"):
        checkpoint.save(path, net, info={"epoch": 2})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert checkpoint.load(path).info["epoch"] == 1
    assert os.listdir(tmp_path) == ["m.safetensors"]  # the temporary file was cleaned up


@pytest.mark.parametrize("cut", [0, 5, 40, -1, -8])
def test_truncated_file_is_refused(tmp_path, cut):
    net, opt = _trained()
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, net, opt)
    raw = path.read_bytes()
    path.write_bytes(raw[:cut] if cut >= 0 else raw[:cut])
    with pytest.raises(CheckpointError, match="truncated|corrupted"):
        checkpoint.load(path)


def test_tampered_payload_and_metadata_are_refused(tmp_path):
    net, _ = _trained()
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, net, info={"epoch": 7})
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        checkpoint.load(path)
    checkpoint.save(path, net, info={"epoch": 7})
    path.write_bytes(path.read_bytes().replace(b'\\"epoch\\": 7', b'\\"epoch\\": 9'))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        checkpoint.load(path)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        checkpoint.load(tmp_path / "nope.safetensors")
    foreign = tmp_path / "other.safetensors"
    checkpoint.atomic_write(foreign, checkpoint.encode_safetensors({"w": np.zeros(2)}, checksum=False))
    with pytest.raises(CheckpointError, match="no sha256 checksum"):
        checkpoint.load(foreign)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        checkpoint.load(junk)


# ---- any Module; forged and oversized files ------------------------------------------------------------
class Custom(nn.Module):
    """A user's own model with no spec(): saved by state_dict names, restored into a fresh instance."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Conv2d(1, 2, 3, rng=0)
        self.norm = nn.BatchNorm2d(2)
        self.head = nn.Linear(8, 3, rng=1)

    def forward(self, x):
        return self.head(nn.functional.flatten(nn.functional.max_pool2d(self.norm(self.encoder(x)), 2)))


def test_a_users_module_round_trips_by_state_dict_names(tmp_path):
    import chainrule as cr

    model = Custom()
    model(cr.tensor(np.random.default_rng(0).standard_normal((4, 1, 6, 6)).astype(np.float32)))  # moves the stats
    path = tmp_path / "custom.safetensors"
    checkpoint.save(path, model)
    saved = checkpoint.load(path)
    assert saved.model_spec is None and "norm.running_mean" in saved.model_state
    fresh = saved.restore(Custom())
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
    with pytest.raises(CheckpointError, match=r"no architecture is stored .* call restore\(model\)"):
        saved.build_model()
    with pytest.raises(CheckpointError, match=r"the weights do not fit the model \(load_state_dict: Linear's "
                                              r"parameter names do not match the state \(missing: "
                                              r"\['weight', 'bias'\]; unexpected: "):
        saved.restore(nn.Linear(2, 2))


def test_load_state_dict_names_missing_unexpected_and_misshaped_keys():
    net = nn.mlp([3, 4, 2], rng=0)
    state = net.state_dict()
    with pytest.raises(KeyError, match=r"missing: \['2.bias'\]; unexpected: \['extra'\]"):
        net.load_state_dict({**{k: v for k, v in state.items() if k != "2.bias"}, "extra": np.zeros(1)})
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(4, 3\) in the state, but the model expects \(3, 4\)"):
        net.load_state_dict({**state, "0.weight": np.zeros((4, 3))})
    with pytest.raises(TypeError, match=r"'0.bias' holds <U1 values"):
        net.load_state_dict({**state, "0.bias": np.array(["a"] * 4)})
    before = net.state_dict()["0.weight"].copy()
    with pytest.raises(ValueError):
        net.load_state_dict({**state, "0.weight": state["0.weight"] + 1, "2.weight": np.zeros((1, 1))})
    np.testing.assert_array_equal(net.state_dict()["0.weight"], before)  # nothing changed on a failure


def _forged(tmp_path, tensors, spec, info=None, name="forged.safetensors"):
    """A checksum-valid checkpoint with the given contents (as an attacker can make one)."""
    metadata = {"format": checkpoint.FORMAT, "model": json.dumps(spec) if isinstance(spec, dict) else spec,
                "info": json.dumps(info or {})}
    path = tmp_path / name
    checkpoint.atomic_write(path, checkpoint.encode_safetensors(tensors, metadata))
    return path


def _valid_tensors(dtype=np.float32):
    net = nn.mlp([4, 3], rng=0, dtype=dtype)
    return {f"model/{k}": v for k, v in net.state_dict().items()}, net.spec()


def _peak_allocation(call):
    import tracemalloc

    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize(("forge", "message"), [
    (lambda t, s: ({**t, "model/0.weight": t["model/0.weight"].astype(np.int32)}, s),
     "the weight '0.weight' is int32; expected float32 or float64"),
    (lambda t, s: ({**t, "model/0.weight": np.full_like(t["model/0.weight"], np.nan)}, s),
     "the weight '0.weight' holds NaN or infinite values"),
    (lambda t, s: ({**t, "model/0.bias": t["model/0.bias"].astype(np.float64)}, s), "the weights mix dtypes"),
    (lambda t, s: (t, {"type": "mlp", "sizes": [4, 10**9, 3]}),
     "the stored architecture describes 8,000,000,003 weights, but the file holds 15"),
    (lambda t, s: (t, {"type": "cnn", "input_shape": [1, 10**5, 10**5], "channels": [64], "hidden": [], "classes": 3}),
     "but the file holds 15; refused"),
    (lambda t, s: (t, "[" * 5000 + "]" * 5000), "the architecture nests deeper than 64 levels"),
    (lambda t, s: (t, {"type": "mlp", "sizes": [4, "3"]}), "the stored architecture is malformed"),
])
def test_forged_checkpoints_are_refused_in_one_line_before_allocating(tmp_path, forge, message):
    tensors, spec = forge(*_valid_tensors())
    path = _forged(tmp_path, tensors, spec)
    errors = []

    def attempt():
        try:
            checkpoint.load(path).build_model()
        except CheckpointError as error:
            errors.append(str(error))

    peak = _peak_allocation(attempt)
    assert errors and message in errors[0] and "\n" not in errors[0], errors
    assert peak < 20 * 2**20  # nothing the size of the forged architecture was allocated


def test_weights_must_have_the_configured_dtype(tmp_path):
    tensors, spec = _valid_tensors(np.float64)
    path = _forged(tmp_path, tensors, spec, info={"config": {"dtype": "float32"}})
    with pytest.raises(CheckpointError, match="the weights are float64, but the run was configured for float32"):
        checkpoint.load(path)


def _raw_safetensors(header: bytes, payload: bytes = b"") -> bytes:
    import struct

    return struct.pack("<Q", len(header)) + header + payload


@pytest.mark.parametrize(("raw", "message"), [
    (_raw_safetensors(b'{"__metadata__": {"a": "b"}, "x": ' + b"[" * 10000 + b"]" * 10000 + b"}"),
     "the safetensors header nests deeper than 64 levels"),
    (_raw_safetensors(b'{"x": {"dtype": "F32", "shape": [1000000000], "data_offsets": [0, 4000000000]}}', b"\0" * 16),
     "does not fit its offsets [0, 4000000000] in a 16-byte payload"),
    (_raw_safetensors(b'{"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}', b"\0" * 8),
     "does not fit its offsets"),
    (_raw_safetensors(b'{"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
                      b'"y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}', b"\0" * 12), "overlap"),
    (_raw_safetensors(b'{"x": {"dtype": "Q99", "shape": [1], "data_offsets": [0, 1]}}', b"\0"),
     "tensor 'x' has a malformed entry"),
    (b"\xff" * 8 + b"{}", "header claims"),
])
def test_malformed_safetensors_files_are_refused(tmp_path, raw, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(raw)
    peak = _peak_allocation(lambda: pytest.raises(CheckpointError, checkpoint.load, path))
    with pytest.raises(CheckpointError) as caught:
        checkpoint.load(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert peak < 20 * 2**20


def test_file_size_is_bounded(tmp_path):
    net, opt = _trained()
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, net, opt)
    with pytest.raises(CheckpointError, match=r"over the limit of 100 \(pass max_bytes= to load larger"):
        checkpoint.load(path, max_bytes=100)
    assert checkpoint.load(path).model_state.keys() == net.state_dict().keys()


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_saved_files_get_the_users_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        checkpoint.save(tmp_path / "m.safetensors", nn.mlp([2, 2], rng=0))
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "m.safetensors").st_mode & 0o777 == 0o666 & ~mask


def test_run_lock_is_exclusive_and_released(tmp_path):
    lock = checkpoint.RunLock(tmp_path)
    with pytest.raises(checkpoint.RunLockError, match=f"another trainer \\(process {os.getpid()}\\) is writing"):
        checkpoint.RunLock(tmp_path)
    lock.release()
    lock.release()  # idempotent
    assert not (tmp_path / ".lock").exists()
    checkpoint.RunLock(tmp_path).release()


def test_a_lock_dies_with_its_process(tmp_path):
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = f"from chainrule import checkpoint; checkpoint.RunLock({str(tmp_path)!r}); import os; os._exit(0)"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": root})
    assert (tmp_path / ".lock").exists()  # left behind by a killed process, but not held
    checkpoint.RunLock(tmp_path).release()


def test_orphaned_temporaries_are_removed(tmp_path):
    for name in (".model.safetensors.x1.tmp", ".history.json.y2.tmp", "keep.tmp", ".other.z.tmp"):
        (tmp_path / name).write_bytes(b"partial")
    assert checkpoint.remove_orphaned_temporaries(tmp_path) == 2
    assert sorted(os.listdir(tmp_path)) == [".other.z.tmp", "keep.tmp"]


def test_headers_over_8_mib_are_refused(tmp_path):
    import struct

    header = b'{"__metadata__": {"pad": "' + b"x" * (9 * 2**20) + b'"}}'
    path = tmp_path / "big-header.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(CheckpointError, match=r"the header claims \d+ bytes, over the limit of 8388608"):
        checkpoint.load(path)


def test_run_lock_without_flock(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_fcntl(name, *args, **kwargs):
        if name == "fcntl":
            raise ImportError("no fcntl here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_fcntl)
    lock = checkpoint.RunLock(tmp_path)
    with pytest.raises(checkpoint.RunLockError, match="or one crashed: then delete"):
        checkpoint.RunLock(tmp_path)
    lock.release()
    checkpoint.RunLock(tmp_path).release()
