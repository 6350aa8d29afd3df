"""Neural-network building blocks with PyTorch's names: ``tinygan.nn.Linear``, ``nn.Module``...

``nn.functional`` holds the stateless ops (conv2d, batch_norm, losses), ``nn.init`` the
initialisers (PyTorch's defaults and the DCGAN init).
"""
from . import init  # noqa: F401
from .batchnorm import BatchNorm1d, BatchNorm2d  # noqa: F401
from .layers import (Conv2d, ConvTranspose2d, Dropout, Embedding, Flatten, Identity,  # noqa: F401
                     LeakyReLU, Linear, ReLU, Sigmoid, Tanh, Unflatten)
from .module import Module, ModuleList, Parameter, Sequential  # noqa: F401

try:  # functional.py is the lead's; tolerate its absence while it is being written
    from . import functional  # noqa: F401
except ImportError:  # pragma: no cover
    pass

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "Linear", "Conv2d", "ConvTranspose2d",
           "BatchNorm1d", "BatchNorm2d", "Dropout", "LeakyReLU", "ReLU", "Tanh", "Sigmoid",
           "Flatten", "Unflatten", "Embedding", "Identity", "init", "functional"]
# activation modules (issue 18)
from .activation import (CELU, ELU, GELU, SELU, Hardsigmoid, Hardswish, Mish, SiLU,  # noqa: F401,E402
                         Softmin, Softplus, Softsign)
__all__ += ["GELU", "SiLU", "ELU", "SELU", "CELU", "Mish", "Hardswish", "Hardsigmoid", "Softsign",
            "Softplus", "Softmin"]
