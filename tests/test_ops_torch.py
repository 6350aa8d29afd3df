"""Values and gradients of every op equal torch's on random inputs (torch is only an oracle)."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import ops

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((4,)) + 0.1
POS = np.abs(A) + 0.2

# name: (tinygan fn, torch fn, inputs)
CASES = {
    "add": (ops.add, torch.add, (A, B)), "sub": (ops.sub, torch.sub, (A, B)),
    "mul": (ops.mul, torch.mul, (A, B)), "div": (ops.div, torch.div, (A, B)),
    "pow": (ops.pow, torch.pow, (POS, B)), "neg": (ops.neg, torch.neg, (A,)),
    "exp": (ops.exp, torch.exp, (A,)), "log": (ops.log, torch.log, (POS,)),
    "sqrt": (ops.sqrt, torch.sqrt, (POS,)), "abs": (ops.abs, torch.abs, (A,)),
    "maximum": (ops.maximum, torch.maximum, (A, B)), "minimum": (ops.minimum, torch.minimum, (A, B)),
    "clip": (lambda x: ops.clip(x, -0.5, 0.7), lambda x: torch.clamp(x, -0.5, 0.7), (A,)),
    "where": (lambda a, b: ops.where(A > 0, a, b), lambda a, b: torch.where(torch.tensor(A > 0), a, b), (A, B)),
    "relu": (ops.relu, F.relu, (A,)),
    "leaky_relu": (lambda x: ops.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2), (A,)),
    "sigmoid": (ops.sigmoid, torch.sigmoid, (A * 30,)), "tanh": (ops.tanh, torch.tanh, (A,)),
    "softplus": (ops.softplus, F.softplus, (A * 30,)), "log_sigmoid": (ops.log_sigmoid, F.logsigmoid, (A * 30,)),
    "sum": (lambda x: ops.sum(x, 1), lambda x: x.sum(1), (A,)),
    "mean": (lambda x: ops.mean(x, 0, keepdims=True), lambda x: x.mean(0, keepdim=True), (A,)),
    "amax": (lambda x: ops.amax(x, 1), lambda x: x.amax(1), (A,)),
    "max_dim": (lambda x: ops.max(x, 1).values, lambda x: x.max(1).values, (A,)),
    "var": (lambda x: ops.var(x, 1), lambda x: x.var(1), (A,)),
    "var_biased": (lambda x: ops.var(x, None, correction=0), lambda x: x.var(correction=0), (A,)),
    "reshape": (lambda x: ops.reshape(x, (2, 6)), lambda x: x.reshape(2, 6), (A,)),
    "permute": (lambda x: ops.permute(x, (1, 0)), lambda x: x.permute(1, 0), (A,)),
    "broadcast_to": (lambda x: ops.broadcast_to(x, (2, 3, 4)), lambda x: x.broadcast_to(2, 3, 4), (A,)),
    "expand": (lambda x: ops.expand(ops.unsqueeze(x, 0), 5, -1, -1), lambda x: x.unsqueeze(0).expand(5, -1, -1), (A,)),
    "squeeze": (lambda x: ops.squeeze(x[:1]), lambda x: x[:1].squeeze(), (A,)),
    "getitem": (lambda x: x[[0, 2, 0], 1:], lambda x: x[[0, 2, 0], 1:], (A,)),
    "getitem_mask": (lambda x: x[A > 0], lambda x: x[torch.tensor(A > 0)], (A,)),
    "concatenate": (lambda a, b: ops.cat([a, b[None]], 0), lambda a, b: torch.cat([a, b[None]], 0), (A, B)),
    "stack": (lambda a: ops.stack([a, a * 2], 1), lambda a: torch.stack([a, a * 2], 1), (A,)),
    "pad": (lambda x: ops.pad(x, ((1, 2), (0, 3))), lambda x: F.pad(x, (0, 3, 1, 2)), (A,)),
    "flip": (lambda x: ops.flip(x, (0,)), lambda x: torch.flip(x, (0,)), (A,)),
    "matmul": (ops.matmul, torch.matmul, (A, B)),
    "bmm": (ops.matmul, torch.matmul, (RNG.standard_normal((2, 1, 3, 4)), RNG.standard_normal((5, 4, 2)))),
    "softmax": (lambda x: ops.softmax(x, 1), lambda x: torch.softmax(x, 1), (A * 50,)),
    "log_softmax": (lambda x: ops.log_softmax(x, 0), lambda x: torch.log_softmax(x, 0), (A * 50,)),
    "logsumexp": (lambda x: ops.logsumexp(x, 1), lambda x: torch.logsumexp(x, 1), (A * 50,)),
    "bce_logits": (lambda x: ops.binary_cross_entropy_with_logits(x, (A > 0) * 1.0),
                   lambda x: F.binary_cross_entropy_with_logits(x, torch.tensor((A > 0) * 1.0)), (A * 5,)),
    "bce_logits_pos_weight": (
        lambda x: ops.binary_cross_entropy_with_logits(x, (A > 0) * 1.0, pos_weight=3.0, reduction="sum"),
        lambda x: F.binary_cross_entropy_with_logits(x, torch.tensor((A > 0) * 1.0), pos_weight=torch.tensor(3.0),
                                                     reduction="sum"), (A,)),
    "bce": (lambda x: ops.binary_cross_entropy(ops.sigmoid(x), (A > 0) * 1.0),
            lambda x: F.binary_cross_entropy(torch.sigmoid(x), torch.tensor((A > 0) * 1.0)), (A,)),
    "cross_entropy": (lambda x: ops.cross_entropy(x, np.array([0, 3, 1])),
                      lambda x: F.cross_entropy(x, torch.tensor([0, 3, 1])), (A,)),
    "cross_entropy_weighted_ignore": (
        lambda x: ops.cross_entropy(x, np.array([0, -100, 1]), weight=np.array([1.0, 2.0, 3.0, 4.0])),
        lambda x: F.cross_entropy(x, torch.tensor([0, -100, 1]), weight=torch.tensor([1.0, 2.0, 3.0, 4.0],
                                                                                     dtype=torch.float64)), (A,)),
    "cross_entropy_smoothing": (lambda x: ops.cross_entropy(x, np.array([0, 3, 1]), label_smoothing=0.2),
                                lambda x: F.cross_entropy(x, torch.tensor([0, 3, 1]), label_smoothing=0.2), (A,)),
    "mse_loss": (lambda x: ops.mse_loss(x, POS), lambda x: F.mse_loss(x, torch.tensor(POS)), (A,)),
    "l1_loss": (lambda x: ops.l1_loss(x, POS, reduction="sum"),
                lambda x: F.l1_loss(x, torch.tensor(POS), reduction="sum"), (A,)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    ours, theirs, inputs = CASES[name]
    xs = [tg.tensor(x, requires_grad=True) for x in inputs]
    ts = [torch.tensor(x, requires_grad=True) for x in inputs]
    out, ref = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    cot = np.random.default_rng(1).standard_normal(ref.shape)
    grads = tg.grad(out, xs, grad_outputs=cot, allow_unused=True)
    ref_grads = torch.autograd.grad(ref, ts, grad_outputs=torch.tensor(cot), allow_unused=True)
    for g, rg in zip(grads, ref_grads):
        if rg is None:
            assert g is None or not g.numpy().any()
        else:
            np.testing.assert_allclose(g.numpy(), rg.numpy(), rtol=1e-10, atol=1e-12)


def test_float32_stays_float32():
    x = tg.randn(3, 4, requires_grad=True)
    y = (x * 2.0 + 1).exp().sum(1).log() / 3
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
