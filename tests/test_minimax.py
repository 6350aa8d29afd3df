"""Minimax schemes: the bilinear game's published outcomes, and who steps against whom in a GAN."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import games, nn, optim
from tinygan.nn import functional as F

ALPHA, STEPS = 0.1, 2000


@pytest.fixture(scope="module")
def paths():
    return {name: games.run_bilinear(name, STEPS, ALPHA) for name in games.SCHEME_NAMES}


def test_simultaneous_spirals_out_at_the_predicted_rate(paths):
    d = games.distance(paths["simultaneous"])
    assert d[-1] > 1e4                                   # published: ~3e4
    k = np.arange(STEPS + 1)
    np.testing.assert_allclose(d, np.sqrt(2) * (1 + ALPHA ** 2) ** (k / 2), rtol=1e-10)


def test_alternating_stays_on_a_bounded_cycle(paths):
    p = paths["alternating"]
    d = games.distance(p)
    assert 1.3 < d[-1] < 1.5 and d.max() < 1.5 and d.min() > 1.3   # published: ~1.4, never grows
    x, y = p[:, 0], p[:, 1]
    invariant = x * x + y * y + ALPHA * x * y            # conserved by the det-1 update (y first, then x)
    np.testing.assert_allclose(invariant, 2 + ALPHA, rtol=1e-12)
    assert (np.diff(np.sign(x)) != 0).sum() > 10          # it circles the equilibrium, many times


def test_multi_ascent_and_ttur_stay_bounded(paths):
    for name in ("alternating_n_dis5", "ttur"):
        d = games.distance(paths[name])
        assert d.max() < 3 and d[-1] > 0.5, name         # neither diverges nor converges


@pytest.mark.parametrize("name", ["extragradient", "optimistic"])
def test_extragradient_and_optimistic_converge(paths, name):
    d = games.distance(paths[name])
    assert d[-1] < 1e-3                                  # published: converge
    assert d.max() <= np.sqrt(2) + 0.01
    if name == "extragradient":
        k = np.arange(STEPS + 1)
        np.testing.assert_allclose(d, np.sqrt(2) * (1 - ALPHA ** 2 + ALPHA ** 4) ** (k / 2), rtol=1e-9)


# ----- one step of each scheme against its equations (SGD base: the step is exactly lr * grad) ----
def quadratic_game():
    """L(a, b) = a^T M b + 0.5 |a|^2 - 0.3 |b|^2 + sum(a * b^2): a minimises, b maximises."""
    rng = np.random.default_rng(3)
    M = tg.tensor(rng.standard_normal((3, 3)))
    a = nn.Parameter(tg.tensor(rng.standard_normal(3)))
    b = nn.Parameter(tg.tensor(rng.standard_normal(3)))

    def L(a_, b_):
        return (a_ * (M @ b_)).sum() + 0.5 * (a_ * a_).sum() - 0.3 * (b_ * b_).sum() + (a_ * b_ * b_).sum()
    return a, b, L


def grads(L, a, b):
    a_, b_ = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=True)
    ga, gb = tg.grad(L(a_, b_), [a_, b_])
    return ga.numpy(), gb.numpy()


@pytest.mark.parametrize("name", ["simultaneous", "alternating", "alternating_n_dis", "extragradient",
                                  "optimistic"])
def test_two_steps_follow_the_equations(name):
    a, b, L = quadratic_game()
    lr = 0.05
    scheme = optim.SCHEMES[name](optim.SGD([a], lr=lr), optim.SGD([b], lr=lr))
    A, B = a.numpy().copy(), b.numpy().copy()
    prev = None
    for _ in range(2):
        scheme.step(lambda: L(a, b))
        if name == "simultaneous":
            ga, gb = grads(L, A, B)
            A, B = A - lr * ga, B + lr * gb
        elif name.startswith("alternating"):
            for _ in range(5 if name == "alternating_n_dis" else 1):
                B = B + lr * grads(L, A, B)[1]
            A = A - lr * grads(L, A, B)[0]
        elif name == "extragradient":
            ga, gb = grads(L, A, B)
            ga, gb = grads(L, A - lr * ga, B + lr * gb)
            A, B = A - lr * ga, B + lr * gb
        else:                                            # optimistic, first step a plain one
            g = grads(L, A, B)
            p = prev if prev is not None else g
            A, B = A - 2 * lr * g[0] + lr * p[0], B + 2 * lr * g[1] - lr * p[1]
            prev = g
        np.testing.assert_allclose(a.numpy(), A, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(b.numpy(), B, rtol=1e-12, atol=1e-14)


def test_zero_sum_shortcut_equals_two_closures():
    a, b, L = quadratic_game()
    a2, b2 = nn.Parameter(tg.tensor(a.numpy())), nn.Parameter(tg.tensor(b.numpy()))
    s1 = optim.Extragradient(optim.Adam([a], lr=0.01), optim.Adam([b], lr=0.01))
    s2 = optim.Extragradient(optim.Adam([a2], lr=0.01), optim.Adam([b2], lr=0.01))
    for _ in range(3):
        v1 = s1.step(lambda: L(a, b))
        v2 = s2.step(lambda: L(a2, b2), lambda: -L(a2, b2))
        assert v1 == pytest.approx(v2) and v1["max_loss"] == -v1["min_loss"]
    assert np.array_equal(a.numpy(), a2.numpy()) and np.array_equal(b.numpy(), b2.numpy())


# ----- the GAN case: different losses, and who sees whose update ----------------------------------
def tiny_gan(seed=0):
    g = tg.Generator(seed)
    G = nn.Sequential(nn.Linear(2, 3, generator=g), nn.Tanh(), nn.Linear(3, 2, generator=g)).double()
    D = nn.Sequential(nn.Linear(2, 4, generator=g), nn.LeakyReLU(0.2), nn.Linear(4, 1, generator=g)).double()
    return G, D


RNG = np.random.default_rng(4)
Z = tg.tensor(RNG.standard_normal((8, 2)))
REAL = tg.tensor(RNG.standard_normal((8, 2)) + 2)
ONES, ZEROS = tg.ones(8, 1, dtype="float64"), tg.zeros(8, 1, dtype="float64")


def d_loss(G, D):
    return (F.binary_cross_entropy_with_logits(D(REAL), ONES)
            + F.binary_cross_entropy_with_logits(D(G(Z).detach()), ZEROS))


def g_loss(G, D):                                        # non-saturating: -log D(G(z))
    return F.binary_cross_entropy_with_logits(D(G(Z)), ONES)


def sgd_step(module, loss, lr):
    """The expected update, computed by hand: params - lr * grad(loss)."""
    params = list(module.parameters())
    gs = tg.grad(loss, params)
    return [p.numpy() - lr * g.numpy() for p, g in zip(params, gs)]


def copy_of(G_state, D_state):
    G, D = tiny_gan(seed=99)
    G.load_state_dict(G_state)
    D.load_state_dict(D_state)
    return G, D


@pytest.mark.parametrize("name", ["alternating", "simultaneous"])
def test_gan_step_generator_sees_updated_discriminator_only_when_alternating(name):
    lr = 0.5
    G, D = tiny_gan()
    G0, D0 = ({k: v.clone() for k, v in M.state_dict().items()} for M in (G, D))
    scheme = optim.SCHEMES[name](optim.SGD(G.parameters(), lr=lr), optim.SGD(D.parameters(), lr=lr))
    scheme.step(lambda: g_loss(G, D), lambda: d_loss(G, D))

    Gr, Dr = copy_of(G0, D0)                       # reference: by hand, from the same start
    D_new = sgd_step(Dr, d_loss(Gr, Dr), lr)
    G_vs_old_D = sgd_step(Gr, g_loss(Gr, Dr), lr)
    Dn = copy_of(G0, D0)[1]
    for p, v in zip(Dn.parameters(), D_new):
        p.data[...] = v
    G_vs_new_D = sgd_step(Gr, g_loss(Gr, Dn), lr)

    for p, v in zip(D.parameters(), D_new):              # D's step is the same in both schemes
        np.testing.assert_allclose(p.numpy(), v, rtol=1e-13, atol=1e-15)
    expected, other = (G_vs_new_D, G_vs_old_D) if name == "alternating" else (G_vs_old_D, G_vs_new_D)
    for p, v in zip(G.parameters(), expected):
        np.testing.assert_allclose(p.numpy(), v, rtol=1e-13, atol=1e-15)
    gap = max(np.abs(p.numpy() - v).max() for p, v in zip(G.parameters(), other))
    assert gap > 1e-4                                    # and the two answers really differ


def test_multi_ascent_takes_n_dis_discriminator_steps_first():
    G, D = tiny_gan()
    G0, D0 = ({k: v.clone() for k, v in M.state_dict().items()} for M in (G, D))
    scheme = optim.AlternatingMultiAscent(optim.SGD(G.parameters(), lr=0.1), optim.SGD(D.parameters(), lr=0.1))
    assert scheme.n_dis == 5
    scheme.step(lambda: g_loss(G, D), lambda: d_loss(G, D))
    Gr, Dr = copy_of(G0, D0)
    for _ in range(5):
        for p, v in zip(Dr.parameters(), sgd_step(Dr, d_loss(Gr, Dr), 0.1)):
            p.data[...] = v
    for p, v in zip(list(Dr.parameters()), list(D.parameters())):
        np.testing.assert_allclose(p.numpy(), v.numpy(), rtol=1e-13, atol=1e-15)
    for p, v in zip(G.parameters(), sgd_step(Gr, g_loss(Gr, Dr), 0.1)):
        np.testing.assert_allclose(p.numpy(), v, rtol=1e-13, atol=1e-15)


def test_ttur_sets_separate_learning_rates():
    G, D = tiny_gan()
    ttur = optim.TTUR(optim.Adam(G.parameters()), optim.Adam(D.parameters()), min_lr=1e-4, max_lr=4e-4)
    assert ttur.min_optimizer.param_groups[0]["lr"] == 1e-4 and ttur.max_optimizer.param_groups[0]["lr"] == 4e-4
    assert isinstance(ttur._inner, optim.AlternatingGDA)
    assert isinstance(optim.TTUR(optim.SGD([nn.Parameter(tg.ones(1))]), optim.SGD([nn.Parameter(tg.ones(1))]),
                                 alternating=False)._inner, optim.SimultaneousGDA)


def test_optimistic_state_dict_resumes_exactly():
    a, b, L = quadratic_game()
    scheme = optim.OptimisticGDA(optim.Adam([a], lr=0.01), optim.Adam([b], lr=0.01))
    for _ in range(3):
        scheme.step(lambda: L(a, b))
    state, A, B = scheme.state_dict(), a.numpy().copy(), b.numpy().copy()
    for _ in range(3):
        scheme.step(lambda: L(a, b))
    a2, b2, _ = quadratic_game()
    a2.data[...], b2.data[...] = A, B
    resumed = optim.OptimisticGDA(optim.Adam([a2], lr=0.01), optim.Adam([b2], lr=0.01))
    resumed.load_state_dict(state)
    for _ in range(3):
        resumed.step(lambda: L(a2, b2))
    assert np.array_equal(a.numpy(), a2.numpy()) and np.array_equal(b.numpy(), b2.numpy())


def test_players_must_not_share_parameters():
    p = nn.Parameter(tg.ones(2))
    with pytest.raises(ValueError, match="share"):
        optim.SimultaneousGDA(optim.SGD([p]), optim.SGD([p]))


def test_bilinear_demo_writes_png_and_prints_distances(tmp_path, capsys):
    finals = games.main(["--steps", "300", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert set(finals) == set(games.SCHEME_NAMES)
    for name in games.SCHEME_NAMES:
        assert games.LABELS[name] in out
    png = tmp_path / "trajectories.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "distances.json").exists()
    assert finals["simultaneous"] > 2 * finals["alternating"] > 4 * finals["extragradient"]
