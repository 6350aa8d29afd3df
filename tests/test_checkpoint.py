"""Checkpoints: .npz + JSON, atomic, no pickle, exact round trips, clear errors."""
import json
import warnings

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn
from tinygan.checkpoint import (Checkpoint, _canonical, CheckpointError, flatten_state, list_checkpoints,
                                nonfinite_report, prune_checkpoints, resolve, save_checkpoint,
                                unflatten_state)
from tinygan.optim import Adam


def _model(seed=0, hidden=8):
    g = tg.Generator(seed)
    return nn.Sequential(nn.Linear(3, hidden, generator=g), nn.BatchNorm1d(hidden), nn.ReLU(),
                         nn.Linear(hidden, 1, generator=g))


def _train(model, opt, steps, seed=1):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        loss = (model(tg.tensor(rng.standard_normal((5, 3)).astype(np.float32))) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return rng


def test_flatten_round_trip_is_json_safe():
    tree = {"state": {0: {"step": 3, "exp_avg": np.arange(4.0)}},
            "param_groups": [{"betas": (0.5, 0.999), "lr": np.float64(2e-4), "x": None, "ok": True}]}
    js, arrays = flatten_state(tree, "opt")
    text = json.dumps(js)                                         # plain JSON, no pickle
    back = unflatten_state(json.loads(text), arrays)
    assert list(arrays) == ["opt/state/0/exp_avg"]
    assert np.array_equal(back["state"]["0"]["exp_avg"], np.arange(4.0))
    assert back["param_groups"][0] == {"betas": [0.5, 0.999], "lr": 2e-4, "x": None, "ok": True}


def test_round_trip_continues_training_exactly(tmp_path):
    model, opt = _model(), None
    opt = Adam(model.parameters(), lr=1e-2)
    _train(model, opt, 3)
    path = save_checkpoint(tmp_path, 3, {"net": model}, {"opt": opt.state_dict(),
                           "rng": tg.Generator(7).get_state()}, meta={"epoch": 1})
    assert path.name == "step_0000003.json" and path.with_suffix(".npz").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]   # temp files renamed

    restored = _model(seed=99)                                   # different initial weights
    opt2 = Adam(restored.parameters(), lr=1e-2)
    ckpt = Checkpoint(tmp_path)                                  # a folder: its newest checkpoint
    ckpt.load_module("net", restored)
    opt2.load_state_dict(ckpt.state("opt"))
    assert ckpt.step == 3 and ckpt.meta["epoch"] == 1
    assert tg.Generator(0).set_state(ckpt.state("rng")).normal(3).tolist() == \
        tg.Generator(7).normal(3).tolist()
    for (k, a), b in zip(model.state_dict().items(), restored.state_dict().values()):
        assert np.array_equal(a, b), k                           # incl. BatchNorm buffers
    _train(model, opt, 2, seed=5)
    _train(restored, opt2, 2, seed=5)
    for a, b in zip(model.parameters(), restored.parameters()):
        assert np.array_equal(a.data, b.data)


def test_keep_last_k_and_resolve(tmp_path):
    model = _model()
    for step in (1, 2, 10, 11):
        save_checkpoint(tmp_path / "checkpoints", step, {"m": model})
    deleted = prune_checkpoints(tmp_path / "checkpoints", keep=2)
    assert [p.name for p in deleted] == ["step_0000001.json", "step_0000002.json"]
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["step_0000010.json", "step_0000010.npz", "step_0000011.json", "step_0000011.npz"]
    assert resolve(tmp_path).name == "step_0000011.json"          # a run folder
    assert resolve(tmp_path / "checkpoints" / "step_0000010.npz").name == "step_0000010.json"
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")][0] == "step_0000010.json"
    with pytest.raises(CheckpointError, match="does not exist"):
        Checkpoint(tmp_path / "checkpoints" / "step_0000001.json")


def test_truncated_npz_is_a_clear_error(tmp_path):
    path = save_checkpoint(tmp_path, 1, {"m": _model()})
    npz = path.with_suffix(".npz")
    npz.write_bytes(npz.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="step_0000001.npz is corrupt.*truncated"):
        Checkpoint(path)


def test_modified_npz_and_garbled_json(tmp_path):
    path = save_checkpoint(tmp_path, 1, {"m": _model()})
    npz = path.with_suffix(".npz")
    blob = bytearray(npz.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    npz.write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="SHA-256"):
        Checkpoint(path)
    path.write_text('{"format": "tinygan-checkpoint-1", "step": ')
    with pytest.raises(CheckpointError, match="corrupt.*JSON"):
        Checkpoint(path)


def test_no_pickle_even_with_a_matching_digest(tmp_path):
    import hashlib
    path = save_checkpoint(tmp_path, 1, {"m": _model()})
    npz = path.with_suffix(".npz")
    np.savez(npz, **{"m/0.weight": np.array([{"evil": 1}], dtype=object)})
    meta = json.loads(path.read_text())
    meta["npz_sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
    meta["record_sha256"] = hashlib.sha256(_canonical(meta)).hexdigest()   # both digests match
    path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="corrupt.*pickle"):
        Checkpoint(path)


def test_shape_mismatch_names_the_parameter_and_copies_nothing(tmp_path):
    save_checkpoint(tmp_path, 1, {"m": _model(hidden=8)}, meta={"config": {"arch": "small"}})
    other = _model(hidden=4)
    before = [p.data.copy() for p in other.parameters()]
    with pytest.raises(CheckpointError) as info:
        Checkpoint(tmp_path).load_module("m", other)
    message = str(info.value)
    assert "parameter m.0.weight has shape (8, 3) in the checkpoint but (4, 3) in the model" in message
    assert "arch 'small'" in message
    assert all(np.array_equal(b, p.data) for b, p in zip(before, other.parameters()))
    with pytest.raises(CheckpointError, match="no module 'G'"):
        Checkpoint(tmp_path).load_module("G", other)


def test_format_1_records_without_a_digest_are_still_read(tmp_path):
    """Checkpoints written before records were checksummed load as before (and are validated)."""
    path = save_checkpoint(tmp_path, 1, {"m": _model()})
    meta = json.loads(path.read_text())
    del meta["record_sha256"]
    meta["format"] = "tinygan-checkpoint-1"
    path.write_text(json.dumps(meta))
    assert Checkpoint(path).step == 1
    meta["npz"] = "/etc/passwd"
    path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="not a step_N.npz file name"):
        Checkpoint(path)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex64, np.complex128])
def test_nonfinite_report_finds_nan_and_inf_and_ignores_overflowing_sums(dtype):
    """The fast path sums each array in its own precision (float32 at least): a NaN or Inf anywhere
    is reported with its counts; finite values whose sum overflows are looked at again and pass,
    without a warning."""
    big = np.full(8, np.finfo(dtype).max, dtype)
    bad = np.ones(7, dtype)
    bad[[1, 4]] = np.nan
    bad[5] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nonfinite_report({"big": big, "ones": np.ones(3, dtype), "ints": np.arange(3)}) == []
        assert nonfinite_report({"big": big, "bad": bad}) == ["bad: 2 NaN, 1 Inf of 7 values"]
