r"""Toy 2-D mixtures of Gaussians for watching a GAN learn -- and collapse (VEEGAN / PacGAN benchmarks).

* ``ring``: 8 Gaussians with means on a circle of radius 2, μ_k = 2 (cos 2πk/8, sin 2πk/8),
  standard deviation 0.02 (Srivastava et al. 2017, VEEGAN).
* ``grid``: 25 Gaussians with means on the 5 x 5 grid {-4, -2, 0, 2, 4}^2, standard deviation 0.05
  (Lin et al. 2018, PacGAN).

Each component has weight 1/K, so the density is p(x) = (1/K) Σ_k N(x; μ_k, s^2 I): it is known in
closed form, which lets the GAN trainer draw the optimal discriminator D*(x) = p(x) / (p(x) + q(x))
of Goodfellow et al. 2014 beside the learned D. :meth:`ToyMixture.coverage` applies the mode-coverage
metric of :mod:`tinygan.metrics.coverage` (modes captured, % high quality within 3 s, reverse KL of
the mode histogram) over 2,500 samples, as the papers do.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..metrics.coverage import mode_coverage

COVERAGE_SAMPLES = 2500


@dataclass(frozen=True)
class ToyMixture:
    """An equal-weight isotropic Gaussian mixture in 2-D: ``means`` (K, 2), common ``std``."""
    name: str
    means: np.ndarray
    std: float

    @property
    def num_modes(self) -> int:
        return len(self.means)

    def sample(self, n: int, rng=None, dtype=np.float32) -> np.ndarray:
        """n points (n, 2): a uniformly chosen mode plus N(0, std^2 I) noise. ``rng``: a seed, a
        numpy Generator or a :class:`tinygan.Generator`."""
        rng = _numpy_rng(rng)
        k = rng.integers(0, self.num_modes, size=n)
        return (self.means[k] + self.std * rng.standard_normal((n, 2))).astype(dtype)

    def log_density(self, x) -> np.ndarray:
        """log p(x) for points (m, 2)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
        d2 = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)
        a = -d2 / (2 * self.std ** 2)
        m = a.max(1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(a - m).sum(1))
        return lse - math.log(self.num_modes) - math.log(2 * math.pi * self.std ** 2)

    def density(self, x) -> np.ndarray:
        return np.exp(self.log_density(x))

    def extent(self, margin: float = 0.5):
        """(lo, hi) of a square that holds every mode with ``margin`` around, for plots."""
        lo = float(self.means.min()) - margin
        hi = float(self.means.max()) + margin
        return lo, hi

    def coverage(self, samples, threshold: float = 3.0) -> dict:
        """Mode coverage of generated ``samples`` (:func:`tinygan.metrics.mode_coverage`)."""
        return mode_coverage(samples, self.means, self.std, threshold)


def _numpy_rng(rng):
    if rng is not None and hasattr(rng, "rng") and isinstance(rng.rng, np.random.Generator):
        return rng.rng                           # a tinygan.Generator
    return np.random.default_rng(rng)


def ring(num_modes: int = 8, radius: float = 2.0, std: float = 0.02) -> ToyMixture:
    """``num_modes`` Gaussians evenly on a circle (default: VEEGAN's ring of 8, radius 2, std 0.02)."""
    t = 2 * np.pi * np.arange(num_modes) / num_modes
    return ToyMixture("ring", radius * np.stack([np.cos(t), np.sin(t)], 1), float(std))


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> ToyMixture:
    """side x side Gaussians on a centred grid (default: PacGAN's 5 x 5 on {-4..4}, std 0.05)."""
    c = spacing * (np.arange(side) - (side - 1) / 2)
    xx, yy = np.meshgrid(c, c, indexing="ij")
    return ToyMixture("grid", np.stack([xx.ravel(), yy.ravel()], 1), float(std))


MIXTURES = {"ring": ring, "grid": grid}


def get_mixture(name: str) -> ToyMixture:
    """``"ring"`` (ring-8) or ``"grid"`` (grid-25) with the papers' parameters."""
    if name not in MIXTURES:
        raise ValueError(f"unknown toy mixture {name!r}; choose from {sorted(MIXTURES)}")
    return MIXTURES[name]()
