"""Distances between distributions and GAN evaluation metrics (NumPy, vectorised; Yale CPSC 663's notes).

    from tinygan import metrics
    metrics.kl_divergence(p, q)             # histograms: Σ p log(p/q)
    metrics.js_divergence(p, q)             # in [0, log 2]
    metrics.GaussianKDE(x, "scott")         # KDE; select_bandwidth(train, valid) by likelihood
    metrics.kl_divergence_samples(x, y)     # KL / JS from samples through KDEs
    metrics.mmd2(x, y, sigma="median")      # unbiased MMD^2, Gaussian kernel (several sigmas at once)
    metrics.emd(x, y)                       # Wasserstein-1: exact assignment / 1-D closed form
    metrics.fid_from_features(f1, f2)       # Fréchet distance of feature Gaussians
    metrics.mode_coverage(samples, modes, std)   # modes captured, % high quality, reverse KL
    metrics.parzen_estimate(samples, valid, test)  # Goodfellow et al. 2014's Parzen log-likelihood
    metrics.lenet.lenet_fid(a, b)           # MNIST: LeNet-FID, IS analog, mode histogram

scipy is needed only by :func:`emd` in d > 1 (``scipy.optimize.linear_sum_assignment``).
``metrics.emd`` and ``metrics.mmd`` are the functions; their modules are imported by full name
(``from tinygan.metrics.emd import cost_matrix``).
"""
from .coverage import mode_coverage, nearest_mode  # noqa: F401
from .divergences import (cross_entropy, entropy, histogram, js_divergence,  # noqa: F401
                          js_divergence_samples, kl_divergence, kl_divergence_samples)
from .emd import (cost_matrix, emd, emd_histogram_1d, optimal_assignment,  # noqa: F401
                  wasserstein1, wasserstein_1d)
from .fid import (class_histogram, feature_statistics, fid_from_features,  # noqa: F401
                  frechet_distance, inception_score, kl_to_uniform)
from .kde import GaussianKDE, bandwidth_factor, gaussian_log_kernel_sum, select_bandwidth  # noqa: F401
from .mmd import median_heuristic, mmd, mmd2, mmd2_permutation_test  # noqa: F401
from .parzen import parzen_estimate, parzen_log_likelihoods, select_sigma  # noqa: F401

__all__ = ["GaussianKDE", "bandwidth_factor", "gaussian_log_kernel_sum", "select_bandwidth",
           "kl_divergence", "js_divergence", "entropy", "cross_entropy", "histogram",
           "kl_divergence_samples", "js_divergence_samples", "mmd2", "mmd", "median_heuristic",
           "mmd2_permutation_test", "emd", "wasserstein1", "wasserstein_1d", "emd_histogram_1d",
           "optimal_assignment", "cost_matrix", "frechet_distance", "fid_from_features",
           "feature_statistics", "inception_score", "class_histogram", "kl_to_uniform",
           "mode_coverage", "nearest_mode", "parzen_estimate", "parzen_log_likelihoods",
           "select_sigma", "lenet"]


def __getattr__(name):   # ``metrics.lenet`` on first use: keeps ``python -m tinygan.metrics.lenet`` clean
    if name == "lenet":
        import importlib
        return importlib.import_module(".lenet", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
