"""``nn.DataParallel`` (``torch.nn.parallel``): a transparent pass-through on one device.

tinygan runs on one device per process, so ``DataParallel(model)`` splits nothing: calling it
calls ``model``; its parameters and state_dict are the model's under the prefix ``module.``,
exactly as torch's (so ``model.module`` and checkpoint keys look the same as in PyTorch).
``device_ids`` / ``output_device`` / ``dim`` are accepted and ignored.
"""
from __future__ import annotations

from .module import Module


class DataParallel(Module):
    """``DataParallel(module, device_ids=None, output_device=None, dim=0)``: forwards to
    ``module`` unchanged (one device; no scatter / gather)."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: module must be a Module, got {type(module).__name__}")
        self.module = module
        self.device_ids, self.output_device, self.dim = device_ids, output_device, dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)

