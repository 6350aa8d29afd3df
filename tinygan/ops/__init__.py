"""Differentiable ops, one module per family. Forward works on backend arrays (hot kernels come
from the kernel registry); every VJP is written with these same ops, so it differentiates again."""
from .elementwise import (abs, add, clamp, clip, div, eq, exp, ge, gt, le, leaky_relu, log,  # noqa: F401
                          log_sigmoid, logical_not, lt, maximum, minimum, mul, ne, neg, pow, relu,
                          sigmoid, sign, softplus, sqrt, square, sub, tanh, where)
from .linear import apply_linear  # noqa: F401
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,  # noqa: F401
                   dropout, l1_loss, mse_loss, nll_loss)
from .matmul import matmul  # noqa: F401
from .movement import (astype, broadcast_to, cat, clone, concatenate, expand, flatten, flip,  # noqa: F401
                       getitem, pad, permute, reshape, squeeze, stack, swapaxes, to_device,
                       transpose, unsqueeze, view)
from .reduce import (amax, amin, argmax, argmin, log_softmax, logsumexp, max, mean, min,  # noqa: F401
                     softmax, std, sum, var)
# reductions and scans, einsum, indexing, tiling, diagonals
from .diagonal import diag, diagonal, eye, tril, triu  # noqa: F401,E402
from .einsum import einsum  # noqa: F401,E402
from .indexing import gather, scatter, scatter_add  # noqa: F401,E402
from .prod import all, any, prod  # noqa: F401,E402,A004
from .scan import cummax, cummin, cumprod, cumsum, logcumsumexp  # noqa: F401,E402
from .tiling import repeat, repeat_interleave, roll  # noqa: F401,E402
from .normalization import group_norm, instance_norm, layer_norm  # noqa: F401
from .pool import (adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d, avg_pool2d,  # noqa: F401
                   max_pool1d, max_pool2d, max_unpool1d, max_unpool2d)
from .resample import interpolate  # noqa: F401
from .elementwise import floor_divide  # noqa: F401,E402
from .elementwise_math import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2,  # noqa: F401,E402
                               arctanh, asin, asinh, atan, atan2, atanh, bitwise_not, ceil, copysign,
                               cos, cosh, erf, logical_and, logical_or, logical_xor,
                               erfc, exp2, fix, floor, fmod, isfinite, isinf, isnan, lerp, log10, log2,
                               logaddexp, remainder, round, rsqrt, sin, sinh, tan, trunc)
from .distance import cdist  # noqa: F401,E402
from .activation import (celu, elu, gelu, hardsigmoid, hardswish, mish, normalize, selu, silu,  # noqa: F401,E402
                         softmin, softsign, vector_norm)
