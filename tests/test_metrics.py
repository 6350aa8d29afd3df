"""tinygan.metrics: identities of KL / JS / MMD / EMD / FID, Yale CPSC 663's worked examples, and scipy as
an oracle for KDE, entropy and 1-D Wasserstein."""
import itertools
import math

import numpy as np
import pytest

from tinygan import metrics
from tinygan.metrics import divergences, fid, kde, parzen
from tinygan.metrics.emd import cost_matrix

scipy_stats = pytest.importorskip("scipy.stats")

LOG2 = math.log(2.0)


def _random_dist(rng, k):
    p = rng.random(k) + 1e-3
    return p / p.sum()


# ----- KL / JS on histograms -------------------------------------------------------------------
def test_lecture_kl_example_as_written_and_with_exact_thirds():
    P = [0.36, 0.48, 0.16]
    Q = [0.333, 0.333, 0.333]
    assert metrics.kl_divergence(Q, P) == pytest.approx(0.09636, abs=1e-5)
    terms = [0.333 * math.log(0.333 / p) for p in P]
    assert terms == pytest.approx([-0.02596, -0.12176, 0.24408], abs=1e-5)
    assert metrics.kl_divergence([1 / 3] * 3, P) == pytest.approx(0.09746, abs=1e-5)
    assert metrics.kl_divergence(Q, P, normalize=True) == pytest.approx(0.09746, abs=1e-5)


def test_kl_nonnegative_zero_only_for_equal_and_matches_scipy():
    rng = np.random.default_rng(0)
    for k in (2, 3, 10, 50):
        for _ in range(20):
            p, q = _random_dist(rng, k), _random_dist(rng, k)
            kl = metrics.kl_divergence(p, q)
            assert kl > 0
            assert kl == pytest.approx(scipy_stats.entropy(p, q), rel=1e-10)
            assert metrics.kl_divergence(p, p) == 0.0
            # D_KL = H(P, Q) - H(P), the lecture's cross-entropy reading
            assert kl == pytest.approx(metrics.cross_entropy(p, q) - metrics.entropy(p), abs=1e-12)
            assert metrics.kl_divergence(p, q, base=2) == pytest.approx(kl / LOG2)


def test_kl_support_rules():
    assert metrics.kl_divergence([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]) == pytest.approx(LOG2)
    assert metrics.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    with pytest.raises(ValueError, match="normalize=True"):
        metrics.kl_divergence([3, 1], [1, 1])
    assert metrics.kl_divergence([3, 1], [1, 1], normalize=True) == pytest.approx(
        0.75 * math.log(1.5) + 0.25 * math.log(0.5))


def test_js_bounds_symmetry_and_disjoint_supports():
    rng = np.random.default_rng(1)
    for _ in range(50):
        k = int(rng.integers(2, 20))
        p, q = _random_dist(rng, k), _random_dist(rng, k)
        js = metrics.js_divergence(p, q)
        assert 0 < js <= LOG2
        assert js == pytest.approx(metrics.js_divergence(q, p), abs=1e-14)
        # scipy returns the JS *distance*, the square root
        from scipy.spatial.distance import jensenshannon
        assert js == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-8)
    assert metrics.js_divergence([0.2, 0.8], [0.2, 0.8]) == 0.0
    # the lecture's parallel lines: disjoint supports give log 2 whatever the distance
    assert metrics.js_divergence([1, 0, 0, 0], [0, 0, 0, 1]) == pytest.approx(LOG2)
    assert metrics.js_divergence([1, 0], [0, 1], base=2) == pytest.approx(1.0)


def test_histogram_of_samples():
    h = metrics.histogram(np.array([0.1, 0.2, 0.6, 0.9]), bins=2, range=(0, 1))
    assert h.tolist() == [0.5, 0.5]


