"""cross_entropy's soft parts: class-probability targets and label smoothing (torch's formulas).

Logits x of shape (N, C, d...) (or (C,) unbatched), log-probabilities l = log_softmax(x, class axis).

Probability targets (a float target of x's shape; rows need not sum to 1):
    loss_n = -sum_c w_c y_nc l_nc,   y <- (1 - eps) y + eps / C with label smoothing eps,
    reduction "mean" divides the sum by N * d... (the number of rows), *not* by the weights.

Label smoothing with class-index targets t (Szegedy et al., "Rethinking the Inception
Architecture for Computer Vision", 2016):
    loss = (1 - eps) nll(l, t) + (eps / C) smooth,   smooth_n = -sum_c w_c l_nc,
with ignored rows (t_n = ignore_index) dropped from smooth, and "mean" dividing smooth by the
count of kept rows (sum of w_{t_n} over them with weights) -- the same denominator as nll's.
Both are compositions of differentiable ops (log_softmax, mul, sum), so gradients of any order
come from theirs.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._util import constant, lift
from .elementwise import where
from .movement import reshape
from .reduce import log_softmax, sum as _sum


def is_prob_target(target) -> bool:
    """torch's rule: a floating target means class probabilities, an integer one class indices."""
    kind = target.dtype.kind if isinstance(target, Tensor) else np.asarray(target).dtype.kind
    return kind == "f"


def _class_weight_shape(input):
    cdim = 0 if input.ndim == 1 else 1
    return tuple(input.shape[cdim] if i == cdim else 1 for i in range(input.ndim)), cdim


def cross_entropy_probs(input, target, weight=None, ignore_index=-100, reduction="mean",
                        label_smoothing=0.0):
    """Softmax cross-entropy of logits (N, C, d...) or (C,) against class probabilities of the
    same shape: -sum_c w_c y_c log softmax(x)_c per row."""
    if isinstance(target, Tensor) and target.dtype != input.dtype:
        raise TypeError(f"cross_entropy: probability target dtype {target.dtype} differs from input "
                        f"dtype {input.dtype}; cast one with .to(dtype)")
    target = lift(target, input)
    if input.ndim < 1 or target.shape != input.shape:
        raise ValueError(f"cross_entropy: a probability (float) target must have the input's shape; "
                         f"got input {input.shape} and target {target.shape}")
    if ignore_index != -100:
        raise ValueError("cross_entropy: ignore_index is not supported for floating point target")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    wshape, cdim = _class_weight_shape(input)
    n_classes = input.shape[cdim]
    logp = log_softmax(input, cdim)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    terms = logp * target
    if weight is not None:
        terms = terms * reshape(_weight(weight, input, n_classes), wshape)
    if reduction == "none":
        return -_sum(terms, cdim)
    total = -_sum(terms)
    if reduction == "sum":
        return total
    rows = input.numel() // n_classes if n_classes else 0
    return total / float(rows) if rows else total * float("nan")


def _weight(weight, input, n_classes):
    w = lift(weight, input)
    if w.shape != (n_classes,):
        raise ValueError(f"cross_entropy: weight must have shape ({n_classes},), got {w.shape}")
    return w


def smoothing_term(logp, target, weight, ignore_index, reduction):
    """The label-smoothing part for class-index targets (see the module docstring); ``logp`` is
    (M, C) rows, ``target`` the (M,) indices, returned reduced as ``reduction`` asks (none: (M,))."""
    n_classes = logp.shape[1]
    xp = logp.xp
    keep = target != ignore_index
    if weight is None:
        per_row = -_sum(logp, 1)
        denom = float(keep.sum())
    else:
        w = _weight(weight, logp, n_classes)
        per_row = -_sum(logp * reshape(w, (1, n_classes)), 1)
        denom = float(w.data[xp.where(keep, target, 0)][keep].sum())
    per_row = where(constant(keep), per_row, 0.0)      # masked, so an ignored row's -inf stays out
    if reduction == "none":
        return per_row
    total = _sum(per_row)
    if reduction == "sum":
        return total
    return total / denom if denom else total * float("nan")
