"""DANN (tinygan.models.dann): one step through the gradient reversal moves the feature extractor
*up* the domain loss and the domain classifier down it; the paper's schedules; UCI digit framing."""
import numpy as np
import pytest

import tinygan as tg
from tinygan.models.dann import DANN, annealed_lr, cosine_lr, grl_lambda
from tinygan.optim import SGD


def _batch(rng, n=6):
    xs = tg.tensor(rng.standard_normal((n, 1, 28, 28)))
    xt = tg.tensor(rng.standard_normal((n, 1, 28, 28)) * 0.5 + 0.7)   # a shifted "target" domain
    ys = tg.tensor(rng.integers(0, 10, n))
    return xs, ys, xt


def _domain_loss(model, xs, xt):
    model.reversal.lambda_ = 1.0
    _, parts = model.losses(xs, tg.tensor(np.zeros(len(xs), np.int64)), xt)
    return parts["domain_loss"]


def test_one_step_moves_features_against_the_domain_loss():
    rng = np.random.default_rng(0)
    model = DANN(domain_hidden=(16,), dropout=0.0, generator=tg.Generator(0), dtype="float64")
    xs, ys, xt = _batch(rng)
    lam = 0.7
    model.reversal.lambda_ = lam
    total, parts = model.losses(xs, ys, xt)
    feats = list(model.features.parameters())
    dom = list(model.domain.parameters())
    got = tg.grad(total, feats + dom)
    # the same losses without the reversal: d L_y / d theta_f and d L_d / d theta_f, d theta_d
    model.reversal.lambda_ = -1.0            # R_{-1} is the identity, forward and backward
    _, _ = model.losses(xs, ys, xt)
    f = model.features(tg.cat([xs, xt], 0))
    ly = tg.ops.cross_entropy(model.classifier(f[:6]), ys)
    d = model.domain(f).reshape(12)
    ld = tg.ops.binary_cross_entropy_with_logits(d, tg.tensor(np.r_[np.zeros(6), np.ones(6)]))
    gy = tg.grad(ly, feats, allow_unused=True)
    gd = tg.grad(ld, feats + dom)
    assert parts["domain_loss"] == pytest.approx(ld.item(), rel=1e-12)
    for g, a, b in zip(got[:len(feats)], gy, gd[:len(feats)]):
        np.testing.assert_allclose(g.numpy(), a.numpy() - lam * b.numpy(), rtol=1e-10, atol=1e-13)
    for g, b in zip(got[len(feats):], gd[len(feats):]):        # G_d descends L_d unreversed
        np.testing.assert_allclose(g.numpy(), b.numpy(), rtol=1e-10, atol=1e-13)
    # and the steps do what the game says: a small step of G_f alone raises L_d, of G_d lowers it
    before = _domain_loss(model, xs, xt)
    for params, sign in ((feats, +1), (dom, -1)):
        saved = [p.data.copy() for p in params]
        model.reversal.lambda_ = lam
        total, _ = model.losses(xs, ys, xt)
        model.zero_grad()
        # domain part only: remove the label gradient by giving the label loss zero weight
        opt = SGD(params, lr=1e-3)
        model.reversal.lambda_ = lam
        f = model.features(tg.cat([xs, xt], 0))
        d = model.domain(model.reversal(f)).reshape(12)
        tg.ops.binary_cross_entropy_with_logits(d, tg.tensor(np.r_[np.zeros(6), np.ones(6)])).backward()
        opt.step()
        after = _domain_loss(model, xs, xt)
        assert sign * (after - before) > 0, (sign, before, after)
        with tg.no_grad():
            for p, s in zip(params, saved):
                p.data[...] = s


def test_source_only_losses_have_no_domain_part():
    rng = np.random.default_rng(1)
    model = DANN(domain_hidden=(8,), generator=tg.Generator(1), dtype="float64")
    xs, ys, _ = _batch(rng)
    total, parts = model.losses(xs, ys)
    assert set(parts) == {"label_loss", "source_acc"} and total.item() == parts["label_loss"]
    with pytest.raises(ValueError, match=r"dann FeatureExtractor: expected images \(N, 1, 28, 28\), got shape \(6, 1, 8, 8\)"):
        model(tg.tensor(rng.standard_normal((6, 1, 8, 8))))


def test_schedules_are_the_papers():
    assert grl_lambda(0.0) == 0.0 and grl_lambda(1.0) == pytest.approx(2 / (1 + np.exp(-10)) - 1)
    assert grl_lambda(0.5, lambda_max=0.3) == pytest.approx(0.3 * (2 / (1 + np.exp(-5)) - 1))
    assert annealed_lr(0.0, 0.01) == 0.01
    assert annealed_lr(1.0, 0.01) == pytest.approx(0.01 / 11 ** 0.75)


def test_cosine_schedule_anneals_to_zero():
    from tinygan.trainers.dann import learning_rate
    assert cosine_lr(0.0, 0.01) == 0.01 and cosine_lr(0.5, 0.01) == pytest.approx(0.005)
    assert cosine_lr(1.0, 0.01) == pytest.approx(0.0, abs=1e-18)
    assert learning_rate("cosine", 0.25, 0.01) == cosine_lr(0.25, 0.01)
    assert learning_rate("paper", 0.25, 0.01) == annealed_lr(0.25, 0.01)
    assert learning_rate("off", 0.25, 0.01) == 0.01


def test_uci_digits_framed_like_mnist():
    pytest.importorskip("sklearn")
    from tinygan.data.uci_digits import load_uci_digits
    images, labels = load_uci_digits()
    assert images.shape == (1797, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).min() > 170
    # MNIST's framing: the digit inside a 20x20 box, centre of mass at (14, 14) within a pixel
    w = images.astype(np.float64)
    r = np.arange(28)
    cy = (w.sum(2) * r).sum(1) / w.sum((1, 2))
    cx = (w.sum(1) * r).sum(1) / w.sum((1, 2))
    assert np.abs(cy - 14).max() <= 0.75 and np.abs(cx - 14).max() <= 0.75
    assert (images.max(2) > 0).sum(1).max() <= 20 and (images.max(1) > 0).sum(1).max() <= 20
    naive, _ = load_uci_digits("naive")          # stretched over 28x28: about (28/20)^2 the ink
    assert (naive > 0).mean() > 1.5 * (images > 0).mean()


def test_uci_digits_without_sklearn_names_the_extra(monkeypatch):
    import builtins
    from tinygan.data import uci_digits
    real = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("sklearn"):
            raise ImportError("no sklearn")
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", fake)
    uci_digits._sklearn_digits.cache_clear()          # read once per process: forget it
    with pytest.raises(ImportError, match=r"pip install 'tinygan\[sklearn\]'"):
        uci_digits.load_digits_8x8()
