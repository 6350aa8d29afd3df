"""tinygan.save / tinygan.load: state_dicts round trip without pickle; training resumes exactly."""
from __future__ import annotations

import io
import math
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn, optim
from tinygan.nn import functional as F


def test_round_trip_keeps_types_keys_dtypes_and_values(tmp_path):
    obj = {"t": tg.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)),
           "i": tg.tensor(np.array([1, 2], dtype=np.int64)),
           "a": np.array([[1.5, np.nan]]), "s": np.float32(2.5), "n": [1, 2.0, -math.inf, None, True],
           "tup": (1, "x"), 3: "int key", (1, 2): "tuple key",
           "od": OrderedDict([("b", 1), ("a", 2)]), "empty": {}, "big": 2 ** 70,
           "p": nn.Parameter(tg.tensor(np.ones(2)))}
    tg.save(obj, tmp_path / "x.pt")
    back = tg.load(tmp_path / "x.pt")
    assert list(back) == list(obj)
    assert isinstance(back["t"], tg.Tensor) and back["t"].dtype == np.float32
    np.testing.assert_array_equal(back["t"].numpy(), obj["t"].numpy())
    assert back["i"].dtype == np.int64 and back["i"].tolist() == [1, 2]
    assert isinstance(back["a"], np.ndarray)
    np.testing.assert_array_equal(back["a"], obj["a"])
    assert type(back["s"]) is np.float32 and back["s"] == 2.5
    assert back["n"] == [1, 2.0, -math.inf, None, True] and back["tup"] == (1, "x")
    assert back[3] == "int key" and back[(1, 2)] == "tuple key"
    assert type(back["od"]) is OrderedDict and list(back["od"]) == ["b", "a"]
    assert back["empty"] == {} and back["big"] == 2 ** 70
    assert back["p"].requires_grad and not back["t"].requires_grad


def test_file_objects_and_map_location():
    buf = io.BytesIO()
    tg.save({"w": tg.ones(2)}, buf)
    buf.seek(0)
    back = tg.load(buf, map_location="cpu", weights_only=True)
    assert back["w"].device == "cpu" and back["w"].tolist() == [1.0, 1.0]
    buf.seek(0)
    assert tg.load(buf, map_location={"cuda": "cpu"})["w"].device == "cpu"
    with pytest.raises(TypeError, match="map_location"):
        tg.load(io.BytesIO(buf.getvalue()), map_location=lambda s, loc: s)


def test_saving_a_module_or_an_arbitrary_object_points_to_state_dict(tmp_path):
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"Linear.*state_dict\(\)"):
        tg.save(model, tmp_path / "m.pt")
    with pytest.raises(TypeError, match=r"Adam.*state_dict\(\)"):
        tg.save({"opt": optim.Adam(model.parameters())}, tmp_path / "m.pt")
    with pytest.raises(TypeError, match="cannot save builtin_function_or_method at f"):
        tg.save({"f": len}, tmp_path / "m.pt")
    with pytest.raises(TypeError, match="dtype object"):
        tg.save(np.array([None]), tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()


def test_foreign_and_corrupt_files_are_refused(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(2)}, tmp_path / "torch.pt")
    with pytest.raises(RuntimeError, match="torch.save pickle"):
        tg.load(tmp_path / "torch.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a file")
    with pytest.raises(RuntimeError, match="tinygan.load: cannot read"):
        tg.load(tmp_path / "junk.pt")
    np.savez(tmp_path / "plain.npz", a=np.ones(2))
    with pytest.raises(RuntimeError, match="not a file written by tinygan.save"):
        tg.load(tmp_path / "plain.npz")
    tg.save({"w": tg.ones(2)}, tmp_path / "ok.pt")
    with zipfile.ZipFile(tmp_path / "ok.pt") as z, zipfile.ZipFile(tmp_path / "cut.pt", "w") as out:
        out.writestr("__manifest__.npy", z.read("__manifest__.npy"))       # its array removed
    with pytest.raises(RuntimeError, match="corrupt.*missing array"):
        tg.load(tmp_path / "cut.pt")


@pytest.mark.parametrize("make_opt", [lambda p: optim.Adam(p, lr=0.01),
                                      lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
                                      lambda p: optim.AdamW(p, lr=0.01)])
def test_model_and_optimizer_state_round_trip_resumes_training_exactly(make_opt, tmp_path):
    rng = np.random.default_rng(0)
    x, y = tg.tensor(rng.normal(size=(16, 4))), tg.tensor(rng.normal(size=(16, 2)))

    def build():
        tg.manual_seed(1)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).double()
        return model, make_opt(model.parameters())

    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            F.mse_loss(model(x), y).backward()
            opt.step()

    straight, opt = build()
    train(straight, opt, 10)
    first, opt1 = build()
    train(first, opt1, 4)
    tg.save({"model": first.state_dict(), "opt": opt1.state_dict(), "epoch": 4}, tmp_path / "c.pt")
    ckpt = tg.load(tmp_path / "c.pt")
    resumed, opt2 = build()
    resumed.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["opt"])
    assert ckpt["epoch"] == 4 and sorted(ckpt["opt"]["state"]) == list(range(4))   # int keys
    train(resumed, opt2, 6)
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=k)                   # bit for bit
