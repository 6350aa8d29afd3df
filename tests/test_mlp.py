"""A two-layer MLP written against the public API learns two moons with plain SGD."""
import numpy as np

import tinygan as tg


def two_moons(n, noise, rng):
    t = rng.uniform(0, np.pi, n)
    upper = np.stack([np.cos(t), np.sin(t)], 1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)
    x = np.concatenate([upper, lower]) + noise * rng.standard_normal((2 * n, 2))
    y = np.concatenate([np.zeros(n), np.ones(n)])
    return x.astype(np.float32), y.astype(np.float32)


def test_mlp_learns_two_moons():
    rng = np.random.default_rng(0)
    x_train, y_train = two_moons(200, 0.1, rng)
    x_test, y_test = two_moons(200, 0.1, rng)
    tg.manual_seed(0)
    w1 = (tg.randn(2, 32) * 0.5).requires_grad_()
    b1 = tg.zeros(32, requires_grad=True)
    w2 = (tg.randn(32, 1) * 0.5).requires_grad_()
    b2 = tg.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]

    def model(x):
        return ((tg.tensor(x) @ w1 + b1).relu() @ w2 + b2).reshape(-1)

    for step in range(1500):
        idx = rng.integers(0, len(x_train), 64)
        loss = tg.ops.binary_cross_entropy_with_logits(model(x_train[idx]), y_train[idx])
        for p in params:
            p.grad = None
        loss.backward()
        with tg.no_grad():
            for p in params:
                p.data -= 0.3 * p.grad.data
    with tg.no_grad():
        accuracy = ((model(x_test).numpy() > 0) == y_test).mean()
    assert accuracy >= 0.95, accuracy
