r"""Gaussian kernel density estimation (Yale CPSC 663's notes, "Estimating probability distributions").

From points x_1..x_n the lecture builds a smooth density by putting a kernel on every point:

    K_h(x) = (1/h) K(x / h)                          a kernel scaled by the bandwidth h
    f̂_h(x) = (1/n) Σ_i K_h(x - x_i)                   the kernel density estimate

with K non-negative, symmetric (K(-u) = K(u)) and integrating to 1. Here K is the Gaussian; in d
dimensions with a bandwidth *matrix* H (a covariance),

    f̂_H(x) = (1/n) Σ_i N(x; x_i, H),    N(x; μ, H) = exp(-(x-μ)^T H^{-1} (x-μ) / 2) / sqrt((2π)^d |H|)

Bandwidths:

* ``h`` a number: isotropic, H = h^2 I (the lecture's K_h; Goodfellow et al.'s Parzen window).
* ``"scott"``: H = f^2 Σ̂ with f = n^{-1/(d+4)} and Σ̂ the sample covariance (Scott 1992).
* ``"silverman"``: f = (n (d+2) / 4)^{-1/(d+4)} (Silverman 1986).
  (Both as scipy.stats.gaussian_kde defines them, which the tests use as an oracle.)
* :func:`select_bandwidth`: the isotropic h among candidates that maximises the mean
  log-likelihood of a held-out validation set -- "bandwidth by validation likelihood".

Everything is vectorised over points and evaluated in chunks, with a log-sum-exp so that far-away
points (tiny densities) do not underflow to log 0.
"""
from __future__ import annotations

import math

import numpy as np

_CHUNK_ELEMENTS = 2 ** 22          # query-by-data block size (floats) per distance matrix


def _as_points(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name}: expected points of shape (n, d) or (n,), got {x.shape}")
    if len(x) == 0:
        raise ValueError(f"{name}: no points")
    return x


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a_i - b_j||^2 for a (n, d), b (m, d): an (n, m) matrix, clipped at 0 (rounding)."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d2, 0.0)


