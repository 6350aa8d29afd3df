"""einsum with torch's equation syntax, and a VJP that is itself an einsum.

``einsum("ij,jk->ik", a, b)``: each operand is labelled by a term of letters (a-z, A-Z), one per
axis; letters absent from the output are summed over; a letter repeated inside one term takes that
operand's diagonal. ``...`` stands for the remaining (broadcast, right-aligned) axes. Without
``->`` the output is ``...`` followed by the letters that appear exactly once, in alphabetical
order (upper case first), as in torch. Axes with the same letter must have equal sizes or size 1
(broadcast). torch's sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` is accepted too.

VJP. The output is linear in each operand A_k:  out = sum over the other letters of
A_k[term_k] * (product of the others). So, for the cotangent g,

    dA_k[term_k] = einsum(out, other terms -> term_k)(g, other operands)

with two patches that einsum's output rules need: a letter repeated in term_k gets a fresh name
and a constant identity matrix joining it to the original (the gradient lives on the diagonal),
and a letter found only in term_k gets a constant vector of ones (the gradient is the same along
it). Finally broadcast axes are summed back (:func:`unbroadcast`). Being einsum again, the VJP
differentiates again.
"""
from __future__ import annotations

import string

import numpy as np

from ..autograd import Function
from ..devices import xp_of
from ..tensor import Tensor
from ._util import constant
from .movement import broadcast_to, unbroadcast

LETTERS = string.ascii_uppercase + string.ascii_lowercase


def _err(msg):
    return RuntimeError(f"einsum(): {msg}")


def _from_sublists(args):
    """torch's ``einsum(op1, sublist1, op2, sublist2, ..., [sublist_out])`` -> (equation, ops)."""
    def term(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, (int, np.integer)) and 0 <= s < 52:
                out.append(LETTERS[s])
            else:
                raise _err(f"subscript in a sublist must be Ellipsis or an int in [0, 52), got {s!r}")
        return "".join(out)
    args = list(args)
    ops, terms = args[0::2], args[1::2]
    out = None
    if len(ops) > len(terms):       # an odd count: the last item is the output sublist
        out, ops = ops[-1], ops[:-1]
    equation = ",".join(term(t) for t in terms)
    return (equation if out is None else equation + "->" + term(out)), ops


def parse(equation, shapes):
    """(terms, output) with '...' replaced by fresh letters and the output made explicit,
    plus the broadcast size of every letter. Errors name the operand and sizes as torch does."""
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise _err(f"only one '->' is allowed, got {equation!r}")
    lhs, rhs = eq.split("->") if "->" in eq else (eq, None)
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        more = "more" if len(shapes) > len(terms) else "fewer"
        raise _err(f"{more} operands were provided than specified in the equation {equation!r}")
    used = set(c for c in eq if c.isalpha())
    for c in eq:
        if c not in LETTERS and c not in ".,->":
            raise _err(f"invalid subscript {c!r} in {equation!r}: subscripts must be letters a-z, A-Z")
    ell_dims = []
    for k, (t, shape) in enumerate(zip(terms, shapes)):
        if t.count("...") > 1 or t.replace("...", "").count("."):
            raise _err(f"found an invalid '.' in term {t!r} of operand {k}")
        named = len(t.replace("...", ""))
        if ("..." in t and named > len(shape)) or ("..." not in t and named != len(shape)):
            raise _err(f"the number of subscripts in the equation ({named}) does not match the "
                       f"number of dimensions ({len(shape)}) for operand {k}"
                       + ("" if "..." in t else " and no ellipsis was given"))
        ell_dims.append(len(shape) - named if "..." in t else 0)
    n_ell = max(ell_dims, default=0)
    fresh = [c for c in LETTERS if c not in used]
    if n_ell > len(fresh):
        raise _err("too many dimensions: einsum supports 52 distinct subscripts")
    ell = "".join(fresh[:n_ell])
    terms = [t.replace("...", ell[n_ell - n:]) for t, n in zip(terms, ell_dims)]
    has_ell = any("..." in t for t in lhs.split(","))
    if rhs is None:
        counts = {}
        for t in terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = (ell if has_ell else "") + "".join(sorted(c for c, n in counts.items()
                                                        if n == 1 and c not in ell))
    else:
        if rhs.count("...") > 1 or rhs.replace("...", "").count("."):
            raise _err(f"found an invalid '.' in the output {rhs!r}")
        out = rhs.replace("...", ell)
        for c in out:
            if out.count(c) > 1:
                raise _err(f"output subscript {c} appears more than once in the output")
            if not any(c in t for t in terms):
                raise _err(f"output subscript {c} does not appear in the equation for any input operand")
    sizes = {}
    for k, (t, shape) in enumerate(zip(terms, shapes)):
        own = {}
        for c, n in zip(t, shape):
            if c in own and own[c] != n:
                raise _err(f"subscript {c} is repeated for operand {k} but the sizes don't match, "
                           f"{own[c]} != {n}")
            own[c] = n
            old = sizes.get(c, 1)
            if old != n and 1 not in (old, n):
                raise _err(f"operands do not broadcast: subscript {c} has size {old} and size {n} "
                           f"(operand {k}, shapes {[tuple(s) for s in shapes]})")
            sizes[c] = n if old == 1 else old
    return terms, out, sizes


