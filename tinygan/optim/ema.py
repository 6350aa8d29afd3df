r"""An exponential moving average of a network's weights (of a GAN's generator, mostly).

After every update of the network, the shadow copy moves a step ``1 - d`` towards it:

    theta_ema  <-  d * theta_ema + (1 - d) * theta          (d = ``decay``, e.g. 0.999)

so the shadow is a weighted mean of the last ~1 / (1 - d) iterates (weights d^k on the iterate k
updates ago). Buffers -- BatchNorm's running statistics -- are not averaged but copied from the
network. GAN training cycles around its equilibrium instead of settling in it (the rotation of
simultaneous and alternating gradient play on min_x max_y xy); the average of the iterates sits
closer to the centre of the cycle than any one of them. Yazıcı et al., "The Unusual
Effectiveness of Averaging in GAN Training" (ICLR 2019), measured this for image GANs, and
Karras et al. (Progressive GAN, ICLR 2018) draw every published figure with such an average.

PyTorch's equivalent is ``torch.optim.swa_utils.AveragedModel(G,
multi_avg_fn=get_ema_multi_avg_fn(d))`` (buffers copied as here, ``use_buffers=False``); here the
shadow starts as a copy of the network at construction and the first update already averages.
The trainers on :mod:`tinygan.trainers.loop` keep one per generator under ``--ema DECAY``, store it
in the checkpoint next to the network (``G`` and ``G_ema``) and draw their grids, ``tinygan.sample``
and ``tinygan.eval`` with it.
"""
from __future__ import annotations

import copy

from ..autograd import no_grad

SUFFIX = "_ema"        # checkpoints hold the average of module "G" as module "G_ema"


class EMA:
    """``EMA(G, decay)``: ``.module`` is the shadow copy of ``G`` (same class, its own arrays,
    no gradients); ``.update()`` after each step of G applies the rule of the module docstring."""

    def __init__(self, module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA: decay must lie in [0, 1), got {decay}")
        self.source, self.decay = module, float(decay)
        with no_grad():
            self.module = copy.deepcopy(module)
        for p in self.module.parameters():
            p.requires_grad_(False)
            p.grad = None
        self._pairs = list(zip(self.module.parameters(), module.parameters()))
        self._buffers = list(zip(self.module.buffers(), module.buffers()))

    def update(self) -> None:
        """theta_ema <- d theta_ema + (1 - d) theta for every parameter, in place; buffers copied."""
        d = self.decay
        for shadow, p in self._pairs:
            a = shadow.data
            a *= a.dtype.type(d)
            a += a.dtype.type(1.0 - d) * p.data
        for shadow, b in self._buffers:
            shadow.data[...] = b.data

    def __repr__(self) -> str:
        return f"EMA(decay={self.decay}, of {type(self.source).__name__})"
