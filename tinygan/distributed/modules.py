"""Layers whose training step must see the global batch: synchronised batch norm and dropout
that draws the global batch's mask. Both behave exactly as their plain twins outside a
data-parallel step (:func:`tinygan.distributed.context.step`) and in a world of one process.

``convert_sync_batchnorm(module)`` (torch's ``nn.SyncBatchNorm.convert_sync_batchnorm``) and
``convert_dropout(module)`` replace the layers in place in the module tree, keeping the same
Parameter and buffer objects (optimizers and state_dict keys are unchanged).
"""
from __future__ import annotations

import numpy as np

from ..devices import move
from ..nn import BatchNorm1d, BatchNorm2d, Dropout, Dropout2d, MinibatchDiscrimination
from ..nn.batchnorm import _BatchNorm
from ..nn.module import Module
from ..ops.loss import MaskedScale
from ..random import get_generator
from . import context
from .functional import gather_rows, sync_batch_norm


class SyncBatchNorm(_BatchNorm):
    """``SyncBatchNorm(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True)``: input (N, C, *) -> same shape. In training mode inside a
    data-parallel step over more than one rank, the batch statistics are the global batch's
    (:func:`~tinygan.distributed.functional.sync_batch_norm`); otherwise plain batch norm."""

    _accepted_ndims = (2, 3, 4, 5)
    _shape_doc = "(N, C, *)"

    def forward(self, x):
        shard = context.active()
        if not (self.training and shard is not None and shard.comm.size > 1):
            return super().forward(x)
        if x.ndim < 2 or x.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm: expected an input (N, {self.num_features}, *), "
                             f"got shape {x.shape}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.data[...] += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.data)
        return sync_batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                               factor, self.eps, shard.comm, shard.weight)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module) -> Module:
        """Replace every BatchNorm1d / BatchNorm2d in ``module`` (or ``module`` itself) by a
        SyncBatchNorm sharing its parameters and buffers; returns the (new) root."""
        if isinstance(module, (BatchNorm1d, BatchNorm2d)) and not isinstance(module, cls):
            new = cls.__new__(cls)
            Module.__init__(new)
            for key, value in module.__dict__.items():
                if key not in ("_parameters", "_buffers", "_modules", "_non_persistent"):
                    object.__setattr__(new, key, value)
            new._parameters.update(module._parameters)
            new._buffers.update(module._buffers)
            new._non_persistent.update(module._non_persistent)
            return new
        for name, child in list(module._modules.items()):
            if child is not None:
                module._modules[name] = cls.convert_sync_batchnorm(child)
        return module


def _global_mask(x, p, generator, channel: bool):
    """The keep mask one process would draw for the global batch, cut to this rank's rows."""
    shard = context.active()
    batch = (shard.batch,) + tuple(x.shape[1:])
    if channel:
        keep = get_generator(generator).keep_mask(batch[:2] + (1,) * (x.ndim - 2), p)
        keep = np.ascontiguousarray(np.broadcast_to(keep[shard.lo:shard.hi], x.shape))
    else:
        keep = get_generator(generator).keep_mask(batch, p, x.device)[shard.lo:shard.hi]
    return move(keep, x.device)


def _sharded(x) -> bool:
    shard = context.active()
    return shard is not None and shard.comm.size > 1 and x.ndim >= 1 and x.shape[0] == shard.size


class GlobalDropout(Dropout):
    """nn.Dropout that, inside a data-parallel step, draws the mask of the global batch from its
    generator (the same bits as one process) and applies this rank's rows of it."""

    def forward(self, x):
        active = self.training or self.always_on
        if not (active and 0.0 < self.p < 1.0 and _sharded(x)):
            return super().forward(x)
        return MaskedScale.apply(x, _global_mask(x, self.p, self.generator, False), 1.0 / (1.0 - self.p))


class GlobalDropout2d(Dropout2d):
    """nn.Dropout2d with the global batch's channel mask (see :class:`GlobalDropout`)."""

    def forward(self, x):
        if not (self.training and 0.0 < self.p < 1.0 and x.ndim in (3, 4) and _sharded(x)):
            return super().forward(x)
        return MaskedScale.apply(x, _global_mask(x, self.p, self.generator, True), 1.0 / (1.0 - self.p))


class GlobalMinibatchDiscrimination(MinibatchDiscrimination):
    """nn.MinibatchDiscrimination whose closeness statistics o(x_i) sum over the GLOBAL batch:
    inside a data-parallel step each rank's M_i is compared with every rank's M_j
    (:func:`gather_rows`), so N processes compute one process's features and gradients."""

    def batch_rows(self, M):
        return gather_rows(M)


_DROPOUTS = {Dropout: GlobalDropout, Dropout2d: GlobalDropout2d}
_GLOBAL_TWINS = {**_DROPOUTS, MinibatchDiscrimination: GlobalMinibatchDiscrimination}


def convert_dropout(module: Module) -> Module:
    """Replace every nn.Dropout / nn.Dropout2d in ``module`` by its global-mask twin (same p,
    generator and mode), and every nn.MinibatchDiscrimination by its global-batch twin (the
    same T): the layers whose result depends on the rest of the batch. Returns the (new) root."""
    kind = _GLOBAL_TWINS.get(type(module))
    if kind is not None:
        new = kind.__new__(kind)
        for key, value in module.__dict__.items():      # the same Parameters (optimizers hold them)
            object.__setattr__(new, key, value)
        return new
    for name, child in list(module._modules.items()):
        if child is not None:
            module._modules[name] = convert_dropout(child)
    return module