class Einsum(Function):
    """out = einsum(terms -> out)(operands), operands broadcast over size-1 axes first."""
    name = "einsum"

    @staticmethod
    def forward(ctx, *arrays, terms, out, sizes):
        ctx.spec = (terms, out, sizes)
        xp = xp_of(arrays[0])
        full = [xp.broadcast_to(a, tuple(sizes[c] for c in t)) for a, t in zip(arrays, terms)]
        res = xp.einsum(",".join(terms) + "->" + out, *full, optimize=len(full) > 1)
        return xp.asarray(res).astype(arrays[0].dtype, copy=False)

    @staticmethod
    def vjp(ctx, g):
        terms, out, sizes = ctx.spec
        grads = []
        for k, (x, need) in enumerate(zip(ctx.inputs, ctx.needs_input_grad)):
            grads.append(_operand_grad(k, g, ctx.inputs, terms, out, sizes) if need else None)
        return tuple(grads)


def _operand_grad(k, g, operands, terms, out, sizes):
    """d operand_k = einsum(out, other terms, patches -> term_k with repeats renamed)."""
    term = terms[k]
    others = [(t, x) for j, (t, x) in enumerate(zip(terms, operands)) if j != k]
    free = iter(c for c in LETTERS if c not in sizes)
    xp, dtype = g.xp, g.dtype
    patches, target, seen = [], [], set()
    reachable = set(out).union(*(set(t) for t, _ in others))
    for c in term:
        if c in seen:                             # a repeated letter: the diagonal
            f = next(free)
            patches.append((c + f, constant(xp.eye(sizes[c], dtype=dtype))))
            target.append(f)
        else:
            seen.add(c)
            target.append(c)
            if c not in reachable:                # only in this operand: same gradient along it
                patches.append((c, constant(xp.ones(sizes[c], dtype=dtype))))
    subs = [out] + [t for t, _ in others] + [p for p, _ in patches]
    ins = [g] + [x for _, x in others] + [x for _, x in patches]
    grad = einsum(",".join(subs) + "->" + "".join(target), *ins)
    full = tuple(sizes[c] for c in term)
    if grad.shape != full:
        grad = broadcast_to(grad, full)
    return unbroadcast(grad, operands[k].shape)


def einsum(*args):
    """torch.einsum(equation, *operands) (operands may also be one list), or the sublist form.
    All operands must share one dtype; the result has it too."""
    if not args:
        raise TypeError("einsum(): expected an equation and operands")
    if isinstance(args[0], str):
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    else:
        equation, operands = _from_sublists(args)
    if not operands:
        raise _err("must provide at least one operand")
    for k, x in enumerate(operands):
        if not isinstance(x, Tensor):
            raise TypeError(f"einsum(): operand {k} is a {type(x).__name__}, expected a Tensor")
    dtypes = {x.dtype for x in operands}
    if len(dtypes) > 1:
        raise _err(f"expected all operands to have the same dtype, got {sorted(map(str, dtypes))}")
    terms, out, sizes = parse(equation, [x.shape for x in operands])
    return Einsum.apply(*operands, terms=tuple(terms), out=out, sizes=sizes)
