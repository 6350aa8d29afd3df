"""More of torch.nn.functional's losses, with its names, signatures, formulas and ``reduction``
("mean" | "sum" | "none"; anything else is torch's ValueError; the deprecated ``size_average`` /
``reduce`` flags map to it as torch's ``_Reduction.legacy_get_string`` does).

Regression (input and target of one shape, d = input - target):
    smooth_l1_loss   0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta  (beta = 0: |d|)
    huber_loss       0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (= delta * smooth_l1)
    (Girshick, "Fast R-CNN"; Huber, "Robust Estimation of a Location Parameter")
Distributions:
    kl_div           t (log t - x) (0 where t = 0), x log-probabilities; log_target: e^t (t - x);
                     "batchmean" divides the sum by the batch size input.shape[0]
    poisson_nll_loss e^x - t x (log_input) or x - t log(x + eps); ``full`` adds Stirling's
                     t log t - t + 0.5 log(2 pi t) where t > 1
    gaussian_nll_loss 0.5 (log v + (x - t)^2 / v) (+ 0.5 log 2 pi with ``full``), v = max(var, eps)
                     in value with the gradient of var (torch clamps under no_grad)
Margins (y = target in {1, -1}):
    margin_ranking_loss   max(0, -y (x1 - x2) + margin)
    soft_margin_loss      log(1 + e^(-y x)), as softplus(-y x): finite for any y x
    hinge_embedding_loss  x where y = 1, max(0, margin - x) where y = -1 (both terms where y is
                          neither, as torch)
    cosine_embedding_loss 1 - cos(x1, x2) where y = 1, max(0, cos - margin) where y = -1, with
                          cos = <x1, x2> / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)) over dim 1
                          (dim 0 for 1-d inputs and a 0-d target)
    triplet_margin_loss   max(0, margin + d(a, p) - d(a, n)), d = pairwise_distance; ``swap``:
                          d(a, n) <- min(d(a, n), d(p, n)) (Balntas et al., "Learning local
                          feature descriptors with triplets and shallow convolutional neural
                          networks")
All are compositions of differentiable ops (where, clip, exp, log, softplus, norms), exact and
stable in the form written above, so gradients of any order come from theirs. The kinks follow
torch: clamp_min passes the gradient at 0 (inclusive), smooth_l1 / huber use the linear branch
at |d| = beta.
"""
from __future__ import annotations

import math
import warnings

from ..tensor import Tensor
from ._util import lift, require_float
from .elementwise import abs as _abs, clip, exp, log, minimum, softplus, where
from .loss import REDUCTIONS, _reduce, _same_shape
from .movement import unsqueeze
from .reduce import sum as _sum
from .similarity import clamp_min_value_only, pairwise_distance

_COSINE_EPS = 1e-12        # torch's EPSILON in cosine_embedding_loss