def gaussian_log_kernel_sum(query, data, sigma: float, exclude_self: bool = False) -> np.ndarray:
    r"""log (1/n Σ_i N(q; x_i, σ^2 I)) for every query q: the log-density of the isotropic KDE / Parzen
    window with bandwidth σ at each row of ``query`` (m, d), from ``data`` (n, d). Chunked.

    ``exclude_self``: ``query`` is ``data`` and each point's own kernel is left out (leave-one-out,
    the average is then over n - 1 points)."""
    query, data = _as_points(query, "kde"), _as_points(data, "kde")
    if query.shape[1] != data.shape[1]:
        raise ValueError(f"kde: query has dimension {query.shape[1]}, data {data.shape[1]}")
    sigma = float(sigma)
    if not sigma > 0:
        raise ValueError(f"kde: bandwidth must be positive, got {sigma}")
    n, d = data.shape
    if exclude_self and (query.shape != data.shape or n < 2):
        raise ValueError("kde: exclude_self needs query == data with at least 2 points")
    step = max(1, _CHUNK_ELEMENTS // n)
    out = np.empty(len(query))
    for s in range(0, len(query), step):
        a = -squared_distances(query[s:s + step], data) / (2 * sigma ** 2)
        if exclude_self:
            rows = np.arange(a.shape[0])
            a[rows, s + rows] = -np.inf
        out[s:s + step] = _logsumexp(a, axis=1)
    count = n - 1 if exclude_self else n
    return out - math.log(count) - 0.5 * d * math.log(2 * math.pi * sigma ** 2)


def bandwidth_factor(rule: str, n: int, d: int) -> float:
    """Scott's n^{-1/(d+4)} or Silverman's (n (d+2)/4)^{-1/(d+4)}: H = factor^2 * covariance."""
    if rule == "scott":
        return n ** (-1.0 / (d + 4))
    if rule == "silverman":
        return (n * (d + 2) / 4.0) ** (-1.0 / (d + 4))
    raise ValueError(f"unknown bandwidth rule {rule!r}; choose 'scott' or 'silverman'")


class GaussianKDE:
    r"""f̂_H(x) = (1/n) Σ_i N(x; x_i, H), Gaussian kernels on the rows of ``data`` (n, d) or (n,).

    ``bandwidth``: ``"scott"`` (default) or ``"silverman"`` (H = factor^2 Σ̂), or a number h
    (H = h^2 I). Methods: :meth:`log_pdf`, :meth:`pdf`, :meth:`sample`; attributes ``covariance`` (H)
    and ``factor`` (None for a numeric h). For bandwidth by validation likelihood see
    :func:`select_bandwidth` / :meth:`fit_by_likelihood`.
    """

    def __init__(self, data, bandwidth="scott"):
        self.data = _as_points(data, "GaussianKDE")
        n, d = self.data.shape
        self.bandwidth = bandwidth
        if isinstance(bandwidth, str):
            if n < 2:
                raise ValueError("GaussianKDE: a bandwidth rule needs at least 2 points")
            self.factor = bandwidth_factor(bandwidth, n, d)
            cov = np.atleast_2d(np.cov(self.data, rowvar=False))
            self.covariance = cov * self.factor ** 2
        else:
            h = float(bandwidth)
            if not h > 0:
                raise ValueError(f"GaussianKDE: bandwidth must be positive, got {bandwidth}")
            self.factor = None
            self.covariance = np.eye(d) * h ** 2
        # whiten: with H = L L^T, N(x; x_i, H) = N(L^{-1} x; L^{-1} x_i, I) / |L|
        try:
            self._chol = np.linalg.cholesky(self.covariance)
        except np.linalg.LinAlgError as e:
            raise ValueError("GaussianKDE: the data covariance is singular (points on a lower-"
                             "dimensional set); give a numeric bandwidth instead") from e
        self._white = np.linalg.solve(self._chol, self.data.T).T
        self._log_det_l = float(np.log(np.diag(self._chol)).sum())

    @property
    def n(self) -> int:
        return self.data.shape[0]

    @property
    def d(self) -> int:
        return self.data.shape[1]

    def log_pdf(self, x, exclude_self: bool = False) -> np.ndarray:
        """log f̂(x) for each row of ``x`` (m, d) -> (m,). ``exclude_self``: x is the data and each
        point's own kernel is left out (leave-one-out log-likelihood)."""
        x = _as_points(x, "GaussianKDE.log_pdf")
        if x.shape[1] != self.d:
            raise ValueError(f"GaussianKDE.log_pdf: points of dimension {x.shape[1]}, the KDE has {self.d}")
        q = np.linalg.solve(self._chol, x.T).T
        return gaussian_log_kernel_sum(q, self._white, 1.0, exclude_self) - self._log_det_l

    def pdf(self, x) -> np.ndarray:
        return np.exp(self.log_pdf(x))

    __call__ = pdf

    def sample(self, n: int, rng=None) -> np.ndarray:
        """n draws from f̂: pick a data point uniformly, add N(0, H) noise."""
        rng = np.random.default_rng(rng)
        idx = rng.integers(0, self.n, size=n)
        return self.data[idx] + rng.standard_normal((n, self.d)) @ self._chol.T

    def mean_log_likelihood(self, x) -> float:
        return float(self.log_pdf(x).mean())

    @classmethod
    def fit_by_likelihood(cls, train, valid, candidates=None) -> "GaussianKDE":
        """The isotropic KDE on ``train`` whose h (from ``candidates``) maximises the validation
        log-likelihood; see :func:`select_bandwidth`."""
        h, _ = select_bandwidth(train, valid, candidates)
        return cls(train, h)


def default_candidates(data, num: int = 20) -> np.ndarray:
    """Log-spaced bandwidths from 1/100 to 2 times the per-coordinate standard deviation (averaged)."""
    data = _as_points(data, "default_candidates")
    scale = float(np.sqrt(np.mean(np.var(data, axis=0)))) or 1.0
    return np.geomspace(scale / 100, 2 * scale, num)


def select_bandwidth(train, valid, candidates=None):
    """Bandwidth by validation likelihood: for each candidate h, the mean log f̂_h(valid) of the
    isotropic KDE on ``train``; returns ``(best_h, {h: mean log-likelihood})``."""
    train, valid = _as_points(train, "select_bandwidth"), _as_points(valid, "select_bandwidth")
    candidates = default_candidates(train) if candidates is None else np.atleast_1d(candidates)
    scores = {float(h): float(gaussian_log_kernel_sum(valid, train, h).mean()) for h in candidates}
    best = max(scores, key=scores.get)
    return best, scores
