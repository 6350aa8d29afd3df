r"""A synthetic tabular task whose label correlates with a sensitive attribute (for ``train fair``).

Each row draws a sensitive attribute a ~ Bernoulli(1/2) and a "merit" z ~ N(0, I_4) independent
of a; s = 2a - 1 in {-1, +1}. The label mixes merit and group (a biased historical decision):

    y = 1[ z_1 + 0.5 z_2 + gamma s + eps > 0 ],   eps ~ N(0, 0.5^2),   gamma = 0.8

so P(y = 1 | a = 1) - P(y = 1 | a = 0) is about 0.5. The attribute itself is not a feature; twelve
features carry it anyway, as real data do:

    x_1..x_4   = z + N(0, 0.3^2)                                       merit, clean
    x_5..x_8   = c s + N(0, 1),  c = (1.5, 1.0, 0.75, 0.5)             proxies of a (postcode, ...)
    x_9..x_12  = z + 0.5 s + N(0, 0.5^2)                               merit mixed with group

A classifier that uses everything predicts y best (it can recover gamma s from the proxies) and has
a large demographic-parity gap |P(yhat = 1 | a = 1) - P(yhat = 1 | a = 0)|; one that sees only
z (independent of a) has a gap of 0 and the merit-only rule's lower accuracy. An
adversarially fair representation (Edwards & Storkey, "Censoring Representations with an
Adversary"; Madras et al., "Learning Adversarially Fair and Transferable Representations") moves
between those two ends as the adversary's weight grows.

Fixed by ``seed``: the same arrays on every machine (NumPy PCG64).
"""
from __future__ import annotations

import numpy as np

GAMMA = 0.8
PROXY_WEIGHTS = (1.5, 1.0, 0.75, 0.5)
N_FEATURES = 12


def make_fair_task(n: int, seed: int = 0, gamma: float = GAMMA):
    """(x float32 (n, 12), y int64 (n,), a int64 (n,)) of the task above, standardised per feature
    with the population constants (so train and test share them)."""
    if int(n) < 1:
        raise ValueError(f"make_fair_task: n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    s = 2.0 * a - 1.0
    z = rng.standard_normal((n, 4))
    y = (z[:, 0] + 0.5 * z[:, 1] + gamma * s + 0.5 * rng.standard_normal(n) > 0).astype(np.int64)
    clean = z + 0.3 * rng.standard_normal((n, 4))
    proxies = np.asarray(PROXY_WEIGHTS) * s[:, None] + rng.standard_normal((n, 4))
    mixed = z + 0.5 * s[:, None] + 0.5 * rng.standard_normal((n, 4))
    x = np.concatenate([clean, proxies, mixed], 1)
    # population standard deviations of each block (means are 0)
    std = np.concatenate([np.full(4, np.sqrt(1 + 0.09)),
                          np.sqrt(np.asarray(PROXY_WEIGHTS) ** 2 + 1),
                          np.full(4, np.sqrt(1 + 0.25 + 0.25))])
    return (x / std).astype(np.float32), y, a.astype(np.int64)


def demographic_parity_gap(y_hat: np.ndarray, a: np.ndarray) -> float:
    """|P(yhat = 1 | a = 1) - P(yhat = 1 | a = 0)| of 0/1 predictions."""
    y_hat, a = np.asarray(y_hat), np.asarray(a)
    if y_hat.shape != a.shape:
        raise ValueError(f"demographic_parity_gap: shapes {y_hat.shape} and {a.shape} differ")
    if not (a == 1).any() or not (a == 0).any():
        raise ValueError("demographic_parity_gap: both groups must be present")
    return float(abs(y_hat[a == 1].mean() - y_hat[a == 0].mean()))
