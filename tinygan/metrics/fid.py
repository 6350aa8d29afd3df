r"""Fréchet distance between feature statistics (FID), the Inception-Score formula, class histograms.

FID (Heusel et al. 2017) fits a Gaussian to the features of each image set and takes the Fréchet
(Wasserstein-2) distance between the two Gaussians:

    FID = ||μ_1 - μ_2||^2 + Tr(Σ_1 + Σ_2 - 2 (Σ_1 Σ_2)^{1/2})

Tr((Σ_1 Σ_2)^{1/2}) is computed as Σ_k sqrt(λ_k) with λ_k the eigenvalues of the symmetric PSD matrix
Σ_1^{1/2} Σ_2 Σ_1^{1/2} (it has the same eigenvalues as Σ_1 Σ_2), which avoids the complex
round-off of a general matrix square root. The FID of a set with itself is 0.

The Inception Score (Salimans et al. 2016) uses a classifier's softmax p(y | x):

    IS = exp( E_x D_KL(p(y | x) || p(y)) ),     p(y) = E_x p(y | x)

between 1 (every image gives the same prediction, or every prediction is uniform) and the number
of classes (confident predictions spread evenly over the classes). tinygan's "LeNet-FID" and "IS
analog" feed these formulas with the small MNIST LeNet of :mod:`tinygan.metrics.lenet` instead of
Inception-v3, so their values are comparable only with each other, not with published FIDs.
"""
from __future__ import annotations

import math

import numpy as np

from .divergences import kl_divergence


def feature_statistics(features):
    """(μ, Σ) of features (n, d): the mean and the (n-1)-normalised covariance."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"feature_statistics: need (n >= 2, d) features, got {f.shape}")
    return f.mean(0), np.atleast_2d(np.cov(f, rowvar=False))


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(0.5 * (s + s.T))
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||μ1 - μ2||^2 + Tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^{1/2}) between N(μ1, Σ1) and N(μ2, Σ2)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"frechet_distance: shapes {mu1.shape}, {s1.shape}, {mu2.shape}, {s2.shape}")
    r1 = _sqrt_psd(s1)
    lam = np.linalg.eigvalsh(0.5 * ((r1 @ s2 @ r1) + (r1 @ s2 @ r1).T))
    tr_sqrt = float(np.sqrt(np.clip(lam, 0, None)).sum())
    value = float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)
    return max(value, 0.0)


def fid_from_features(features1, features2) -> float:
    """FID between two feature sets (n1, d), (n2, d)."""
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))


def inception_score(probs, splits: int = 10):
    """(mean, std) over ``splits`` equal parts of exp(E_x KL(p(y|x) || p(y))) for class
    probabilities ``probs`` (n, K) (rows sum to 1)."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"inception_score: expected (n, K) probabilities, got {p.shape}")
    splits = max(1, min(int(splits), len(p)))
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(0)
        safe = np.clip(part, 1e-12, None)
        kl = np.sum(part * (np.log(safe) - np.log(np.clip(marginal, 1e-12, None))), axis=1)
        scores.append(math.exp(float(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def class_histogram(labels, num_classes: int) -> np.ndarray:
    """Counts of each predicted class 0..num_classes-1 (the "mode histogram")."""
    return np.bincount(np.asarray(labels, dtype=np.int64).ravel(), minlength=num_classes)[:num_classes]


def kl_to_uniform(counts) -> float:
    """D_KL(histogram || uniform) in nats: 0 when every class is equally frequent, log K when all
    samples fall in one of K classes (total mode collapse)."""
    counts = np.asarray(counts, dtype=np.float64)
    return kl_divergence(counts, np.ones_like(counts), normalize=True)
