"""Losses (torch.nn.functional's names and ``reduction="mean" | "sum" | "none"``) and dropout.

Built from stable primitives, so their VJPs come from those ops: e.g. binary cross-entropy with
logits l and targets y is softplus(l) - y l, whose gradient is sigmoid(l) - y and which stays finite
for |l| = 1e4.
"""
from __future__ import annotations

import numpy as np

from .. import backends
from ..devices import device_of, move, xp_of
from ..random import get_generator
from ..tensor import Tensor
from ..autograd import Function
from ._util import Diagonal, constant, lift
from .elementwise import abs as _abs, clip, log, softplus
from .loss_soft import cross_entropy_probs, is_prob_target, smoothing_term
from .movement import getitem, permute, reshape
from .reduce import log_softmax, mean, sum as _sum

REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss, reduction, op):
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return _sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _same_shape(op, input, target):
    if input.shape != target.shape:
        raise ValueError(f"{op}: input shape {input.shape} and target shape {target.shape} differ")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """-[y log sigmoid(l) + (1 - y) log(1 - sigmoid(l))] = softplus(l) - y l, never NaN or Inf.

    ``pos_weight`` p scales the positive term: p y softplus(-l) + (1 - y) softplus(l)."""
    target = lift(target, input)
    _same_shape("binary_cross_entropy_with_logits", input, target)
    if pos_weight is None:
        loss = softplus(input) - target * input
    else:
        loss = lift(pos_weight, input) * target * softplus(-input) + (1 - target) * softplus(input)
    if weight is not None:
        loss = loss * lift(weight, input)
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """BCE on probabilities; logs clamped at -100 as torch does (prefer the logits version)."""
    target = lift(target, input)
    _same_shape("binary_cross_entropy", input, target)
    loss = -(target * clip(log(input), min=-100.0) + (1 - target) * clip(log(1 - input), min=-100.0))
    if weight is not None:
        loss = loss * lift(weight, input)
    return _reduce(loss, reduction, "binary_cross_entropy")


def _class_last(input):
    """(N, C, d1, ...) logits -> (N*d1*..., C) rows, one per target entry."""
    if input.ndim < 2:
        raise ValueError(f"cross_entropy: input must be (N, C) or (N, C, d1, ...), got {input.shape}")
    if input.ndim > 2:
        input = permute(input, (0,) + tuple(range(2, input.ndim)) + (1,))
    return reshape(input, (-1, input.shape[-1]))


class WeightedMean(Function):
    """nll_loss's "mean": sum_i w_i x_i / total, total = the weight of the kept targets (w is 0 on
    ignored ones). As torch: divided by the total itself (all ignored: 0 / 0 = NaN), and the
    gradient is w_i / total on kept entries and exactly 0 on ignored ones. Linear in x; the VJP
    is g times that fixed coefficient vector."""
    name = "weighted_mean"

    @staticmethod
    def forward(ctx, x, w, keep, total):
        xp = xp_of(x)
        total = xp.asarray(total, dtype=x.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            ctx.coef = xp.where(keep, w / total, 0).astype(x.dtype)
            return (x * w).sum() / total

    @staticmethod
    def vjp(ctx, g):
        return g * constant(ctx.coef), None, None, None


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of class indices ``target`` (N, d...) under log-probs (N, C, d...)."""
    target = target.data if isinstance(target, Tensor) else np.asarray(target)
    target = move(target, input.device)          # class indices live where the logits do
    if target.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold class indices (integers), got dtype {target.dtype}")
    n_classes = input.shape[1] if input.ndim >= 2 else None
    if input.ndim < 2 or target.shape != (input.shape[0],) + input.shape[2:]:
        raise ValueError(f"nll_loss: input shape {input.shape} and target shape {target.shape} do not "
                         "match: expected input (N, C, d...) and target (N, d...)")
    rows = _class_last(input)
    t = target.reshape(-1)
    keep = t != ignore_index
    if ((t[keep] < 0) | (t[keep] >= n_classes)).any():
        raise IndexError(f"nll_loss: target values must lie in [0, {n_classes}), got {t[keep].min()}..{t[keep].max()}")
    safe_t = input.xp.where(keep, t, 0)
    picked = -getitem(rows, (input.xp.arange(t.shape[0]), safe_t))
    w = input.xp.ones(t.shape, dtype=input.dtype) if weight is None else (
        lift(weight, input).data[safe_t])
    w = w * keep
    loss = picked * constant(w.astype(input.dtype))
    if reduction == "mean":
        return WeightedMean.apply(picked, w.astype(input.dtype), keep, w.sum())
    if reduction == "none":
        return reshape(loss, target.shape)
    return _reduce(loss, reduction, "nll_loss")


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy of logits (N, C, d...) against class indices (N, d...), or against
    class probabilities (a float target of the input's shape; see :mod:`tinygan.ops.loss_soft`).
    ``label_smoothing`` eps mixes in eps / C of the uniform distribution, as torch does."""
    if is_prob_target(target):
        return cross_entropy_probs(input, target, weight, ignore_index, reduction, label_smoothing)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    logp = log_softmax(input, 1)
    loss = nll_loss(logp, target, weight, ignore_index, reduction)
    if label_smoothing:
        t = move(target.data if isinstance(target, Tensor) else np.asarray(target), input.device)
        smooth = smoothing_term(_class_last(logp), t.reshape(-1), weight, ignore_index, reduction)
        if reduction == "none":
            smooth = reshape(smooth, t.shape)
        loss = (1 - label_smoothing) * loss + (label_smoothing / input.shape[1]) * smooth
    return loss


def mse_loss(input, target, reduction="mean"):
    target = lift(target, input)
    _same_shape("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    target = lift(target, input)
    _same_shape("l1_loss", input, target)
    return _reduce(_abs(input - target), reduction, "l1_loss")


class MaskedScale(Diagonal):
    """y = x * keep * scale for a fixed bool mask ``keep`` (dropout); kernel ``masked_scale``, one
    pass. Diagonal and linear in x, so its VJP is itself with the same mask."""
    name = "dropout"

    @staticmethod
    def kernel(x, keep, scale):
        return backends.get("masked_scale", device_of(x))(x, keep, scale)


def dropout(input, p=0.5, training=True, generator=None):
    """Zero each entry with probability p and scale the rest by 1/(1-p); identity when not training.

    The mask comes from ``generator`` (or the default one; :meth:`Generator.keep_mask`, made on
    the input's device), and the same seed gives the same mask on every backend and device."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = move(get_generator(generator).keep_mask(input.shape, p, input.device), input.device)
    return MaskedScale.apply(input, keep, 1.0 / (1.0 - p))
