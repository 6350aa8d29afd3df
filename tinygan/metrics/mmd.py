r"""Maximum mean discrepancy (Yale CPSC 663's notes, "Distances": MMD), Gaussian kernel.

MMD compares two distributions through the mean of a feature map in a kernel's Hilbert space:

    MMD^2(P, Q) = || E_{x~P} φ(x) - E_{y~Q} φ(y) ||^2
                = E k(x, x') + E k(y, y') - 2 E k(x, y),       k(x, y) = exp(-||x - y||^2 / (2 σ^2))

For a characteristic kernel such as the Gaussian, MMD = 0 iff P = Q. From samples x_1..x_m ~ P and
y_1..y_n ~ Q the *unbiased* estimate (Gretton et al. 2012, Lemma 6) drops the i = j terms:

    MMD_u^2 = 1/(m(m-1)) Σ_{i≠j} k(x_i, x_j) + 1/(n(n-1)) Σ_{i≠j} k(y_i, y_j) - 2/(mn) Σ_{i,j} k(x_i, y_j)

It can be slightly negative when P = Q. The biased (V-statistic) estimate keeps the diagonal; it is
>= 0 and exactly 0 for a sample compared with itself.

Bandwidth: a number σ, ``"median"`` (the median heuristic: σ = the median distance between distinct
points of the pooled sample), or a sequence of either -- several bandwidths computed from one
distance matrix. MMD^2 is linear in the kernel, so the MMD^2 of the mixture kernel Σ_s k_σs is
``mmd2(x, y, sigmas).sum()``.
"""
from __future__ import annotations

import numpy as np

from .kde import _as_points, squared_distances

_MEDIAN_SUBSAMPLE = 2000


def median_heuristic(x, y=None, rng=0) -> float:
    """σ = median ||z_i - z_j|| over distinct pairs of the pooled sample z = (x, y) (at most 2,000
    points, a seeded random subset beyond that)."""
    z = _as_points(x, "median_heuristic")
    if y is not None:
        z = np.concatenate([z, _as_points(y, "median_heuristic")])
    if len(z) > _MEDIAN_SUBSAMPLE:
        z = z[np.random.default_rng(rng).choice(len(z), _MEDIAN_SUBSAMPLE, replace=False)]
    d2 = squared_distances(z, z)[np.triu_indices(len(z), k=1)]
    sigma = float(np.sqrt(np.median(d2))) if d2.size else 0.0
    return sigma if sigma > 0 else 1.0


def mmd2(x, y, sigma="median", unbiased: bool = True):
    """MMD^2 between samples x (m, d) and y (n, d) with the Gaussian kernel of bandwidth ``sigma``
    (a number, "median", or a sequence -> an array with one MMD^2 per bandwidth)."""
    x, y = _as_points(x, "mmd2"), _as_points(y, "mmd2")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"mmd2: x has dimension {x.shape[1]}, y has {y.shape[1]}")
    m, n = len(x), len(y)
    if unbiased and (m < 2 or n < 2):
        raise ValueError("mmd2: the unbiased estimate needs at least 2 points on each side")
    scalar = isinstance(sigma, (str, int, float, np.floating, np.integer))
    sigmas = [sigma] if scalar else list(sigma)
    sigmas = np.array([median_heuristic(x, y) if s == "median" else float(s) for s in sigmas])
    if (sigmas <= 0).any():
        raise ValueError(f"mmd2: bandwidths must be positive, got {sigmas}")
    dxx, dyy, dxy = squared_distances(x, x), squared_distances(y, y), squared_distances(x, y)
    out = np.empty(len(sigmas))
    for s, sig in enumerate(sigmas):
        g = -1.0 / (2.0 * sig ** 2)
        kxx, kyy, kxy = np.exp(g * dxx), np.exp(g * dyy), np.exp(g * dxy)
        if unbiased:
            xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        else:
            xx, yy = kxx.mean(), kyy.mean()
        out[s] = xx + yy - 2.0 * kxy.mean()
    return float(out[0]) if scalar else out


def mmd(x, y, sigma="median"):
    """sqrt of the biased MMD^2 (a metric between the empirical distributions)."""
    return np.sqrt(np.maximum(mmd2(x, y, sigma, unbiased=False), 0.0))


def mmd2_permutation_test(x, y, sigma="median", permutations: int = 200, rng=0):
    """(MMD_u^2, p-value): the fraction of random relabellings of the pooled sample whose MMD_u^2 is
    at least the observed one (a two-sample test of P = Q; the bandwidth is fixed first)."""
    x, y = _as_points(x, "mmd2_permutation_test"), _as_points(y, "mmd2_permutation_test")
    sig = median_heuristic(x, y) if sigma == "median" else float(sigma)
    observed = mmd2(x, y, sig)
    z, m = np.concatenate([x, y]), len(x)
    rng = np.random.default_rng(rng)
    hits = 0
    for _ in range(permutations):
        perm = rng.permutation(len(z))
        hits += mmd2(z[perm[:m]], z[perm[m:]], sig) >= observed
    return observed, (hits + 1) / (permutations + 1)
