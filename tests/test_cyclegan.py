"""CycleGAN: generator shapes (odd sizes too), cycle and identity losses zero for identity
generators, the least-squares losses against a hand computation, the image pool, the learning
rate schedule, the UCI digits (and the one-line error without scikit-learn), one training step,
and `train cyclegan` end to end (exact resume, sample on its checkpoint)."""
import json
import sys

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn
from tinygan.checkpoint import Checkpoint
from tinygan.metrics.lenet import LeNet
from tinygan.models import cyclegan
from tinygan.random import Generator
from tinygan.trainers import cyclegan as trainer

sklearn = pytest.importorskip("sklearn")


@pytest.mark.parametrize("size", [(28, 28), (27, 27), (13, 21), (8, 8)])
def test_resnet_generator_shapes(size):
    G = cyclegan.ResnetGenerator(1, 1, ngf=4, n_down=2, n_blocks=2, generator=Generator(0))
    x = tg.tensor(np.random.default_rng(0).standard_normal((2, 1) + size).astype(np.float32))
    y = G(x)
    assert y.shape == (2, 1) + size and np.all(np.abs(y.numpy()) <= 1)
    assert cyclegan.build(ngf=4, ndf=4)["D_A"](x).shape == (2, 1, size[0] // 2 - 2, size[1] // 2 - 2)
    with pytest.raises(ValueError, match=r"ResnetGenerator: expected input \(N, 1, H, W\) with H, W >= 8"):
        G(tg.zeros(1, 1, 7, 28))


def test_resnet_block_is_a_residual():
    block = cyclegan.ResnetBlock(3)
    for m in block.modules():
        if isinstance(m, nn.Conv2d):
            m.weight.data[...] = 0
            m.bias.data[...] = 0
    x = tg.tensor(np.random.default_rng(1).standard_normal((2, 3, 5, 5)).astype(np.float32))
    np.testing.assert_array_equal(block(x).numpy(), x.numpy())


def test_cycle_and_identity_losses_are_zero_for_identity_generators():
    rng = np.random.default_rng(2)
    a = tg.tensor(rng.uniform(-1, 1, (3, 1, 28, 28)).astype(np.float32))
    b = tg.tensor(rng.uniform(-1, 1, (3, 1, 28, 28)).astype(np.float32))
    m = cyclegan.build(ngf=4, ndf=4, generator=Generator(2))
    I = nn.Identity()
    terms = cyclegan.generator_losses(I, I, m["D_A"], m["D_B"], a, b)
    for k in ("cycle_a", "cycle_b", "idt_a", "idt_b"):
        assert terms[k].item() == 0.0, k
    expected = ((m["D_B"](a).numpy() - 1) ** 2).mean() + ((m["D_A"](b).numpy() - 1) ** 2).mean()
    np.testing.assert_allclose(terms["total"].item(), expected, rtol=1e-6)
    # a generator that is not the identity has a positive cycle loss
    terms = cyclegan.generator_losses(m["G_AB"], m["G_BA"], m["D_A"], m["D_B"], a, b)
    assert terms["cycle_a"].item() > 0 and terms["idt_b"].item() > 0
    assert cyclegan.generator_losses(I, I, m["D_A"], m["D_B"], a, b, lambda_id=0)["idt_a"] is None


def test_least_squares_losses_by_hand():
    rng = np.random.default_rng(3)
    real, fake = rng.standard_normal((4, 1, 3, 3)), rng.standard_normal((4, 1, 3, 3))
    d = cyclegan.lsgan_d_loss(tg.tensor(real), tg.tensor(fake)).item()
    np.testing.assert_allclose(d, 0.5 * (((real - 1) ** 2).mean() + (fake ** 2).mean()), rtol=1e-12)
    np.testing.assert_allclose(cyclegan.lsgan_g_loss(tg.tensor(fake)).item(), ((fake - 1) ** 2).mean(),
                               rtol=1e-12)
    rng_a = rng.uniform(-1, 1, (2, 1, 8, 8))
    I = nn.Identity()
    zero = lambda t: t * 0.0  # noqa: E731  (a "discriminator" saying 0 everywhere)
    terms = cyclegan.generator_losses(I, lambda t: -t, zero, zero, tg.tensor(rng_a), tg.tensor(rng_a),
                                      lambda_cyc=10, lambda_id=5)
    # G_BA = -x: cycle_a = |(-a) - a| = 2|a|, cycle_b = |(-b) - b|, idt_a = |(-a) - a|, idt_b = 0
    m = np.abs(2 * rng_a).mean()
    np.testing.assert_allclose(terms["total"].item(), 1 + 1 + 10 * (m + m) + 5 * (m + 0), rtol=1e-12)


def test_image_pool_fills_then_swaps_and_resumes():
    pool = trainer.ImagePool(4, Generator(4))
    batch = lambda k: np.full((3, 1, 2, 2), float(k), np.float32)  # noqa: E731
    np.testing.assert_array_equal(pool.query(batch(1)), batch(1))       # filling: returned as is
    out = pool.query(batch(2))                                           # 1 more fills, 2 may swap
    assert out[0, 0, 0, 0] == 2.0 and pool.count == 4
    state = pool.state_dict()
    twin = trainer.ImagePool(4, Generator(99))
    twin.load_state_dict(state)
    outs = [pool.query(batch(k)) for k in range(3, 9)]
    np.testing.assert_array_equal(np.stack(outs), np.stack([twin.query(batch(k)) for k in range(3, 9)]))
    values = np.stack(outs)[:, :, 0, 0, 0]
    assert np.any(values < np.arange(3, 9)[:, None])      # some old fakes came back
    assert np.any(values == np.arange(3, 9)[:, None])     # some new ones went through
    assert trainer.ImagePool(0, Generator(0)).query(batch(5)) is not None


def test_lr_schedule_constant_then_linear_to_zero():
    f = [trainer.lr_factor(s, 10, 0.5) for s in range(10)]
    assert f[:5] == [1.0] * 5
    np.testing.assert_allclose(f[5:], [1.0, 0.8, 0.6, 0.4, 0.2])
    assert trainer.lr_factor(3, 10, 0.0) == 1.0


def test_uci_digits_in_mnist_frame():
    from tinygan.data.uci_digits import load_uci_split, to_frame
    train, test = load_uci_split("train"), load_uci_split("test")
    assert len(train) + len(test) == 1797 and train.images.shape[1:] == (1, 28, 28)
    assert train.images.dtype == np.float32 and -1 <= train.images.min() and train.images.max() <= 1
    assert np.all(train.images[:, :, :4] == -1) and np.all(train.images[:, :, 24:] == -1)
    assert np.all(np.bincount(test.labels, minlength=10) >= 35)          # stratified 20%
    np.testing.assert_array_equal(load_uci_split("test").images, test.images)   # fixed split
    ones = to_frame(np.full((1, 8, 8), 16.0), box=10)
    assert np.all(ones[0, 0, 9:19, 9:19] == 1) and ones.sum() == 100 - (784 - 100)
    moved = to_frame(np.full((1, 8, 8), 16.0), box=(6, 4), offset=(-2, 3))
    assert np.all(moved[0, 0, 9:15, 15:19] == 1) and moved.sum() == 24 - (784 - 24)
    with pytest.raises(ValueError, match="to_frame: a 20 x 20 box moved by"):
        to_frame(np.zeros((1, 8, 8)), 20, offset=(0, 5))
    from tinygan.metrics.uci_lenet import jittered
    j = jittered(train.images8[:5], 2, Generator(0))
    assert j.shape == (10, 1, 28, 28) and np.all(j[:, :, :2] == -1)    # offsets within 2 pixels


def test_missing_sklearn_is_one_line(monkeypatch, tmp_path, capsys):
    from tinygan.data import uci_digits
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    uci_digits._sklearn_digits.cache_clear()          # read once per process: forget it
    with pytest.raises(uci_digits.MissingDependency, match=r"pip install 'tinygan\[sklearn\]'"):
        uci_digits.load_uci_split()
    assert trainer.main(["--out", str(tmp_path / "r"), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tinygan[sklearn]" in err[0]


TINY = ["--n-train", "32", "--batch-size", "8", "--epochs", "2", "--ngf", "4", "--n-blocks", "1",
        "--ndf", "4", "--pool", "6", "--n-eval", "40", "--no-progress"]


@pytest.fixture
def quick_uci_judge(monkeypatch):
    """An untrained LeNet instead of the UCI classifier (which trains for ~10 s)."""
    model = LeNet(generator=Generator(5))
    model.meta = {"test_accuracy": 0.0}
    monkeypatch.setattr(trainer, "load_uci_lenet", lambda **kw: model)


def _losses(run):
    return [(r["d_loss"], r["g_loss"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())]


def test_train_cyclegan_resume_equals_uninterrupted(tmp_path, quick_uci_judge):
    straight, split = tmp_path / "a", tmp_path / "b"
    assert trainer.main(TINY + ["--out", str(straight)]) == 0
    assert trainer.main(TINY + ["--out", str(split), "--max-steps", "5"]) == 0
    assert trainer.main(["--resume", str(split), "--no-progress"]) == 0
    assert _losses(straight) == _losses(split) and len(_losses(straight)) == 8
    a, b = Checkpoint(straight), Checkpoint(split)
    assert a.step == b.step == 8 and set(a.arrays) == set(b.arrays)
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key], err_msg=key)
    summary = json.loads((straight / "summary.json").read_text())
    assert 0 <= summary["class_kept_ab"] <= 1 and 0 <= summary["class_kept_ba"] <= 1
    lrs = [json.loads(r)["lr"] for r in (straight / "metrics.jsonl").read_text().splitlines()]
    np.testing.assert_allclose(lrs, [2e-4 * trainer.lr_factor(s, 8, 0.5) for s in range(8)])
    for name in ("translated_AB.png", "translated_BA.png", "losses.png", "samples/epoch_002.png"):
        assert (straight / name).is_file()
    from tinygan import sample
    assert sample.main([str(straight), "--n", "8", "--out", str(tmp_path / "s.png")]) == 0
    fn, meta, data = trainer.load_sampler(straight)
    assert data == "mnist" and fn(5, 0).shape == (5, 1, 28, 28)


@pytest.mark.slow
def test_uci_classifier_is_accurate():
    from tinygan.metrics.uci_lenet import load_uci_lenet
    assert load_uci_lenet().meta["test_accuracy"] >= 0.9
