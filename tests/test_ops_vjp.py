"""check_vjp (random cotangent and direction, central differences, float64) for every op,
over Hypothesis-drawn shapes with broadcasting and non-contiguous inputs."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygan as tg
from tinygan import ops
from tinygan.testing import arrays, broadcastable_shapes, check_vjp

BINARY = {
    "add": ops.add, "sub": ops.sub, "mul": ops.mul, "div": lambda a, b: a / (b.abs() + 0.5),
    "pow": lambda a, b: (a.abs() + 0.5) ** b, "maximum": ops.maximum, "minimum": ops.minimum,
    "where": lambda a, b: ops.where(a.data > 0, a, b),
}
UNARY = {
    "neg": ops.neg, "exp": ops.exp, "log": lambda a: ops.log(a.abs() + 0.1),
    "sqrt": lambda a: ops.sqrt(a.abs() + 0.1), "abs": ops.abs, "relu": ops.relu,
    "leaky_relu": lambda a: ops.leaky_relu(a, 0.2), "sigmoid": ops.sigmoid, "tanh": ops.tanh,
    "softplus": ops.softplus, "log_sigmoid": ops.log_sigmoid, "clip": lambda a: ops.clip(a, -1.0, 0.5),
    "pow_scalar": lambda a: a ** 3, "rpow": lambda a: 2.0 ** a, "square": ops.square,
}


def _pair(draw):
    sa, sb = draw(broadcastable_shapes(2, max_dims=3, max_side=3))
    # keep away from kinks (|x| = 0, x = y) where a central difference straddles two pieces
    away = st.floats(0.05, 3).flatmap(lambda v: st.sampled_from([v, -v]))
    a = draw(arrays(sa, elements=away))
    b = draw(arrays(sb, elements=away))
    return a, b


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_vjp(name, data):
    a, b = _pair(data.draw)
    if name in ("maximum", "minimum"):
        b = b + 0.01 * np.sign(b)  # no exact ties
    check_vjp(BINARY[name], a, b)


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_vjp(name, data):
    shape = data.draw(st.lists(st.integers(1, 4), max_size=3).map(tuple))
    away = st.floats(0.05, 2.5).flatmap(lambda v: st.sampled_from([v, -v]))
    x = data.draw(arrays(shape, elements=away))
    if name == "clip":
        x = np.where(np.abs(x - 0.5) < 0.05, 0.7, x)
        x = np.where(np.abs(x + 1) < 0.05, -1.2, x)
    check_vjp(UNARY[name], x)


shapes3 = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


@given(data=st.data())
def test_reductions_vjp(data):
    shape = data.draw(shapes3)
    x = data.draw(arrays(shape))
    x = x + 1e-3 * np.arange(x.size).reshape(shape)  # distinct values for max
    axis = data.draw(st.one_of(st.none(), st.integers(0, len(shape) - 1)))
    keep = data.draw(st.booleans())
    check_vjp(lambda a: ops.sum(a, axis, keepdims=keep), x)
    check_vjp(lambda a: ops.mean(a, axis, keepdims=keep), x)
    check_vjp(lambda a: ops.amax(a, axis, keepdims=keep), x)
    check_vjp(lambda a: ops.amin(a, axis, keepdims=keep), x)
    if axis is not None:
        check_vjp(lambda a: ops.max(a, axis, keepdims=keep).values, x)
        check_vjp(lambda a: ops.min(a, axis, keepdims=keep).values, x)
    n = x.size if axis is None else shape[axis]
    if n > 1:
        check_vjp(lambda a: ops.var(a, axis, keepdims=keep), x)
    check_vjp(lambda a: ops.logsumexp(a, axis, keepdims=keep), x)
    check_vjp(lambda a: ops.softmax(a, -1), x)
    check_vjp(lambda a: ops.log_softmax(a, 0), x)


def test_max_ties_split_gradient():
    x = tg.tensor(np.array([1.0, 3.0, 3.0]), requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5, 0.5])


@given(data=st.data())
def test_movement_vjp(data):
    shape = data.draw(st.lists(st.integers(1, 4), min_size=2, max_size=4).map(tuple))
    x = data.draw(arrays(shape))
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    check_vjp(lambda a: ops.reshape(a, (-1,)), x)
    check_vjp(lambda a: ops.permute(a, perm), x)
    check_vjp(lambda a: a.transpose(0, -1), x)
    check_vjp(lambda a: a.T, x)
    check_vjp(lambda a: ops.broadcast_to(a, (2,) + shape), x)
    check_vjp(lambda a: ops.unsqueeze(a, 1).expand(shape[0], 3, *shape[1:]), x)
    check_vjp(lambda a: ops.squeeze(ops.unsqueeze(a, 0), 0), x)
    check_vjp(lambda a: ops.flip(a, (0, -1)), x)
    check_vjp(lambda a: ops.pad(a, [(1, 0)] + [(0, 2)] * (len(shape) - 1)), x)
    check_vjp(lambda a: ops.concatenate([a, a * 2, a[:1]], axis=0), x)
    check_vjp(lambda a: ops.stack([a, -a], axis=1), x)
    check_vjp(lambda a: ops.flatten(a, 1), x)


@given(data=st.data())
def test_getitem_vjp(data):
    shape = data.draw(st.lists(st.integers(2, 5), min_size=2, max_size=3).map(tuple))
    x = data.draw(arrays(shape))
    rows = data.draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=6))
    mask = data.draw(arrays(shape, dtype=np.bool_, elements=st.booleans(), noncontiguous=False))
    check_vjp(lambda a: a[1:, ::2], x)
    check_vjp(lambda a: a[..., 0], x)
    check_vjp(lambda a: a[None, -1], x)
    check_vjp(lambda a: a[rows], x)                     # repeated rows add up
    check_vjp(lambda a: a[rows, 1:], x)
    if mask.any():
        check_vjp(lambda a: a[mask], x)
    check_vjp(lambda a: a[tg.tensor(rows)], x)


@given(data=st.data())
def test_matmul_vjp(data):
    batch_a, batch_b = data.draw(broadcastable_shapes(2, max_dims=2, max_side=3))
    m, k, n = data.draw(st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)))
    a = data.draw(arrays(batch_a + (m, k)))
    b = data.draw(arrays(batch_b + (k, n)))
    check_vjp(ops.matmul, a, b)
    check_vjp(ops.matmul, a.reshape(-1, k)[0], b)      # 1-D (k,) on the left
    check_vjp(ops.matmul, a, b.reshape(-1, k, n)[0, :, 0])  # 1-D (k,) on the right


@given(data=st.data())
def test_losses_vjp(data):
    n, c = data.draw(st.tuples(st.integers(1, 5), st.integers(2, 4)))
    logits = data.draw(arrays((n, c)))
    target01 = data.draw(arrays((n, c), elements=st.floats(0, 1)))
    labels = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    for reduction in ("mean", "sum", "none"):
        check_vjp(lambda l: ops.binary_cross_entropy_with_logits(l, target01, reduction=reduction), logits)
        check_vjp(lambda l, t: ops.mse_loss(l, t, reduction=reduction), logits, target01)
        check_vjp(lambda l: ops.cross_entropy(l, labels, reduction=reduction), logits)
    check_vjp(lambda l: ops.binary_cross_entropy_with_logits(l, target01, pos_weight=2.0), logits)
    check_vjp(lambda l: ops.binary_cross_entropy(ops.sigmoid(l), target01), logits)
    check_vjp(lambda l: ops.cross_entropy(l, labels, weight=np.arange(1.0, c + 1)), logits)
    check_vjp(lambda l: ops.cross_entropy(l, labels, label_smoothing=0.1), logits)
    away = logits + 0.1 * np.sign(logits - target01) + (logits == target01)
    check_vjp(lambda l: ops.l1_loss(l, target01), away)


def test_cross_entropy_spatial_vjp():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, 3, 4, 5))
    labels = rng.integers(0, 3, (2, 4, 5))
    check_vjp(lambda l: ops.cross_entropy(l, labels), logits)


def test_dropout_vjp_is_the_mask():
    x = np.random.default_rng(1).standard_normal((6, 7))
    g = tg.Generator(3)
    state = g.get_state()

    def f(a):
        g.set_state(state)  # same mask on every call, including the finite-difference ones
        return ops.dropout(a, 0.3, generator=g)

    check_vjp(f, x)


def test_sum_to_is_the_adjoint_of_broadcast_to():
    """unbroadcast (the VJP of every broadcasting op) is SumTo: <broadcast_to(y), g> = <y, sum_to(g)>,
    and each is the other's VJP, differentiable again."""
    from tinygan.ops.movement import unbroadcast
    rng = np.random.default_rng(0)
    y, g = rng.standard_normal((3, 1)), rng.standard_normal((2, 3, 4))
    lhs = float((ops.broadcast_to(tg.tensor(y), (2, 3, 4)).numpy() * g).sum())
    rhs = float((y * unbroadcast(tg.tensor(g), (3, 1)).numpy()).sum())
    assert np.isclose(lhs, rhs)
    check_vjp(lambda t: unbroadcast(t, (3, 1)), tg.tensor(g, requires_grad=True))
    check_vjp(lambda t: ops.broadcast_to(t, (2, 3, 4)), tg.tensor(y, requires_grad=True))
