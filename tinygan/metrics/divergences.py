r"""KL and Jensen-Shannon divergences (Yale CPSC 663's notes, "Ways of comparing probability
distributions").

For histograms (discrete distributions P, Q over the same bins)::

    D_KL(P || Q) = - Σ_i P(i) log(Q(i) / P(i)) = Σ_i P(i) log(P(i) / Q(i)) = H(P, Q) - H(P)
    D_JS(P || Q) = ½ D_KL(P || M) + ½ D_KL(Q || M),     M = (P + Q) / 2

KL >= 0 with equality only when P = Q, it is not symmetric, and it is +inf when Q(i) = 0 < P(i)
(the lecture's parallel lines); terms with P(i) = 0 contribute 0. JS is symmetric, finite and
0 <= JS <= log 2 (log 2 exactly when the supports are disjoint). Natural logs (nats) by default;
``base=2`` gives bits.

The lecture's worked example, D_KL(Q || P) with P = (0.36, 0.48, 0.16) and Q = (0.333, 0.333,
0.333) exactly as written: -0.02596 - 0.12176 + 0.24408 = 0.09636 (the slide prints 0.09637 after
adding the rounded terms); with exact thirds Q = (1/3, 1/3, 1/3) it is 0.09746. By default the
inputs are used as given (``normalize=False``), so the example reproduces; pass counts with
``normalize=True``.

For samples (continuous P, Q known only through x ~ P, y ~ Q) the densities are replaced by
Gaussian KDEs (:mod:`tinygan.metrics.kde`) and the expectations by sample means::

    D_KL(P || Q) ≈ (1/n) Σ_i [log p̂_{-i}(x_i) - log q̂(x_i)]
    D_JS(P || Q) ≈ ½ (1/n) Σ_i log(2 p̂_{-i}(x_i) / (p̂_{-i}(x_i) + q̂(x_i)))
                 + ½ (1/m) Σ_j log(2 q̂_{-j}(y_j) / (p̂(y_j) + q̂_{-j}(y_j)))

where p̂_{-i} leaves x_i's own kernel out (otherwise every point would see its own spike and the
estimate would be biased upwards). Each JS term is <= log 2, so the estimate keeps 0 <= JS <= log 2
up to Monte-Carlo noise below 0.
"""
from __future__ import annotations

import math

import numpy as np

from .kde import GaussianKDE


def _as_distributions(p, q, normalize: bool, name: str):
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"{name}: P has shape {p.shape}, Q has shape {q.shape}")
    if (p < 0).any() or (q < 0).any():
        raise ValueError(f"{name}: probabilities must be non-negative")
    if normalize:
        sp, sq = p.sum(), q.sum()
        if sp <= 0 or sq <= 0:
            raise ValueError(f"{name}: cannot normalise an all-zero histogram")
        return p / sp, q / sq
    for label, r in (("P", p), ("Q", q)):
        if abs(r.sum() - 1.0) > 1e-2:
            raise ValueError(f"{name}: {label} sums to {r.sum():.6g}, not 1; pass normalize=True "
                             "for counts or unnormalised histograms")
    return p, q


def _log(x, base):
    return np.log(x) if base is None else np.log(x) / math.log(base)


def kl_divergence(p, q, base=None, normalize: bool = False) -> float:
    """D_KL(P || Q) = Σ_i P(i) log(P(i) / Q(i)) for histograms of the same shape (any shape: the
    sum runs over all bins). +inf when some Q(i) = 0 < P(i). ``base``: None (nats) or e.g. 2 (bits).
    ``normalize``: divide P and Q by their sums first (for counts)."""
    p, q = _as_distributions(p, q, normalize, "kl_divergence")
    support = p > 0
    if (q[support] == 0).any():
        return math.inf
    return float(np.sum(p[support] * _log(p[support] / q[support], base)))


def js_divergence(p, q, base=None, normalize: bool = False) -> float:
    """D_JS(P || Q) = ½ KL(P || M) + ½ KL(Q || M), M = (P + Q)/2; in [0, log 2] (log_base 2)."""
    p, q = _as_distributions(p, q, normalize, "js_divergence")
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m, base) + 0.5 * kl_divergence(q, m, base)


def entropy(p, base=None, normalize: bool = False) -> float:
    """H(P) = - Σ_i P(i) log P(i)."""
    p, _ = _as_distributions(p, p, normalize, "entropy")
    s = p[p > 0]
    return float(-np.sum(s * _log(s, base)))


def cross_entropy(p, q, base=None, normalize: bool = False) -> float:
    """H(P, Q) = - Σ_i P(i) log Q(i), so that D_KL(P || Q) = H(P, Q) - H(P)."""
    p, q = _as_distributions(p, q, normalize, "cross_entropy")
    support = p > 0
    if (q[support] == 0).any():
        return math.inf
    return float(-np.sum(p[support] * _log(q[support], base)))


def histogram(x, bins, range=None) -> np.ndarray:  # noqa: A002 -- numpy's name
    """A normalised histogram of samples ``x`` (n,) or (n, d) on fixed bins, so two sample sets
    binned with the same ``bins``/``range`` can be compared with :func:`kl_divergence`."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        counts, _ = np.histogram(x, bins=bins, range=range)
    else:
        counts, _ = np.histogramdd(x, bins=bins, range=range)
    total = counts.sum()
    if total == 0:
        raise ValueError("histogram: no samples fall inside the range")
    return counts / total


def _kdes(x, y, bandwidth):
    return GaussianKDE(x, bandwidth), GaussianKDE(y, bandwidth)


def kl_divergence_samples(x, y, bandwidth="scott", base=None) -> float:
    """D_KL(P || Q) from samples x ~ P (n, d) and y ~ Q (m, d) through Gaussian KDEs (each with
    ``bandwidth``: "scott", "silverman" or a number), averaged over x with leave-one-out p̂."""
    p_hat, q_hat = _kdes(x, y, bandwidth)
    log_ratio = p_hat.log_pdf(p_hat.data, exclude_self=True) - q_hat.log_pdf(p_hat.data)
    value = float(log_ratio.mean())
    return value if base is None else value / math.log(base)


def js_divergence_samples(x, y, bandwidth="scott", base=None) -> float:
    """D_JS(P || Q) from samples through Gaussian KDEs (leave-one-out on each side's own points)."""
    p_hat, q_hat = _kdes(x, y, bandwidth)
    log2 = math.log(2.0)

    def term(own, other):
        lo = own.log_pdf(own.data, exclude_self=True)
        lt = other.log_pdf(own.data)
        # log(2 a / (a + b)) = log 2 - log(1 + b/a) = log 2 - logaddexp(0, lt - lo)
        return float(np.mean(log2 - np.logaddexp(0.0, lt - lo)))

    value = 0.5 * term(p_hat, q_hat) + 0.5 * term(q_hat, p_hat)
    return value if base is None else value / math.log(base)
