"""tinygan: a small reverse-mode autograd tensor engine, convolutions as linear operators, and GANs.

    import tinygan
    x = tinygan.randn(4, 3, requires_grad=True)
    loss = (x.tanh() ** 2).mean()
    loss.backward()          # x.grad now holds d loss / d x

numba, triton, cupy and torch are never imported here: backends load lazily on first use.
"""
from ._version import __version__  # noqa: F401

from . import ops  # noqa: E402
from .autograd import Function, enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402
from .backends import set_backend  # noqa: E402
from . import nn, optim  # noqa: E402,F401
from .creation import (arange, full, full_like, ones, ones_like, rand, rand_like, randint, randn,  # noqa: E402
                       randn_like, zeros, zeros_like)
from .ops import (abs, cat, clip, concatenate, exp, flip, log, matmul, maximum, mean, minimum,  # noqa: E402
                  pad, reshape, sigmoid, softmax, log_softmax, sqrt, stack, sum, tanh, where)
from .ops import (all, any, cummax, cummin, cumprod, cumsum, diag, diagonal, einsum, eye,  # noqa: E402
                  gather, logcumsumexp, prod, repeat_interleave, roll, scatter, scatter_add, tril,
                  triu)
from .ops import (adaptive_avg_pool1d, avg_pool1d, cdist, group_norm, instance_norm,  # noqa: E402
                  layer_norm, max_pool1d, max_pool2d)
from .ops import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, asin,  # noqa: E402
                  asinh, atan, atan2, atanh, bitwise_not, ceil, copysign, cos, cosh, div, erf, erfc, exp2,
                  fix, floor, floor_divide, fmod, isfinite, isinf, isnan, lerp, log10, log2, logaddexp,
                  logical_and, logical_not, logical_or, logical_xor, remainder, round, rsqrt, sign, sin,
                  sinh, tan, trunc)
from .random import Generator, default_generator, manual_seed  # noqa: E402
from .creation import tensor  # noqa: E402
from .dtypes import bool_, float16, float32, float64, int32, int64  # noqa: E402
from .tensor import Tensor  # noqa: E402

# torch.save / torch.load for state_dicts (no pickle)
from .serialization import load, save  # noqa: E402,F401

# torch.utils.data's names (tinygan.utils.data)
from . import utils  # noqa: E402,F401

# PyTorch's everyday API: devices, accelerator queries, dtype names, comparisons, max/min with a dim
from . import accelerator, cuda  # noqa: E402,F401
from .autograd import inference_mode  # noqa: E402,F401
from .devices import device  # noqa: E402,F401  (torch.device; the device helpers live in tinygan.devices)
from .ops import amax, amin, argmax, argmin, eq, flatten, ge, gt, le, lt, max, min, ne  # noqa: E402,F401,A004
from .creation import from_numpy  # noqa: E402,F401
from .dtypes import int8, int16, uint8  # noqa: E402,F401
float, double, half = float32, float64, float16  # noqa: A001 -- torch's dtype names
long, int, bool = int64, int32, bool_  # noqa: A001
short = int16
