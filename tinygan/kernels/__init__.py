"""tinygan.kernels: the Triton kernels behind the "triton" backend (tinygan/backends/triton.py).

One kernel family per module, each with its index math in the module docstring:

* :mod:`.conv_fwd`   ``conv2d_fwd_kernel``    implicit GEMM, y = conv2d(x, w)
* :mod:`.conv_dgrad` ``conv2d_dgrad_kernel``  implicit GEMM per stride phase, dx = Conv(w)^T dy
* :mod:`.conv_wgrad` ``conv2d_wgrad_kernel``  implicit GEMM, split over output pixels, dw
* :mod:`.batchnorm`  split per-channel reductions + elementwise passes, forward and backward

Importing the package itself needs nothing (``import tinygan.kernels`` works without Triton);
importing a kernel module needs Triton.

The kernels take torch tensors (CUDA tensors on a GPU, CPU tensors under ``TRITON_INTERPRET=1``)
and are launched only by tinygan/backends/triton.py, which owns tile sizes and grids. Precision:
float32 GEMM tiles use ``tl.dot(..., input_precision=INPUT_PRECISION)`` with "ieee" by default
(TF32 only when a benchmark asks for it); float64 and narrow tiles use an FMA path
(``tl.sum`` over a broadcast product) instead of ``tl.dot``.
"""

MODULES = ("conv_fwd", "conv_dgrad", "conv_wgrad", "batchnorm")