# ----- KDE ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["scott", "silverman"])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_kde_matches_scipy(rule, d):
    rng = np.random.default_rng(d)
    data = rng.standard_normal((200, d)) @ rng.standard_normal((d, d)) + 1.0
    query = rng.standard_normal((50, d)) * 2
    ours = metrics.GaussianKDE(data, rule)
    ref = scipy_stats.gaussian_kde(data.T, bw_method=rule)
    np.testing.assert_allclose(ours.covariance, ref.covariance, rtol=1e-10)
    np.testing.assert_allclose(ours.log_pdf(query), ref.logpdf(query.T), rtol=1e-9, atol=1e-9)


def test_kde_numeric_bandwidth_is_the_lectures_formula_and_integrates_to_one():
    rng = np.random.default_rng(3)
    xs = rng.standard_normal(30)
    h = 0.4
    t = np.linspace(-8, 8, 4001)
    direct = np.mean(np.exp(-(t[:, None] - xs[None]) ** 2 / (2 * h * h)) / (h * math.sqrt(2 * math.pi)), 1)
    ours = metrics.GaussianKDE(xs, h).pdf(t)
    np.testing.assert_allclose(ours, direct, rtol=1e-10, atol=1e-300)
    assert np.sum((ours[1:] + ours[:-1]) / 2 * np.diff(t)) == pytest.approx(1.0, abs=1e-6)  # trapezoid rule


def test_kde_leave_one_out_and_far_points_do_not_underflow():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((40, 2))
    k = metrics.GaussianKDE(x, 0.3)
    loo = k.log_pdf(x, exclude_self=True)
    brute = [metrics.GaussianKDE(np.delete(x, i, 0), 0.3).log_pdf(x[i:i + 1])[0] for i in range(40)]
    np.testing.assert_allclose(loo, brute, rtol=1e-10)
    far = k.log_pdf(np.array([[1e3, 1e3]]))
    assert np.isfinite(far).all() and far[0] < -1e6


def test_bandwidth_by_validation_likelihood():
    rng = np.random.default_rng(5)
    train, valid = rng.standard_normal((400, 1)), rng.standard_normal((400, 1))
    candidates = np.geomspace(0.01, 3, 25)
    h, scores = metrics.select_bandwidth(train, valid, candidates)
    assert scores[h] == max(scores.values())
    assert 0.15 < h < 0.8           # near the rules of thumb (~0.3 for n = 400), far from the ends
    assert metrics.GaussianKDE.fit_by_likelihood(train, valid, candidates).covariance[0, 0] == pytest.approx(h * h)


def test_kl_and_js_from_samples_through_kde():
    rng = np.random.default_rng(6)
    x = rng.standard_normal(1500)
    y = rng.standard_normal(1500) + 1.0
    # KL(N(0,1) || N(1,1)) = 1/2
    assert metrics.kl_divergence_samples(x, y) == pytest.approx(0.5, abs=0.1)
    assert abs(metrics.kl_divergence_samples(x, rng.standard_normal(1500))) < 0.05
    js = metrics.js_divergence_samples(x, y)
    assert 0 < js < LOG2
    far = metrics.js_divergence_samples(x, x + 100.0)
    assert far == pytest.approx(LOG2, abs=1e-6)


# ----- MMD ---------------------------------------------------------------------------------------
def _mmd2_loops(x, y, s):
    k = lambda a, b: math.exp(-np.sum((a - b) ** 2) / (2 * s * s))  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(a, b) for a in x for b in y) / (m * n)
    return xx + yy - 2 * xy


def test_mmd2_unbiased_matches_the_definition_and_several_bandwidths_at_once():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((12, 3)), rng.standard_normal((9, 3)) + 0.5
    for s in (0.3, 1.0, 4.0):
        assert metrics.mmd2(x, y, s) == pytest.approx(_mmd2_loops(x, y, s), rel=1e-10)
    many = metrics.mmd2(x, y, [0.3, 1.0, 4.0])
    np.testing.assert_allclose(many, [metrics.mmd2(x, y, s) for s in (0.3, 1.0, 4.0)], rtol=1e-12)


