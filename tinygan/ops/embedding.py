"""Embedding lookup: rows of a weight matrix picked by integer indices (conditional GANs' labels)."""
from __future__ import annotations

import numpy as np

from ..devices import move
from ..tensor import Tensor
from .elementwise import where
from .movement import getitem


def embedding(input, weight, padding_idx=None):
    """torch.nn.functional.embedding: integer indices of any shape S, weight (num, dim) -> S + (dim,).

    ``out = weight[input]`` through ``getitem``, whose VJP scatter-adds the cotangent into the
    rows (repeated indices add up) and is differentiable again. Rows at ``padding_idx`` get no
    gradient (their value is still returned)."""
    idx = input.data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be (num_embeddings, embedding_dim), got {weight.shape}")
    n = weight.shape[0]
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"embedding: index out of range [{int(idx.min())}, {int(idx.max())}] for "
                         f"{n} embeddings")
    idx = move(idx, weight.device)
    out = getitem(weight, idx)
    if padding_idx is not None:
        padding_idx = padding_idx % n
        pad = Tensor._make((idx % n == padding_idx)[..., None], None)
        out = where(pad, out.detach(), out)
    return out
