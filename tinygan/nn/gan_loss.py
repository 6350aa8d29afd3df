"""The GAN objectives as loss functions of the discriminator's (critic's) raw outputs.

Every function takes D's outputs before any sigmoid ("logits" for the GAN kinds, critic values
for the others), shape (B,) or (B, 1), and returns a scalar Tensor, a batch mean:

    kind             D (or critic) minimises                       G minimises
    minimax          -log D(x) - log(1 - D(G(z)))                  log(1 - D(G(z)))
    nonsaturating    the same                                      -log D(G(z))
    wgan             mean C(G(z)) - mean C(x)                      -mean C(G(z))
    wgan-gp          the same + lambda * gradient_penalty          -mean C(G(z))
    hinge            mean relu(1 - C(x)) + mean relu(1 + C(G(z)))  -mean C(G(z))
    lsgan            1/2 mean (C(x) - 1)^2 + 1/2 mean C(G(z))^2    1/2 mean (C(G(z)) - 1)^2

with D = sigmoid(logit). References: Goodfellow et al. 2014 (minimax and the non-saturating
generator loss); Arjovsky, Chintala & Bottou 2017, "Wasserstein GAN" (wgan, with weight clipping
done by the trainer); Gulrajani et al. 2017, "Improved Training of Wasserstein GANs" (the
gradient penalty); Lim & Ye 2017 and Miyato et al. 2018 (hinge); Mao et al. 2017, "Least Squares
Generative Adversarial Networks" (lsgan, the a = 0, b = c = 1 coding).
"""
from __future__ import annotations

from ..autograd import grad
from ..creation import rand
from ..ops import binary_cross_entropy_with_logits, relu

LOSSES = ("nonsaturating", "minimax", "wgan", "wgan-gp", "hinge", "lsgan")


def _check(kind: str) -> None:
    if kind not in LOSSES:
        raise ValueError(f"unknown GAN loss {kind!r}; choose one of {', '.join(LOSSES)}")


def _flat(out):
    return out.reshape(-1)


def discriminator_loss(real_out, fake_out, kind: str = "nonsaturating", real_label: float = 1.0):
    """D's (critic's) loss on a batch of real and a batch of fake outputs (the table above).

    For ``wgan-gp`` this is the Wasserstein part only: add ``gradient_penalty`` to it.
    ``real_label`` < 1 is one-sided label smoothing (Salimans et al. 2016, "Improved Techniques
    for Training GANs"): the real targets become e.g. 0.9, the fake ones stay 0, so D is never
    rewarded for ever more confident logits on real data; BCE kinds only."""
    _check(kind)
    r, f = _flat(real_out), _flat(fake_out)
    if real_label != 1.0 and kind not in ("nonsaturating", "minimax"):
        raise ValueError(f"label smoothing (real label {real_label}) needs a BCE loss "
                         f"(nonsaturating or minimax), not {kind!r}")
    if kind in ("nonsaturating", "minimax"):
        ones = r.xp.full(r.shape, real_label, r.dtype)
        zeros = f.xp.zeros(f.shape, f.dtype)
        return binary_cross_entropy_with_logits(r, ones) + binary_cross_entropy_with_logits(f, zeros)
    if kind in ("wgan", "wgan-gp"):
        return f.mean() - r.mean()
    if kind == "hinge":
        return relu(1.0 - r).mean() + relu(1.0 + f).mean()
    return 0.5 * ((r - 1.0) ** 2).mean() + 0.5 * (f ** 2).mean()       # lsgan


def generator_loss(fake_out, kind: str = "nonsaturating"):
    """G's loss on D's outputs for its samples (the table above)."""
    _check(kind)
    f = _flat(fake_out)
    if kind == "nonsaturating":
        return binary_cross_entropy_with_logits(f, f.xp.ones(f.shape, f.dtype))
    if kind == "minimax":
        return -binary_cross_entropy_with_logits(f, f.xp.zeros(f.shape, f.dtype))
    if kind == "lsgan":
        return 0.5 * ((f - 1.0) ** 2).mean()
    return -f.mean()                                                    # wgan, wgan-gp, hinge