def test_mmd2_of_a_sample_with_itself_is_zero():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((300, 2))
    assert metrics.mmd2(x, x, unbiased=False) == pytest.approx(0.0, abs=1e-12)
    assert abs(metrics.mmd2(x, x)) < 2.0 / len(x)          # unbiased: 2(a - 1)/n, a <= 1
    same = metrics.mmd2(x, rng.standard_normal((300, 2)))
    shifted = metrics.mmd2(x, rng.standard_normal((300, 2)) + 1.0)
    assert abs(same) < 0.01 < shifted


def test_median_heuristic_and_permutation_test():
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((50, 2)), rng.standard_normal((40, 2))
    z = np.concatenate([x, y])
    d = np.sqrt(((z[:, None] - z[None]) ** 2).sum(-1))[np.triu_indices(len(z), 1)]
    assert metrics.median_heuristic(x, y) == pytest.approx(np.median(d))
    _, p_same = metrics.mmd2_permutation_test(x, y, permutations=50)
    _, p_diff = metrics.mmd2_permutation_test(x, y + 2.0, permutations=50)
    assert p_same > 0.05 and p_diff < 0.05


# ----- EMD ---------------------------------------------------------------------------------------
def test_emd_of_a_shift_is_the_shift_length():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((60, 2))
    v = np.array([0.3, -0.4])
    y = (x + v)[rng.permutation(60)]
    assert metrics.emd(x, y) == pytest.approx(0.5, abs=1e-9)
    x3 = rng.standard_normal((25, 3))
    assert metrics.emd(x3, x3 + np.array([1.0, 2.0, 2.0])) == pytest.approx(3.0, abs=1e-9)
    assert metrics.emd(x, x) == pytest.approx(0.0, abs=1e-12)


def test_emd_assignment_equals_brute_force_over_permutations():
    rng = np.random.default_rng(11)
    for _ in range(3):
        x, y = rng.random((6, 2)), rng.random((6, 2))
        c = np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1))
        brute = min(c[np.arange(6), list(p)].mean() for p in itertools.permutations(range(6)))
        sigma, w = metrics.optimal_assignment(x, y)
        assert w == pytest.approx(brute, rel=1e-12)
        assert metrics.emd(x, y) == pytest.approx(brute, rel=1e-12)
        assert sorted(sigma.tolist()) == list(range(6))


def test_emd_1d_closed_form_unequal_sizes_and_the_lecture_example():
    rng = np.random.default_rng(12)
    a, b = rng.standard_normal(40), rng.standard_normal(25) * 2
    assert metrics.wasserstein_1d(a, b) == pytest.approx(scipy_stats.wasserstein_distance(a, b), rel=1e-12)
    b40 = rng.standard_normal(40)
    two_d = metrics.optimal_assignment(np.c_[a, 0 * a], np.c_[b40, 0 * b40])[1]
    assert metrics.emd(a, b40) == pytest.approx(two_d, rel=1e-12)
    # unequal sizes in 2-D (transport LP) = equal sizes with each x repeated twice (assignment)
    x, y = rng.random((5, 2)), rng.random((10, 2))
    assert metrics.emd(x, y) == pytest.approx(metrics.emd(np.repeat(x, 2, 0), y), rel=1e-7)
    # Yale CPSC 663: piles (3, 2, 1, 4) -> (1, 2, 4, 3); δ = 2, 2, -1, 0 and W = 5
    assert metrics.emd_histogram_1d([3, 2, 1, 4], [1, 2, 4, 3]) == 5.0


# ----- FID / IS ----------------------------------------------------------------------------------
def test_fid_of_a_set_with_itself_is_zero_and_gaussian_closed_forms():
    rng = np.random.default_rng(13)
    f = rng.standard_normal((500, 16)) @ rng.standard_normal((16, 16))
    assert metrics.fid_from_features(f, f) == pytest.approx(0.0, abs=1e-8 * np.trace(np.cov(f.T)))
    # 1-D Gaussians: W2^2 = (m1 - m2)^2 + (s1 - s2)^2
    assert metrics.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)
    # commuting (diagonal) covariances: sum over coordinates
    s1, s2 = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    assert metrics.frechet_distance([0, 0], s1, [1, 1], s2) == pytest.approx(2 + 4 + 1)


