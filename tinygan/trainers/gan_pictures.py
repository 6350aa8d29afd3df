"""The original GAN's pictures (``python -m tinygan.train gan``, :mod:`tinygan.trainers.gan`):
samples of G from a seeded z, the optimal discriminator D* = p / (p + q) of Goodfellow et al. (2014) estimated
with a KDE of G's samples, the per-step frames (learned D(x) beside D*) and their animated GIF.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..autograd import no_grad
from ..creation import tensor
from ..metrics import emd
from ..metrics.kde import gaussian_log_kernel_sum, select_bandwidth
from ..random import Generator
from ..viz import _figure, _save


def generate(G, n: int, seed: int = 1234, z_dim: int | None = None) -> np.ndarray:
    """n samples of G from a seeded z ~ N(0, I), as a numpy array (no graph)."""
    z = Generator(seed).normal((n, z_dim or G.z_dim))
    with no_grad():
        return G(tensor(z)).numpy()


def optimal_discriminator(mixture, fake: np.ndarray, points: np.ndarray) -> np.ndarray:
    """D*(x) = p(x) / (p(x) + q̂(x)) at ``points``: p the mixture density, q̂ a Gaussian KDE of the
    generated ``fake`` samples: the first half fits it, the second half picks its bandwidth by
    validation likelihood."""
    half = len(fake) // 2
    h, _ = select_bandwidth(fake[:half], fake[half:], np.geomspace(0.005, 0.5, 12))
    log_q = gaussian_log_kernel_sum(points, fake[:half], h)
    log_p = mixture.log_density(points)
    return 1.0 / (1.0 + np.exp(np.clip(log_q - log_p, -700, 700)))


def _pack_size(D) -> int:
    """m for PacGAN's packed D (it judges packs of m samples), else 1."""
    pack = getattr(D, "pack", None)
    return pack.m if pack is not None else 1


def save_frame(path, G, D, mixture, step: int, n: int = 1000, res: int = 120) -> Path:
    """Real vs generated points over the contours of D(x), beside D* = p / (p + q̂). A packed D
    (PacGAN, packs of m) is drawn at the pack of m copies of x, D(x, ..., x)."""
    lo, hi = mixture.extent(1.0)
    axis = np.linspace(lo, hi, res)
    xx, yy = np.meshgrid(axis, axis)
    points = np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32)
    m = _pack_size(D)
    was_training = D.training
    D.eval()                                     # no dropout in the picture
    with no_grad():          # in batches of 256: a minibatch-discrimination D compares within one
        logits = np.concatenate([D(tensor(np.repeat(points[i:i + 256], m, 0))).numpy()
                                 for i in range(0, len(points), 256)])
    d = 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))
    D.train(was_training)
    fake = generate(G, n, seed=4321).astype(np.float64)
    real = mixture.sample(n, 99)
    d_star = optimal_discriminator(mixture, fake, points.astype(np.float64))
    figure = _figure(10.0, 4.6)
    levels = np.linspace(0, 1, 11)
    for i, (values, title) in enumerate(((d, f"learned D(x), step {step}"),
                                         (d_star, "optimal D* = p / (p + q̂)"))):
        if i == 0 and m > 1:
            title = f"learned D(x, ..., x), packs of {m}, step {step}"
        ax = figure.add_subplot(1, 2, i + 1)
        image = ax.contourf(xx, yy, values.reshape(res, res), levels=levels, cmap="RdBu_r", alpha=0.8)
        ax.scatter(real[:, 0], real[:, 1], s=3, c="black", label="real x ~ p", alpha=0.6)
        ax.scatter(fake[:, 0], fake[:, 1], s=3, c="orange", label="generated G(z) ~ q", alpha=0.6)
        ax.set(xlim=(lo, hi), ylim=(lo, hi), title=title, aspect="equal")
        if i == 0:
            ax.legend(loc="upper right", fontsize=7, markerscale=3)
    figure.colorbar(image, ax=figure.axes, shrink=0.8, label="probability x is real")
    return _save(figure, path)


def _outputs(D, x: np.ndarray) -> np.ndarray:
    """D's outputs on ``x`` in eval mode (no dropout, spectral norm's u and v left as they are)."""
    was_training = D.training
    D.eval()
    with no_grad():
        out = D(tensor(x.astype(np.float32))).numpy().astype(np.float64)
    D.train(was_training)
    return out


def transport_check(G, D, mixture, n: int = 500) -> dict:
    """The exact EMD W(p, q) between n real points and n of G's (an optimal assignment,
    :func:`tinygan.metrics.emd`) and the critic's estimate of it, mean D(x) - mean D(G(z)) on the
    same points -- K W(p, q) for a K-Lipschitz critic at its optimum (Kantorovich-Rubinstein).
    A packed D (packs of m) scores the first n - n mod m points, in packs."""
    real, fake = mixture.sample(n, 2024), generate(G, n, seed=2025)
    whole = n - n % _pack_size(D)
    return {"emd": float(emd(real, fake)),
            "critic_estimate": float(_outputs(D, real[:whole]).mean() - _outputs(D, fake[:whole]).mean())}


def save_transport_plot(path, steps, exact, estimate, loss: str) -> Path:
    """The critic's estimate against the exact EMD over training: on one axis for wgan-gp (a
    critic held near 1-Lipschitz estimates W itself), on a second axis otherwise (the scale of a
    clipped critic is its unknown Lipschitz constant K; a GAN's D estimates no distance)."""
    figure = _figure(6.4, 4.2)
    ax = figure.add_subplot()
    ax.plot(steps, exact, color="black", label="exact EMD W(p, q), 500 + 500 points")
    ax.set(xlabel="generator step", ylabel="EMD", title=f"--loss {loss}: critic's estimate vs the exact EMD")
    other = ax if loss == "wgan-gp" else ax.twinx()
    other.plot(steps, estimate, color="tab:red", label="critic: mean D(x) - mean D(G(z))")
    if other is not ax:
        other.set_ylabel("critic estimate", color="tab:red")
    lines = ax.get_lines() + (other.get_lines() if other is not ax else [])
    ax.legend(lines, [line.get_label() for line in lines], loc="upper right", fontsize=8)
    ax.grid(True, alpha=0.3)
    return _save(figure, path)


def save_gif(frames, path, ms: int = 300) -> Path | None:
    """Animated GIF of the PNG ``frames`` (in order); the last frame is held 3 times longer."""
    from PIL import Image       # third-party, lazy as in viz.py: only when a GIF is written
    frames = [Path(f) for f in frames]
    if not frames:
        return None
    images = [Image.open(f).convert("P", palette=Image.ADAPTIVE) for f in frames]
    durations = [ms] * (len(images) - 1) + [3 * ms]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0)
    return Path(path)
