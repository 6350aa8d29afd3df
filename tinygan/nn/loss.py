"""Loss modules with torch.nn's names and signatures, thin wrappers over the functional losses.

    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    loss = criterion(logits, labels)        # = F.cross_entropy(logits, labels, label_smoothing=0.1)

``weight`` and ``pos_weight`` are registered as buffers (in the state_dict, moved by ``.to``), as
in PyTorch. The deprecated ``size_average`` / ``reduce`` flags map to ``reduction`` as torch's
``_Reduction.legacy_get_string`` does.
"""
from __future__ import annotations

from .. import ops
from ..ops.loss import REDUCTIONS
from .module import Module


def _legacy_reduction(size_average, reduce) -> str:
    """torch's mapping of the deprecated flags: reduce=False -> 'none', else size_average ->
    'mean' / 'sum' (each flag defaults to True when only the other is given)."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = _legacy_reduction(size_average, reduce)
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, "
                             f"got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class L1Loss(_Loss):
    """mean / sum / none of |input - target| (same shapes)."""

    def forward(self, input, target):
        return ops.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """mean / sum / none of (input - target)^2 (same shapes)."""

    def forward(self, input, target):
        return ops.mse_loss(input, target, reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """-w [y log x + (1 - y) log(1 - x)] on probabilities x, logs clamped at -100 (as torch)."""

    def forward(self, input, target):
        return ops.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """-w [p y log sigmoid(l) + (1 - y) log(1 - sigmoid(l))] on logits l; ``pos_weight`` p
    broadcasts over the last (class) dimension."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return ops.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                    reduction=self.reduction,
                                                    pos_weight=self.pos_weight)


class NLLLoss(_WeightedLoss):
    """-w[c] input[n, c] for class indices c (input: log-probabilities (N, C) or (N, C, d...))."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = int(ignore_index)

    def forward(self, input, target):
        return ops.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                            reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """NLL of log_softmax(input) over dim 1; targets are class indices or probabilities;
    ``label_smoothing`` mixes the target with the uniform distribution."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(weight, size_average, reduce, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], "
                             f"got {label_smoothing}")
        self.ignore_index, self.label_smoothing = int(ignore_index), float(label_smoothing)

    def forward(self, input, target):
        return ops.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                                 reduction=self.reduction, label_smoothing=self.label_smoothing)
