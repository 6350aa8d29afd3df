r"""Earth Mover's distance / Wasserstein-1 (Yale CPSC 663's notes, "Earth Mover's Distance",
"Optimal transport").

"Each distribution is dirt piled on M; the metric is the minimum cost of moving the dirt from one
pile to the other":

    W(P, Q) = inf_{γ ∈ Π(P, Q)} E_{(x, y) ~ γ} ||x - y||

with Π(P, Q) the joint distributions (transport plans) whose marginals are P and Q.

* Two samples of equal size n, each point carrying mass 1/n: some optimal plan is a permutation
  (Birkhoff-von Neumann: the extreme points of the doubly-stochastic matrices are permutations), so

      W = min_σ (1/n) Σ_i ||x_i - y_σ(i)||,

  an assignment problem solved exactly by the Hungarian-type algorithm of
  ``scipy.optimize.linear_sum_assignment`` (O(n^3)); :func:`emd`.
* Unequal sizes m, n: the transport linear program (masses 1/m and 1/n), solved by
  ``scipy.optimize.linprog`` (HiGHS); fine up to a few hundred points a side.
* 1-D: W = ∫ |F_P(t) - F_Q(t)| dt, the area between the two CDFs; for equal sizes the sorted
  samples are matched in order, W = (1/n) Σ_i |x_(i) - y_(i)|; :func:`wasserstein_1d`.
* 1-D histograms on unit-spaced bins: the lecture's running surplus δ_0 = 0,
  δ_{i+1} = δ_i + P_i - Q_i, and W = Σ |δ_i| (its example gives 5); :func:`emd_histogram_1d`.

Shifting every point of a set by a vector v moves it W = ||v|| (identity matching is optimal), the
property the tests pin, with a brute-force search over all permutations on a small case.
"""
from __future__ import annotations

import numpy as np

from .kde import _as_points


def cost_matrix(x, y) -> np.ndarray:
    """C_ij = ||x_i - y_j|| (Euclidean), (m, n), from the differences themselves (scipy's cdist):
    the ||x||^2 + ||y||^2 - 2 x.y shortcut would leave ~1e-8 after the square root of round-off."""
    from scipy.spatial.distance import cdist

    x, y = _as_points(x, "cost_matrix"), _as_points(y, "cost_matrix")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"emd: x has dimension {x.shape[1]}, y has {y.shape[1]}")
    return cdist(x, y)


def optimal_assignment(x, y):
    """(σ, W) for equal-size samples: y[σ[i]] is matched to x[i] by the optimal plan, and W is the
    mean matched distance."""
    from scipy.optimize import linear_sum_assignment

    c = cost_matrix(x, y)
    if c.shape[0] != c.shape[1]:
        raise ValueError(f"optimal_assignment: needs equal sizes, got {c.shape[0]} and {c.shape[1]}")
    rows, cols = linear_sum_assignment(c)
    sigma = np.empty(len(rows), dtype=np.int64)
    sigma[rows] = cols
    return sigma, float(c[rows, cols].mean())


def _transport_lp(c: np.ndarray) -> float:
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    m, n = c.shape
    if m * n > 250_000:
        raise ValueError(f"emd: unequal sizes {m} and {n} make an LP with {m * n} variables; "
                         "subsample to equal sizes (exact assignment) instead")
    idx = np.arange(m * n)
    rows = np.concatenate([idx // n, m + idx % n])          # row sums, then column sums
    a_eq = coo_matrix((np.ones(2 * m * n), (rows, np.concatenate([idx, idx]))), shape=(m + n, m * n))
    b_eq = np.concatenate([np.full(m, 1.0 / m), np.full(n, 1.0 / n)])
    res = linprog(c.ravel(), A_eq=a_eq.tocsr(), b_eq=b_eq, bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"emd: the transport LP failed: {res.message}")
    return float(res.fun)


def wasserstein_1d(x, y) -> float:
    """W1 between 1-D samples: the area between the empirical CDFs (exact, any sizes)."""
    x, y = np.sort(np.ravel(np.asarray(x, np.float64))), np.sort(np.ravel(np.asarray(y, np.float64)))
    if len(x) == 0 or len(y) == 0:
        raise ValueError("wasserstein_1d: empty sample")
    if len(x) == len(y):
        return float(np.abs(x - y).mean())
    t = np.sort(np.concatenate([x, y]))
    widths = np.diff(t)
    fx = np.searchsorted(x, t[:-1], side="right") / len(x)
    fy = np.searchsorted(y, t[:-1], side="right") / len(y)
    return float(np.sum(np.abs(fx - fy) * widths))


def emd(x, y) -> float:
    """Earth Mover's distance W1 between the empirical distributions of x (m, d) and y (n, d)
    (or 1-D arrays): closed form in 1-D, optimal assignment for m = n, the transport LP otherwise."""
    x, y = _as_points(x, "emd"), _as_points(y, "emd")
    if x.shape[1] == 1 and y.shape[1] == 1:
        return wasserstein_1d(x[:, 0], y[:, 0])
    if len(x) == len(y):
        return optimal_assignment(x, y)[1]
    return _transport_lp(cost_matrix(x, y))


wasserstein1 = emd


def emd_histogram_1d(p, q, bin_width: float = 1.0) -> float:
    """W between two 1-D histograms of equal total mass on evenly spaced bins: the lecture's
    δ_{i+1} = δ_i + P_i - Q_i, W = bin_width Σ |δ_i| (dirt carried across each bin boundary)."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    if p.shape != q.shape or p.ndim != 1:
        raise ValueError(f"emd_histogram_1d: need two 1-D histograms of one shape, got {p.shape}, {q.shape}")
    if not np.isclose(p.sum(), q.sum()):
        raise ValueError(f"emd_histogram_1d: masses differ ({p.sum()} vs {q.sum()})")
    return float(bin_width * np.abs(np.cumsum(p - q)).sum())