def test_fid_matches_scipy_sqrtm_formula_and_is_symmetric():
    from scipy.linalg import sqrtm
    rng = np.random.default_rng(14)
    a, b = rng.standard_normal((6, 6)), rng.standard_normal((6, 6))
    s1, s2 = a @ a.T, b @ b.T + np.eye(6)
    m1, m2 = rng.standard_normal(6), rng.standard_normal(6)
    ref = np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * np.real(sqrtm(s1 @ s2)))
    assert metrics.frechet_distance(m1, s1, m2, s2) == pytest.approx(ref, rel=1e-8)
    assert metrics.frechet_distance(m2, s2, m1, s1) == pytest.approx(ref, rel=1e-8)


def test_inception_score_extremes_and_mode_histogram_kl():
    k = 10
    uniform = np.full((100, k), 1.0 / k)
    assert fid.inception_score(uniform)[0] == pytest.approx(1.0)
    onehot = np.eye(k)[np.arange(100) % k]
    assert fid.inception_score(onehot, splits=1)[0] == pytest.approx(k)
    collapsed = np.eye(k)[np.zeros(100, int)]
    assert fid.inception_score(collapsed, splits=1)[0] == pytest.approx(1.0)
    assert metrics.kl_to_uniform(metrics.class_histogram(np.zeros(50), k)) == pytest.approx(math.log(k))
    assert metrics.kl_to_uniform(metrics.class_histogram(np.arange(50) % k, k)) == pytest.approx(0.0)


# ----- Parzen ------------------------------------------------------------------------------------
def test_parzen_is_the_gaussian_window_formula_and_sigma_is_chosen_on_validation():
    rng = np.random.default_rng(15)
    samples, x = rng.standard_normal((200, 5)), rng.standard_normal((30, 5))
    s = 0.7
    d2 = ((x[:, None] - samples[None]) ** 2).sum(-1)
    ref = np.log(np.mean(np.exp(-d2 / (2 * s * s)), 1)) - 2.5 * math.log(2 * math.pi * s * s)
    np.testing.assert_allclose(parzen.parzen_log_likelihoods(samples, x, s), ref, rtol=1e-10)
    valid, test = rng.standard_normal((100, 5)), rng.standard_normal((100, 5))
    out = metrics.parzen_estimate(samples, valid, test, sigmas=[0.05, 0.3, 0.7, 1.0, 3.0])
    assert out["valid_scores"][out["sigma"]] == max(out["valid_scores"].values())
    assert out["sigma"] not in (0.05, 3.0)
    ll = parzen.parzen_log_likelihoods(samples, test, out["sigma"])
    assert out["mean"] == pytest.approx(ll.mean())
    assert out["stderr"] == pytest.approx(ll.std(ddof=1) / 10.0)
    # images are flattened
    imgs = rng.standard_normal((20, 1, 2, 2))
    assert parzen.parzen_log_likelihoods(imgs, imgs[:3], 0.5).shape == (3,)


def test_input_validation():
    with pytest.raises(ValueError):
        metrics.mmd2(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError):
        metrics.GaussianKDE(np.zeros((5, 2)), -1.0)
    with pytest.raises(ValueError, match="singular"):
        metrics.GaussianKDE(np.zeros((5, 2)))
    with pytest.raises(ValueError):
        metrics.kl_divergence([0.5, 0.5], [1.0])
    assert kde.bandwidth_factor("scott", 100, 1) == pytest.approx(100 ** -0.2)
    assert cost_matrix(np.zeros((2, 2)), np.ones((3, 2))).shape == (2, 3)
    assert divergences.entropy([0.5, 0.5]) == pytest.approx(LOG2)
    assert metrics.mmd(np.zeros((4, 1)), np.zeros((4, 1)), 1.0) == pytest.approx(0.0)
