r"""The Parzen-window log-likelihood estimate of Goodfellow et al. 2014 (Table 1).

A GAN gives samples, not a density. Goodfellow et al. (following Breuleux et al. 2011) fit a
Gaussian Parzen window -- the isotropic KDE of Yale CPSC 663's notes -- to samples g_1..g_N of the
generator,

    p̂_σ(x) = (1/N) Σ_i N(x; g_i, σ^2 I)
    log p̂_σ(x) = logsumexp_i(-||x - g_i||^2 / (2σ^2)) - log N - (d/2) log(2π σ^2)

choose σ by maximising the mean log-likelihood of a validation split, and report the mean
log-likelihood of the test split with its standard error std / sqrt(n_test). (Their MNIST figure
is 225 ± 2 nats for 10,000 samples and pixels in [0, 1]; the number depends on the pixel scale --
by -d log(scale) -- and on N, and the paper itself warns that the estimate has high variance and
is unreliable in high dimensions. Use it to compare runs under the same protocol only.)
"""
from __future__ import annotations

import math

import numpy as np

from .kde import _as_points, gaussian_log_kernel_sum

DEFAULT_SIGMAS = np.geomspace(0.05, 1.0, 12)


def parzen_log_likelihoods(samples, x, sigma: float) -> np.ndarray:
    """log p̂_σ(x_j) for each row of ``x`` under the Parzen window on ``samples`` (both flattened to
    (n, d))."""
    samples, x = _flat(samples), _flat(x)
    return gaussian_log_kernel_sum(x, samples, sigma)


def _flat(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return _as_points(a.reshape(len(a), -1) if a.ndim > 2 else a, "parzen")


def select_sigma(samples, valid, sigmas=None):
    """(best σ, {σ: mean validation log-likelihood}) over the candidate ``sigmas``."""
    sigmas = DEFAULT_SIGMAS if sigmas is None else np.atleast_1d(sigmas)
    samples, valid = _flat(samples), _flat(valid)
    scores = {float(s): float(parzen_log_likelihoods(samples, valid, s).mean()) for s in sigmas}
    return max(scores, key=scores.get), scores


def parzen_estimate(samples, valid, test, sigmas=None) -> dict:
    """Goodfellow et al.'s protocol: σ chosen on ``valid``, then the mean and standard error of the
    test log-likelihood. Returns ``{"sigma", "mean", "stderr", "valid_scores", "num_samples",
    "num_test"}`` (nats)."""
    sigma, scores = select_sigma(samples, valid, sigmas)
    ll = parzen_log_likelihoods(samples, test, sigma)
    return {"sigma": sigma, "mean": float(ll.mean()),
            "stderr": float(ll.std(ddof=1) / math.sqrt(len(ll))) if len(ll) > 1 else math.nan,
            "valid_scores": scores, "num_samples": int(len(_flat(samples))), "num_test": int(len(ll))}
