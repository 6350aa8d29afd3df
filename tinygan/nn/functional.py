"""torch.nn.functional's names over tinygan's ops, so PyTorch users feel at home.

Convolutions are the bilinear ops of :mod:`tinygan.ops.conv` (three kernels, closed under
transposition); pooling, upsampling and padding are the linear operators of :mod:`tinygan.linops`
made differentiable by :func:`tinygan.ops.apply_linear` (their VJP is the adjoint A^T).
"""
from __future__ import annotations

from .. import linops, ops
from ..ops import (apply_linear, binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                   cross_entropy, l1_loss, log_sigmoid, mse_loss, nll_loss, softplus)
from ..ops.activation import legacy_softmax_dim as _legacy_dim
from ..ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d  # noqa: F401
from ..ops.embedding import embedding  # noqa: F401
from ..ops.norm import batch_norm  # noqa: F401
from ..ops.normalization import group_norm, instance_norm, layer_norm  # noqa: F401
from ..ops.padding import pad  # noqa: F401
from ..ops.pool import (adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d, avg_pool2d,  # noqa: F401
                        max_pool1d, max_pool2d, max_unpool1d, max_unpool2d)
from ..ops.resample import interpolate, upsample, upsample_bilinear, upsample_nearest  # noqa: F401


# ---- torch.nn.functional's signatures over the ops that tinygan names its own way ----------------
# (tinygan.relu(x) and friends take ``x``; torch's F takes ``input`` and an ignored ``inplace``)
def relu(input, inplace=False):
    """max(x, 0) (:func:`tinygan.ops.relu`); ``inplace`` is accepted and ignored: ops never
    write into their input."""
    return ops.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x (:func:`tinygan.ops.leaky_relu`); ``inplace`` ignored."""
    return ops.leaky_relu(input, negative_slope)


def sigmoid(input):
    """1 / (1 + e^-x) (:func:`tinygan.ops.sigmoid`)."""
    return ops.sigmoid(input)


def tanh(input):
    """tanh x (:func:`tinygan.ops.tanh`)."""
    return ops.tanh(input)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """e^x / sum e^x along ``dim``; ``dtype``: the input is cast to it first (as torch); ``dim``
    None: torch's legacy choice (0 for 0-, 1- and 3-d input, else 1) with its warning."""
    if dtype is not None:
        input = input.to(dtype)
    return ops.softmax(input, _legacy_dim(input.ndim, "softmax") if dim is None else dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - logsumexp(x) along ``dim``; ``dtype`` and ``dim=None`` as :func:`softmax`."""
    if dtype is not None:
        input = input.to(dtype)
    return ops.log_softmax(input, _legacy_dim(input.ndim, "log_softmax") if dim is None else dim)


def dropout(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Each entry zeroed with probability p, the rest scaled by 1/(1-p), when ``training``
    (:func:`tinygan.ops.dropout`; the mask from ``generator``); ``inplace`` ignored."""
    return ops.dropout(input, p, training, generator)


def upsample_nearest2d(input, scale_factor):
    """Nearest-neighbour upsampling by an integer factor (or pair); VJP sums each block."""
    if input.ndim != 4:
        raise ValueError(f"upsample_nearest2d: expected input (N, C, H, W), got {input.shape}")
    return apply_linear(linops.Upsample(input.shape, scale_factor, dtype=input.dtype), input)


# ---- activations and elementwise math: torch.nn.functional's names ------------------
from ..ops.activation import (celu, elu, gelu, hardsigmoid, hardswish, mish, normalize, selu,  # noqa: E402,F401
                              silu, softmin, softsign)
from ..ops.activation import softplus  # noqa: E402,F401,F811 -- torch's (beta, threshold) softplus

# ---- channel dropout ------------------------------------------------------------------
from .dropout import dropout1d, dropout2d  # noqa: E402,F401

# ---- piecewise and gated activations ----------------------------------------------------
from ..ops.activation_piecewise import (glu, hardshrink, hardtanh, logsigmoid, prelu,  # noqa: E402,F401
                                        relu6, softshrink, tanhshrink, threshold)

# ---- more losses, similarities and distances --------------------------------------------
from ..ops.loss_extra import (cosine_embedding_loss, gaussian_nll_loss, hinge_embedding_loss,  # noqa: E402,F401
                              huber_loss, kl_div, margin_ranking_loss, poisson_nll_loss,
                              smooth_l1_loss, soft_margin_loss, triplet_margin_loss)
from ..ops.similarity import cosine_similarity, pairwise_distance  # noqa: E402,F401

# ---- linear, one_hot, sub-pixel shuffles, unfold / fold (im2col and its adjoint) --------
from ..ops.fold import fold, unfold  # noqa: E402,F401
from ..ops.indexing import one_hot  # noqa: E402,F401
from ..ops.matmul import linear  # noqa: E402,F401
from ..ops.shuffle import pixel_shuffle, pixel_unshuffle  # noqa: E402,F401