def feature_matching_loss(real_features, fake_features, batch_mean=None):
    """|| mean_i f(x_i) - mean_i f(G(z_i)) ||_2^2 (Salimans et al. 2016, "feature matching"):
    G matches the batch mean of an intermediate layer f of D instead of maximising D's output.
    Shapes (B, ...) and (B', ...), the same features per sample; returns a scalar (the real side
    a constant). ``batch_mean(t)`` -> the mean of the rows of t (N, F) over the batch (default
    ``t.mean(0)``; data-parallel training passes :func:`tinygan.distributed.batch_mean`, the
    mean over the global batch, since the loss is not linear in the per-rank means)."""
    mean = batch_mean or (lambda t: t.mean(0))
    r = mean(real_features.reshape(real_features.shape[0], -1))
    f = mean(fake_features.reshape(fake_features.shape[0], -1))
    if tuple(r.shape) != tuple(f.shape):
        raise ValueError(f"feature matching: real features {tuple(real_features.shape)} and fake "
                         f"features {tuple(fake_features.shape)} differ per sample")
    return ((r.detach() - f) ** 2).sum()


def interpolates(real, fake, generator=None):
    """x_hat_i = eps_i x_i + (1 - eps_i) x~_i with eps_i ~ U[0, 1], one eps per sample.

    ``real`` and ``fake`` have the same shape (B, ...); ``fake`` is detached (the penalty trains
    the critic only). Returns x_hat, requiring grad, shape (B, ...)."""
    if tuple(real.shape) != tuple(fake.shape):
        raise ValueError(f"gradient penalty: real {tuple(real.shape)} and fake {tuple(fake.shape)} "
                         "batches differ in shape")
    eps = rand(real.shape[0], *([1] * (real.ndim - 1)), dtype=real.dtype, device=real.device,
               generator=generator)
    x_hat = eps * real.detach() + (1.0 - eps) * fake.detach()
    return x_hat.requires_grad_(True)


def gradient_penalty(critic, real, fake, weight: float = 10.0, generator=None):
    """lambda * mean_i (||grad_x C(x_hat_i)||_2 - 1)^2 (Gulrajani et al. 2017, Algorithm 1).

    The gradient is taken with ``create_graph=True``, so the penalty is differentiable in the
    critic's weights: its gradient is a gradient of a gradient (every VJP in tinygan is built of
    differentiable Tensor ops). The norm is per sample, over all of a sample's entries
    (sqrt(sum + 1e-12), so that a zero gradient has a finite derivative).
    Shapes: real, fake (B, ...); critic maps (B, ...) to (B,) or (B, 1). Returns a scalar."""
    x_hat = interpolates(real, fake, generator)
    out = critic(x_hat)
    (g,) = grad(out.sum(), x_hat, create_graph=True)
    norms = ((g.reshape(g.shape[0], -1) ** 2).sum(1) + 1e-12).sqrt()   # + 1e-12: finite VJP at 0
    return weight * ((norms - 1.0) ** 2).mean()


def r1_penalty(critic, real, gamma: float = 10.0):
    """gamma / 2 * mean_i ||grad_x D(x_i)||_2^2 on real samples only (Mescheder, Geiger & Nowozin
    2018, "Which Training Methods for GANs do actually Converge?", the R1 regulariser; the
    penalty of StyleGAN's non-saturating loss). It pulls D's gradient on the data to zero, where
    WGAN-GP pulls it to norm 1 on interpolates. As :func:`gradient_penalty`, the input gradient
    is taken with ``create_graph=True`` so that the penalty trains D (a gradient of a gradient).
    Shapes: real (B, ...); critic maps (B, ...) to (B,) or (B, 1) logits. Returns a scalar."""
    x = real.detach().requires_grad_(True)
    (g,) = grad(critic(x).sum(), x, create_graph=True)
    return 0.5 * gamma * (g.reshape(g.shape[0], -1) ** 2).sum(1).mean()
