"""tinygan.nn.gan_loss: each GAN objective against PyTorch / a hand computation, and the WGAN-GP
gradient penalty against a closed form and finite differences (it is a gradient of a gradient)."""
import numpy as np
import pytest
import torch

import tinygan as tg
from tinygan.nn import gan_loss
from tinygan.testing import check_vjp


def _pair(seed=0, n=7):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n), rng.standard_normal(n)


@pytest.mark.parametrize("kind", gan_loss.LOSSES)
def test_losses_against_torch(kind):
    r, f = _pair()
    tr, tf_ = torch.tensor(r), torch.tensor(f)
    F = torch.nn.functional
    d_ref = {"nonsaturating": lambda: F.binary_cross_entropy_with_logits(tr, torch.ones(7, dtype=torch.float64))
             + F.binary_cross_entropy_with_logits(tf_, torch.zeros(7, dtype=torch.float64)),
             "wgan": lambda: tf_.mean() - tr.mean(),
             "hinge": lambda: F.relu(1 - tr).mean() + F.relu(1 + tf_).mean(),
             "lsgan": lambda: 0.5 * ((tr - 1) ** 2).mean() + 0.5 * (tf_ ** 2).mean()}
    d_ref["minimax"], d_ref["wgan-gp"] = d_ref["nonsaturating"], d_ref["wgan"]
    g_ref = {"nonsaturating": lambda: -F.logsigmoid(tf_).mean(),
             "minimax": lambda: torch.log1p(-torch.sigmoid(tf_)).mean(),
             "lsgan": lambda: 0.5 * ((tf_ - 1) ** 2).mean()}
    d = gan_loss.discriminator_loss(tg.tensor(r), tg.tensor(f.reshape(7, 1)), kind)
    g = gan_loss.generator_loss(tg.tensor(f), kind)
    np.testing.assert_allclose(d.item(), d_ref[kind]().item(), rtol=1e-12)
    np.testing.assert_allclose(g.item(), g_ref.get(kind, lambda: -tf_.mean())().item(), rtol=1e-12)


def test_unknown_loss_named():
    with pytest.raises(ValueError, match="unknown GAN loss 'wasserstein'"):
        gan_loss.generator_loss(tg.tensor(np.zeros(3)), "wasserstein")


def test_penalty_of_a_linear_critic_is_closed_form():
    """C(x) = <w, x>: grad_x C = w at every interpolate, so the penalty is lambda (|w| - 1)^2 and
    its gradient in w is 2 lambda (|w| - 1) w / |w|."""
    rng = np.random.default_rng(1)
    w = tg.tensor(rng.standard_normal(6), requires_grad=True)
    real, fake = tg.tensor(rng.standard_normal((5, 2, 3))), tg.tensor(rng.standard_normal((5, 2, 3)))
    pen = gan_loss.gradient_penalty(lambda x: x.reshape(5, 6) @ w, real, fake, weight=10.0,
                                    generator=tg.manual_seed(0))
    n = np.linalg.norm(w.numpy())
    np.testing.assert_allclose(pen.item(), 10 * (np.sqrt(n ** 2 + 1e-12) - 1) ** 2, rtol=1e-10)
    pen.backward()
    np.testing.assert_allclose(w.grad.numpy(), 20 * (n - 1) * w.numpy() / n, rtol=1e-8)


def test_penalty_gradient_in_critic_weights_matches_finite_differences():
    """A nonlinear critic, x -> sum tanh(x W1) w2: the penalty's gradient in (W1, w2) runs through
    the VJP of a VJP; checked against central differences with the interpolation fixed."""
    rng = np.random.default_rng(2)
    real, fake = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))

    def penalty(W1, w2):
        critic = lambda x: (x @ W1).tanh() @ w2                       # noqa: E731
        return gan_loss.gradient_penalty(critic, tg.tensor(real), tg.tensor(fake),
                                         generator=tg.Generator().manual_seed(3))

    check_vjp(penalty, tg.tensor(rng.standard_normal((3, 5))), tg.tensor(rng.standard_normal(5)))


def test_r1_penalty_of_a_quadratic_critic_is_closed_form_and_its_gradient_checks():
    """D(x) = 1/2 x^T A x per sample: grad_x D = A x, so R1 = gamma/2 mean_i |A x_i|^2; its
    gradient in A (through the VJP of a VJP) against central differences; fakes play no part."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3))
    A = rng.standard_normal((3, 3))
    A = A + A.T
    critic = lambda t, M: 0.5 * ((t @ M) * t).sum(1)                     # noqa: E731
    pen = gan_loss.r1_penalty(lambda t: critic(t, tg.tensor(A)), tg.tensor(x), gamma=3.0)
    np.testing.assert_allclose(pen.item(), 1.5 * ((x @ A) ** 2).sum(1).mean(), rtol=1e-12)
    check_vjp(lambda M: gan_loss.r1_penalty(lambda t: critic(t, M), tg.tensor(x), gamma=3.0),
              tg.tensor(A))


def test_interpolates_lie_between_real_and_fake_and_differ_per_sample():
    real, fake = tg.zeros(64, 2), tg.ones(64, 2)
    x = gan_loss.interpolates(real, fake, generator=tg.manual_seed(0)).numpy()
    assert x.min() >= 0 and x.max() <= 1
    np.testing.assert_array_equal(x[:, 0], x[:, 1])                   # one eps per sample
    assert np.unique(x[:, 0]).size == 64
    with pytest.raises(ValueError, match=r"real \(64, 2\) and fake \(3, 2\)"):
        gan_loss.interpolates(real, tg.ones(3, 2))
