"""Linear operators: convolution is a matrix A, backprop needs A^T, transpose convolution *is* A^T.

Every operator has ``apply`` (A x), ``adjoint`` (A^T y), ``.T``, composition ``A @ B`` and
``to_dense()``. Shapes include the batch dimension; operators act on numpy (or cupy) arrays and,
when called on a tinygan Tensor, differentiably (the VJP of A is A^T).
"""
from .base import (Composed, Identity, LinearOperator, Scaled, Sum, Transposed, array_module,
                   is_array)
from .conv import Conv, ConvTranspose, ConvWeightMap
from .conv import ConvTransposeWeightMap
from .params import ConvGeometry
from .dense import Dense
from .im2col import Col2im, Im2col
from .pool import AvgPool
from .structural import Crop, Dilate, Pad, UnDilate, Upsample
from .gather import PlaneGather
from .padding import BoundaryPad
from .pool import PoolingError
from .resample import AdaptiveAvgPool, Interpolate
from .separable import AxisTaps, Separable

__all__ = [
    "LinearOperator", "Transposed", "Composed", "Sum", "Scaled", "Identity",
    "array_module", "is_array",
    "Conv", "ConvTranspose", "ConvWeightMap",
    "Dilate", "UnDilate", "Pad", "Crop", "Upsample", "AvgPool",
    "Im2col", "Col2im", "Dense",
]
__all__ += ["ConvTransposeWeightMap", "ConvGeometry"]
__all__ += ["Separable", "AxisTaps", "Interpolate", "AdaptiveAvgPool", "BoundaryPad",
            "PlaneGather", "PoolingError"]
from .pyramid import LaplacianPyramid, PyramidSynthesis

__all__ += ["LaplacianPyramid", "PyramidSynthesis"]
