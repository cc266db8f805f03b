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
