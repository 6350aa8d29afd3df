"""einsum against torch.einsum on Hypothesis-drawn equations: 1-3 operands, repeated letters
(diagonals, traces), letters that only one operand has, '...' broadcasting, size-1 broadcasting,
empty axes, 0-d operands, implicit and explicit outputs. Values, gradients and grad of grad in
float64; values and gradients in float32 (tolerance in tests/torch_parity.py OPS); check_vjp; both CPU
backends; torch's errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygan as tg
from tinygan.testing import check_vjp
from torch_parity import BACKENDS, compare_with, OPS, torch
compare = compare_with(OPS)


@st.composite
def equations(draw):
    """(equation, shapes) that torch.einsum accepts."""
    letters = "abcdA"
    size = {c: draw(st.integers(0, 3)) if draw(st.booleans()) else draw(st.integers(1, 3))
            for c in letters}
    ell = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    n_ops = draw(st.integers(1, 3))
    terms, shapes = [], []
    for _ in range(n_ops):
        term = draw(st.lists(st.sampled_from(letters), max_size=3))
        shape = []
        for c in term:
            # size-1 broadcasting of a letter, except where the letter repeats in this term
            shrink = term.count(c) == 1 and size[c] > 1 and draw(st.integers(0, 5)) == 0
            shape.append(1 if shrink else size[c])
        if ell and draw(st.booleans()):
            k = draw(st.integers(0, len(ell)))
            at = draw(st.integers(0, len(term)))
            eshape = [n if draw(st.integers(0, 4)) else 1 for n in ell[len(ell) - k:]]
            term = term[:at] + ["..."] + term[at:]
            shape = shape[:at] + eshape + shape[at:]
        terms.append("".join(term))
        shapes.append(tuple(shape))
    lhs = ",".join(terms)
    if draw(st.booleans()):
        return lhs, shapes
    used = sorted(set(c for t in terms for c in t if c.isalpha()))
    out = draw(st.permutations(used)).copy()
    out = out[:draw(st.integers(0, len(out)))]
    if "..." in lhs and draw(st.booleans()):
        out.insert(draw(st.integers(0, len(out))), "...")
    return lhs + "->" + "".join(out), shapes


def _operands(data, shapes):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    return [rng.standard_normal(s) for s in shapes]


@settings(max_examples=60)
@given(data=st.data(), case=equations())
def test_einsum_matches_torch_float64(data, case):
    eq, shapes = case
    compare(lambda *xs: tg.einsum(eq, *xs), lambda *xs: torch.einsum(eq, *xs), _operands(data, shapes),
            backend=data.draw(st.sampled_from(BACKENDS)))


@settings(max_examples=20)
@given(data=st.data(), case=equations())
def test_einsum_matches_torch_float32(data, case):
    eq, shapes = case
    compare(lambda *xs: tg.einsum(eq, *xs), lambda *xs: torch.einsum(eq, *xs), _operands(data, shapes),
            dtype=np.float32, backend=data.draw(st.sampled_from(BACKENDS)))


@settings(max_examples=20)
@given(data=st.data(), case=equations())
def test_einsum_check_vjp(data, case):
    eq, shapes = case
    check_vjp(lambda *xs: tg.einsum(eq, *xs), *_operands(data, shapes))


@pytest.mark.parametrize("eq, shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk", [(2, 2, 3), (2, 3, 2)]), ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]), ("iij->ji", [(2, 2, 3)]), ("i,j", [(2,), (3,)]), ("i,i->", [(4,), (4,)]),
    ("...ij,...jk", [(5, 2, 3), (3, 4)]), ("ij,jk", [(2, 1), (3, 4)]), (",i->i", [(), (3,)]),
    ("ba,ab", [(3, 2), (2, 3)]), ("Ab,bc->cA", [(2, 3), (3, 2)]), ("ij->", [(0, 3)]),
    ("i j , j k -> i k", [(2, 3), (3, 2)]), ("abc,cd,de->abe", [(2, 2, 3), (3, 2), (2, 2)]),
])
@pytest.mark.parametrize("backend", BACKENDS)
def test_einsum_named_cases(eq, shapes, backend):
    rng = np.random.default_rng(0)
    compare(lambda *xs: tg.einsum(eq, *xs), lambda *xs: torch.einsum(eq, *xs),
            [rng.standard_normal(s) for s in shapes], backend=backend)


def test_einsum_list_and_sublist_forms():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    ref = torch.einsum("ij,jk->ik", torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_allclose(tg.einsum("ij,jk->ik", [tg.tensor(a), tg.tensor(b)]).numpy(), ref)
    sub = tg.einsum(tg.tensor(a), [0, 1], tg.tensor(b), [1, 2], [0, 2])
    np.testing.assert_allclose(sub.numpy(), ref)
    ell = tg.einsum(tg.tensor(a), [Ellipsis, 1], tg.tensor(b), [1, 2])
    np.testing.assert_allclose(ell.numpy(), torch.einsum(torch.tensor(a), [Ellipsis, 1],
                                                         torch.tensor(b), [1, 2]).numpy())


def test_einsum_integer_dtype_matches_torch():
    a = np.arange(6).reshape(2, 3)
    compare(lambda x: tg.einsum("ij->j", x), lambda x: torch.einsum("ij->j", x), [a])


@pytest.mark.parametrize("eq, shapes, match", [
    ("ij,jk", [(2, 3)], "fewer operands"),
    ("ij", [(2, 3), (3,)], "more operands"),
    ("ii->i", [(2, 3)], "repeated for operand 0"),
    ("i->j", [(2,)], "output subscript j"),
    ("i->ii", [(2,)], "more than once"),
    ("ijk", [(2, 3)], "number of subscripts"),
    ("ij,jk", [(2, 3), (2, 4)], "broadcast"),
    ("i1", [(2, 3)], "invalid subscript"),
])
def test_einsum_errors(eq, shapes, match):
    with pytest.raises(RuntimeError, match=match):
        tg.einsum(eq, *[tg.zeros(s) for s in shapes])


def test_einsum_mixed_dtypes_raise():
    with pytest.raises(RuntimeError, match="same dtype"):
        tg.einsum("i,i->", tg.tensor([1, 2]), tg.tensor([1.0, 2.0]))
