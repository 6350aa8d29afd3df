"""The GAN stabilisers: minibatch discrimination (shape, closed form, VJP), WGAN's weight clipping
after a step, one-sided label smoothing and feature matching against hand computations, and the
trainers' --loss / stabiliser flags (recipes, bad combinations, exact resume)."""
import json

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn
from tinygan.nn import gan_loss
from tinygan.nn.minibatch import minibatch_features
from tinygan.testing import check_vjp
from tinygan.trainers import gan as gan_trainer
from tinygan.trainers.objectives import WeightClipping, make_optimizers


def test_minibatch_discrimination_shape_and_closed_form():
    layer = nn.MinibatchDiscrimination(4, num_kernels=5, kernel_dim=3, generator=tg.Generator().manual_seed(0))
    assert layer.T.shape == (4, 5, 3) and layer.out_features == 9
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    out = layer(tg.tensor(x)).numpy()
    assert out.shape == (6, 9)
    np.testing.assert_array_equal(out[:, :4], x)                 # f(x) passes through
    M = np.einsum("na,abc->nbc", x.astype(np.float64), layer.T.numpy().astype(np.float64))
    o = np.exp(-np.abs(M[:, None] - M[None]).sum(3)).sum(1)      # o(x_i)_b = sum_j c_b(x_i, x_j)
    np.testing.assert_allclose(out[:, 4:], o, rtol=1e-5)
    collapsed = layer(tg.tensor(np.repeat(x[:1], 6, 0))).numpy()  # a collapsed batch: o = n
    np.testing.assert_allclose(collapsed[:, 4:], 6.0, rtol=1e-6)
    with pytest.raises(ValueError, match=r"expected input \(N, 4\), got \(6, 3\)"):
        layer(tg.tensor(x[:, :3]))


def test_minibatch_discrimination_vjp():
    rng = np.random.default_rng(1)
    check_vjp(minibatch_features, tg.tensor(rng.standard_normal((4, 3))),
              tg.tensor(rng.standard_normal((3, 2, 2))))


def test_weight_clipping_bounds_the_critic_after_a_step():
    D = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    G = nn.Linear(2, 2)
    _, d_opt = make_optimizers(G, D, {"loss": "wgan", "optimizer": "rmsprop", "clip": 0.01}, 0.5)
    assert isinstance(d_opt, WeightClipping)
    x = tg.tensor(np.random.default_rng(0).standard_normal((16, 2)).astype(np.float32))
    d_opt.zero_grad()
    (-D(x).mean()).backward()
    d_opt.step()                                                 # lr 0.5: far outside the box first
    params = [p.numpy() for p in D.parameters()]
    assert all(np.abs(p).max() <= 0.01 for p in params)
    assert any(np.isclose(np.abs(p).max(), 0.01) for p in params)   # the bound is reached, not missed


def test_label_smoothing_and_feature_matching_by_hand():
    r, f = np.array([0.3, -1.2, 2.0]), np.array([-0.5, 0.7, 0.1])
    sig = lambda a: 1 / (1 + np.exp(-a))                         # noqa: E731
    expected = -np.mean(0.9 * np.log(sig(r)) + 0.1 * np.log(1 - sig(r))) - np.mean(np.log(1 - sig(f)))
    got = gan_loss.discriminator_loss(tg.tensor(r), tg.tensor(f), "nonsaturating", real_label=0.9)
    assert got.item() == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="label smoothing .* needs a BCE loss"):
        gan_loss.discriminator_loss(tg.tensor(r), tg.tensor(f), "wgan", real_label=0.9)
    a, b = np.arange(6.0).reshape(3, 2), np.ones((2, 2))
    fm = gan_loss.feature_matching_loss(tg.tensor(a), tg.tensor(b, requires_grad=True))
    assert fm.item() == pytest.approx(((a.mean(0) - 1) ** 2).sum())


def _args(*flags):
    return gan_trainer.make_parser("").parse_args(list(flags))


def test_loss_brings_its_papers_recipe_under_the_users_flags():
    c = gan_trainer.resolve_config(_args("--loss", "wgan"))
    assert (c["loss"], c["optimizer"], c["lr"], c["k"], c["clip"]) == ("wgan", "rmsprop", 5e-5, 5, 0.01)
    c = gan_trainer.resolve_config(_args("--loss", "wgan-gp", "--k", "2", "--lr", "3e-4"))
    assert (c["betas"], c["gp_weight"], c["k"], c["lr"]) == ([0.0, 0.9], 10.0, 2, 3e-4)
    assert gan_trainer.resolve_config(_args("--g-loss", "minimax"))["loss"] == "minimax"
    for flags, message in [(("--clip", "0.1"), "needs --loss wgan"),
                           (("--loss", "hinge", "--label-smoothing", "0.9"), "needs a BCE loss"),
                           (("--loss", "wgan", "--g-loss", "minimax"), "disagree")]:
        with pytest.raises(ValueError, match=message):
            gan_trainer.resolve_config(_args(*flags))


@pytest.mark.slow
def test_stabilised_toy_gan_resumes_bit_for_bit(tmp_path):
    """Spectral norm's u, v and the minibatch layer's T travel in the checkpoint."""
    config = gan_trainer.resolve_config(_args(
        "--loss", "wgan-gp", "--spectral-norm", "--minibatch-discrimination", "3", "2",
        "--feature-matching", "--steps", "6", "--every", "6", "--batch-size", "16", "--k", "2",
        "--g-hidden", "16", "--d-hidden", "16"))
    full = gan_trainer.train(config, tmp_path / "a", progress=False)
    part = gan_trainer.train(config, tmp_path / "b", progress=False, max_steps=3)
    from tinygan.checkpoint import Checkpoint
    rest = gan_trainer.train(config, tmp_path / "b", progress=False, checkpoint=Checkpoint(part["checkpoint"]))
    rows = lambda d: [json.loads(s) for s in (tmp_path / d / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    assert [(r["d_loss"], r["g_loss"]) for r in rows("a")] == [(r["d_loss"], r["g_loss"]) for r in rows("b")]
    assert rest["final_g_loss"] == full["final_g_loss"]
    assert {"emd", "critic_estimate"} <= set(rows("a")[-1])
    assert (tmp_path / "a" / "emd.png").is_file()