def _reduction(size_average, reduce, reduction, op):
    """torch's legacy flags -> reduction string, then the check (torch's ValueError)."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: {reduction} is not a valid value for reduction (one of {REDUCTIONS})")
    return reduction


def _target(target, input, op):
    target = lift(target, input)
    _same_shape(op, input, target)
    return target


def _data(t):
    return t.data if isinstance(t, Tensor) else t


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target, same shapes);
    d/dd = d / beta inside, sign(d) outside. beta = 0 is the L1 loss; beta < 0 is an error."""
    reduction = _reduction(size_average, reduce, reduction, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: does not support negative values for beta, got {beta}")
    target = _target(target, require_float(input, "smooth_l1_loss"), "smooth_l1_loss")
    d = input - target
    ad = _abs(d)
    if beta == 0:
        return _reduce(ad, reduction, "smooth_l1_loss")
    loss = where(ad.data < beta, 0.5 * d * d / beta, ad - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (same shapes); delta > 0.
    ``weight`` (input's shape) scales each entry before the reduction."""
    reduction = _reduction(None, None, reduction, "huber_loss")
    if not delta > 0:
        raise RuntimeError(f"huber_loss: does not support non-positive values for delta, got {delta}")
    target = _target(target, require_float(input, "huber_loss"), "huber_loss")
    d = input - target
    ad = _abs(d)
    loss = where(ad.data < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))
    if weight is not None:
        weight = lift(weight, input)
        if weight.shape != input.shape:
            raise ValueError(f"huber_loss: weight shape {weight.shape} and input shape "
                             f"{input.shape} differ")
        loss = loss * weight
    return _reduce(loss, reduction, "huber_loss")


def _xlogx(t):
    """t log t with 0 at t = 0 (torch's xlogy(t, t)); NaN for t < 0."""
    zero = t.data == 0
    return where(zero, 0.0, t * log(where(zero, 1.0, t)))


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence KL(target || exp(input)) pointwise: t (log t - x), 0 where t = 0
    (x: log-probabilities, t: probabilities; ``log_target``: t given as log-probabilities,
    e^t (t - x)). Shapes broadcast. "batchmean" (the KL divergence per sample) divides the sum by
    input.shape[0]; "mean" divides by the number of entries, with torch's warning."""
    if reduction == "batchmean" and size_average is None and reduce is None:
        red = "batchmean"
    else:
        red = _reduction(size_average, reduce, reduction, "kl_div")
    if red == "mean":
        warnings.warn("kl_div: reduction 'mean' divides the total loss by both the batch size and "
                      "the support size; 'batchmean' divides only by the batch size, and aligns "
                      "with the KL div math definition", UserWarning, stacklevel=2)
    require_float(input, "kl_div")
    target = lift(target, input)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        loss = _xlogx(target) - target * input
    if red != "batchmean":
        return _reduce(loss, red, "kl_div")
    total = _sum(loss)
    return total / input.shape[0] if input.ndim else total


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -y (x1 - x2) + margin): y = 1 asks x1 > x2 by the margin, y = -1 the reverse. The
    three tensors have one number of dimensions and broadcast."""
    reduction = _reduction(size_average, reduce, reduction, "margin_ranking_loss")
    shapes = [getattr(t, "shape", ()) for t in (input1, input2, target)]
    if len({len(s) for s in shapes}) != 1:
        raise RuntimeError(f"margin_ranking_loss: All input tensors should have same dimension but "
                           f"got sizes: input1: {shapes[0]}, input2: {shapes[1]}, target: {shapes[2]}")
    loss = clip(-lift(target, input1) * (input1 - input2) + float(margin), min=0.0)
    return _reduce(loss, reduction, "margin_ranking_loss")


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + e^(-y x)) (same shapes), computed as softplus(-y x); d/dx = -y sigmoid(-y x)."""
    reduction = _reduction(size_average, reduce, reduction, "soft_margin_loss")
    target = _target(target, require_float(input, "soft_margin_loss"), "soft_margin_loss")
    return _reduce(softplus(-target * input), reduction, "soft_margin_loss")


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """x where y = 1, max(0, margin - x) where y = -1 (shapes broadcast); torch's form
    where(y != 1, max(0, margin - x), 0) + where(y != -1, x, 0). No gradient flows to y."""
    reduction = _reduction(size_average, reduce, reduction, "hinge_embedding_loss")
    y = _data(lift(target, input))
    loss = (where(y != 1, clip(float(margin) - input, min=0.0), 0.0)
            + where(y != -1, input, 0.0))
    return _reduce(loss, reduction, "hinge_embedding_loss")


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1, 0 elsewhere.
    Shapes: x1, x2 (N, D) with y (N,), or x1, x2 (D,) with a 0-d y."""
    reduction = _reduction(size_average, reduce, reduction, "cosine_embedding_loss")
    y = _data(lift(target, input1))
    if y.ndim not in (0, 1):
        raise RuntimeError(f"cosine_embedding_loss: 0D or 1D target tensor expected, multi-target "
                           f"not supported (target shape {y.shape})")
    want = 2 if y.ndim == 1 else 1
    if input1.ndim != want or input2.ndim != want:
        raise RuntimeError(f"cosine_embedding_loss: {y.ndim}D target tensor expects {want}D input "
                           f"tensors, but found inputs with sizes {input1.shape} and {input2.shape}")
    dim = y.ndim
    prod = _sum(input1 * input2, dim)
    mag1 = _sum(input1 * input1, dim) + _COSINE_EPS
    mag2 = _sum(input2 * input2, dim) + _COSINE_EPS
    cos = prod / (mag1 * mag2) ** 0.5
    loss = where(y == 1, 1 - cos, 0.0) + where(y == -1, clip(cos - float(margin), min=0.0), 0.0)
    return _reduce(loss, reduction, "cosine_embedding_loss")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(0, margin + ||a - p + eps||_p - ||a - n + eps||_p) over the last axis (inputs (N, D) or
    (D,), one number of dimensions); ``swap`` uses min(d(a, n), d(p, n)) as the negative
    distance. margin > 0."""
    reduction = _reduction(size_average, reduce, reduction, "triplet_margin_loss")
    if not margin > 0:
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    dims = (anchor.ndim, positive.ndim, negative.ndim)
    if len(set(dims)) != 1:
        raise RuntimeError(f"triplet_margin_loss: The anchor, positive, and negative tensors are "
                           f"expected to have the same number of dimensions, but got: anchor "
                           f"{dims[0]}D, positive {dims[1]}D, and negative {dims[2]}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    loss = clip(float(margin) + d_pos - d_neg, min=0.0)
    return _reduce(loss, reduction, "triplet_margin_loss")


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Negative log-likelihood of counts t under Poisson(lambda): e^x - t x with x = log lambda
    (``log_input``), else x - t log(x + eps) with x = lambda. ``full`` adds the Stirling term
    t log t - t + 0.5 log(2 pi t) where t > 1 (0 elsewhere). Shapes broadcast."""
    reduction = _reduction(size_average, reduce, reduction, "poisson_nll_loss")
    target = lift(target, input)
    if log_input:
        loss = exp(input) - target * input
    else:
        loss = input - target * log(input + eps)
    if full:
        big = target.data > 1
        t = where(big, target, 2.0)                  # a stand-in where the term is masked
        stirling = t * log(t) - t + 0.5 * log(2 * math.pi * t)
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction, "poisson_nll_loss")


def _gaussian_var(var, input):
    """torch's shape rules for var: input's shape; one dimension short (unsqueezed at the end);
    or input's number of dimensions with exactly one mismatched size, which must be 1."""
    if not isinstance(var, Tensor):
        if var < 0:
            raise ValueError(f"gaussian_nll_loss: var has negative entry/entries (var = {var})")
        return lift(input.xp.full(input.shape, float(var), dtype=input.dtype), input)
    if bool((var.data < 0).any()):
        raise ValueError(f"gaussian_nll_loss: var has negative entry/entries (var shape {var.shape})")
    if var.shape == input.shape:
        return var
    if input.shape[:-1] == var.shape:
        return unsqueeze(var, -1)
    if var.ndim == input.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
        return var
    raise ValueError(f"gaussian_nll_loss: var is of incorrect size: var shape {var.shape}, input "
                     f"shape {input.shape}")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Negative log-likelihood of target under N(input, var): 0.5 (log v + (x - t)^2 / v), plus
    0.5 log(2 pi) with ``full``; v = max(var, eps) in value, with var's gradient (torch clamps
    under no_grad). var: input's shape, one dimension short, or with one dimension of size 1
    (shared variance), or a number; entries >= 0."""
    var = _gaussian_var(var, input)
    reduction = _reduction(None, None, reduction, "gaussian_nll_loss")
    v = clamp_min_value_only(var, eps)
    d = input - lift(target, input)
    loss = 0.5 * (log(v) + d * d / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


__all__ = ["smooth_l1_loss", "huber_loss", "kl_div", "margin_ranking_loss", "soft_margin_loss",
           "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss",
           "poisson_nll_loss", "gaussian_nll_loss"]
