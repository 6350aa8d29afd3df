"""torch.nn.init: the in-place initialisers of one tensor (nn/init_fills.py) and ``dcgan_init_``,
which walks a model and initialises its conv, batch-norm (and optionally linear) layers.

The fills live in their own module because the layers use them for their default initialisation,
while ``dcgan_init_`` needs the layer classes: fills < layers < init.
"""
from __future__ import annotations

from .batchnorm import _BatchNorm
from .init_fills import (_calculate_fan_in_and_fan_out, calculate_gain, constant_,  # noqa: F401
                         default_bias_, kaiming_normal_, kaiming_uniform_, normal_, ones_, uniform_,
                         xavier_normal_, xavier_uniform_, zeros_)
from .layers import Conv2d, ConvTranspose2d, Linear


def dcgan_init_(module, generator=None, include_linear: bool = False):
    """The DCGAN paper's initialisation (Radford et al. 2016; PyTorch's DCGAN example), applied to
    every submodule: conv and transposed-conv weights ~ N(0, 0.02), BatchNorm weight (gamma)
    ~ N(1, 0.02) and bias (beta) = 0. Conv biases are left as they are; Linear layers are
    re-initialised like convs (N(0, 0.02) weight, zero bias) only with ``include_linear``.
    Returns the module."""

    def init(m):
        if isinstance(m, (Conv2d, ConvTranspose2d)):
            normal_(m.weight, 0.0, 0.02, generator)
        elif isinstance(m, _BatchNorm) and m.affine:
            normal_(m.weight, 1.0, 0.02, generator)
            zeros_(m.bias)
        elif include_linear and isinstance(m, Linear):
            normal_(m.weight, 0.0, 0.02, generator)
            if m.bias is not None:
                zeros_(m.bias)
    return module.apply(init)
