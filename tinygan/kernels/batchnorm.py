"""Triton batch norm, forward and backward, with each channel's reduction split across programs.

Index math
----------
x, y, dy, dx are C-contiguous (N, C, *spatial), viewed as (N, C, L) with L = prod(spatial);
channel c has M = N*L values, value q = n*L + l of it (q < M) at flat offset
``n*C*L + c*L + l``. Spec: tinygan/backends/numpy_norm.py.

Split: one program per channel would leave a large GPU idle (64-256 channels, 132 SMs), so
each channel's q range is cut into SPLITS chunks of ``chunk`` values (a multiple of BLOCK) and
the grid is (C, SPLITS).

Forward, training (2 launches):

1. ``bn_partial_stats_kernel`` (c, s): chunk count n_s, mean mu_s and M2_s = sum (x - mu_s)^2,
   two passes over the chunk (the second hits cache); written to ``partial[c, s, 0:3]``.
2. ``bn_forward_kernel`` (c, s): every program combines its channel's partials (Chan et al.)::

       mean = sum_s n_s mu_s / M          M2 = sum_s (M2_s + n_s (mu_s - mean)^2)
       var = M2 / M                       invstd = 1 / sqrt(var + eps)

   then writes ``y = (x - mean) * invstd * weight + bias`` for its chunk; program s = 0 also
   writes save_mean / save_invstd and updates the running statistics in place:
   ``rm = (1 - momentum) rm + momentum mean``, ``rv = (1 - momentum) rv + momentum var M/(M-1)``.
   Eval (1 launch): mean = running_mean, invstd = 1 / sqrt(running_var + eps), no partials.

Scalars arrive in a small tensor ``params = [1 - momentum, momentum, momentum*M/(M-1), eps]``
of x's dtype (a Python float argument would be rounded to float32).

Backward (2 launches), xhat = (x - mean) * invstd:

1. ``bn_bwd_partial_kernel`` (c, s): ``partial[c, s] = (sum dy, sum dy*xhat)`` over the chunk.
2. ``bn_bwd_dx_kernel`` (c, s): dbias = sum_s partial[c, s, 0], dweight = sum_s partial[c, s, 1]
   (program s = 0 stores them), then for its chunk
   training: ``dx = invstd*weight*(dy - dbias/M - xhat*dweight/M)``; eval: ``dx = invstd*weight*dy``.

Accumulation is in x's dtype (float32 or float64): per-thread sums over a chunk, then a tree
(``tl.sum``), then the partials: rounding error grows like log(M), not M.
"""
import triton
import triton.language as tl


@triton.jit
def bn_partial_stats_kernel(x_ptr, partial_ptr, C, L, M, chunk, SPLITS, BLOCK: tl.constexpr):
    c = tl.program_id(0)
    s = tl.program_id(1)
    q_begin = s * chunk
    q_end = tl.minimum(M, q_begin + chunk)
    dtype = partial_ptr.dtype.element_ty
    total = tl.zeros((BLOCK,), dtype=dtype)
    for q0 in range(q_begin, q_end, BLOCK):
        q = q0 + tl.arange(0, BLOCK)
        ok = q < q_end
        total += tl.load(x_ptr + (q // L) * C * L + c * L + q % L, mask=ok, other=0.0).to(dtype)
    count = (q_end - q_begin).to(dtype)
    mean = tl.sum(total, axis=0) / count
    sq = tl.zeros((BLOCK,), dtype=dtype)
    for q0 in range(q_begin, q_end, BLOCK):
        q = q0 + tl.arange(0, BLOCK)
        ok = q < q_end
        v = tl.load(x_ptr + (q // L) * C * L + c * L + q % L, mask=ok, other=0.0).to(dtype)
        d = tl.where(ok, v - mean, 0.0)
        sq += d * d
    base = (c * SPLITS + s) * 3
    tl.store(partial_ptr + base, count)
    tl.store(partial_ptr + base + 1, mean)
    tl.store(partial_ptr + base + 2, tl.sum(sq, axis=0))


@triton.jit
def bn_forward_kernel(x_ptr, y_ptr, partial_ptr, params_ptr, mean_ptr, invstd_ptr,
                      w_ptr, b_ptr, rm_ptr, rv_ptr, C, L, M, chunk, SPLITS,
                      TRAINING: tl.constexpr, HAS_W: tl.constexpr, HAS_B: tl.constexpr,
                      HAS_RM: tl.constexpr, HAS_RV: tl.constexpr,
                      BLOCK: tl.constexpr, BLOCK_S: tl.constexpr):
    c = tl.program_id(0)
    s = tl.program_id(1)
    dtype = y_ptr.dtype.element_ty
    eps = tl.load(params_ptr + 3)
    if TRAINING:
        k = tl.arange(0, BLOCK_S)
        k_ok = k < SPLITS
        base = (c * SPLITS + k) * 3
        n_k = tl.load(partial_ptr + base, mask=k_ok, other=0.0)
        mu_k = tl.load(partial_ptr + base + 1, mask=k_ok, other=0.0)
        m2_k = tl.load(partial_ptr + base + 2, mask=k_ok, other=0.0)
        mean = tl.sum(n_k * mu_k, axis=0) / M
        d = mu_k - mean
        var = tl.sum(m2_k + n_k * d * d, axis=0) / M
        invstd = 1.0 / tl.sqrt(var + eps)
        if s == 0:
            if HAS_RM:
                rm = tl.load(rm_ptr + c)
                tl.store(rm_ptr + c, tl.load(params_ptr) * rm + tl.load(params_ptr + 1) * mean)
            if HAS_RV:
                rv = tl.load(rv_ptr + c)
                tl.store(rv_ptr + c, tl.load(params_ptr) * rv + tl.load(params_ptr + 2) * var)
    else:
        mean = tl.load(rm_ptr + c).to(dtype)
        invstd = 1.0 / tl.sqrt(tl.load(rv_ptr + c).to(dtype) + eps)
    if s == 0:
        tl.store(mean_ptr + c, mean)
        tl.store(invstd_ptr + c, invstd)
    scale = invstd
    if HAS_W:
        scale = scale * tl.load(w_ptr + c)
    shift = 0.0
    if HAS_B:
        shift = tl.load(b_ptr + c)
    q_begin = s * chunk
    q_end = tl.minimum(M, q_begin + chunk)
    for q0 in range(q_begin, q_end, BLOCK):
        q = q0 + tl.arange(0, BLOCK)
        ok = q < q_end
        off = (q // L) * C * L + c * L + q % L
        v = tl.load(x_ptr + off, mask=ok, other=0.0)
        tl.store(y_ptr + off, ((v - mean) * scale + shift).to(dtype), mask=ok)


@triton.jit
def bn_bwd_partial_kernel(dy_ptr, x_ptr, mean_ptr, invstd_ptr, partial_ptr, C, L, M, chunk, SPLITS,
                          BLOCK: tl.constexpr):
    c = tl.program_id(0)
    s = tl.program_id(1)
    dtype = partial_ptr.dtype.element_ty
    mean = tl.load(mean_ptr + c).to(dtype)
    invstd = tl.load(invstd_ptr + c).to(dtype)
    sum_dy = tl.zeros((BLOCK,), dtype=dtype)
    sum_dy_xhat = tl.zeros((BLOCK,), dtype=dtype)
    q_begin = s * chunk
    q_end = tl.minimum(M, q_begin + chunk)
    for q0 in range(q_begin, q_end, BLOCK):
        q = q0 + tl.arange(0, BLOCK)
        ok = q < q_end
        off = (q // L) * C * L + c * L + q % L
        g = tl.load(dy_ptr + off, mask=ok, other=0.0).to(dtype)
        v = tl.load(x_ptr + off, mask=ok, other=0.0).to(dtype)
        sum_dy += g
        sum_dy_xhat += g * ((v - mean) * invstd)
    base = (c * SPLITS + s) * 2
    tl.store(partial_ptr + base, tl.sum(sum_dy, axis=0))
    tl.store(partial_ptr + base + 1, tl.sum(sum_dy_xhat, axis=0))


@triton.jit
def bn_bwd_dx_kernel(dy_ptr, x_ptr, mean_ptr, invstd_ptr, w_ptr, partial_ptr,
                     dx_ptr, dweight_ptr, dbias_ptr, C, L, M, chunk, SPLITS,
                     TRAINING: tl.constexpr, HAS_W: tl.constexpr,
                     BLOCK: tl.constexpr, BLOCK_S: tl.constexpr):
    c = tl.program_id(0)
    s = tl.program_id(1)
    dtype = dx_ptr.dtype.element_ty
    k = tl.arange(0, BLOCK_S)
    k_ok = k < SPLITS
    dbias = tl.sum(tl.load(partial_ptr + (c * SPLITS + k) * 2, mask=k_ok, other=0.0), axis=0)
    dweight = tl.sum(tl.load(partial_ptr + (c * SPLITS + k) * 2 + 1, mask=k_ok, other=0.0), axis=0)
    if s == 0:
        tl.store(dbias_ptr + c, dbias)
        tl.store(dweight_ptr + c, dweight)
    mean = tl.load(mean_ptr + c).to(dtype)
    invstd = tl.load(invstd_ptr + c).to(dtype)
    scale = invstd
    if HAS_W:
        scale = scale * tl.load(w_ptr + c)
    mean_dy = dbias / M
    mean_dy_xhat = dweight / M
    q_begin = s * chunk
    q_end = tl.minimum(M, q_begin + chunk)
    for q0 in range(q_begin, q_end, BLOCK):
        q = q0 + tl.arange(0, BLOCK)
        ok = q < q_end
        off = (q // L) * C * L + c * L + q % L
        g = tl.load(dy_ptr + off, mask=ok, other=0.0)
        if TRAINING:
            xhat = (tl.load(x_ptr + off, mask=ok, other=0.0) - mean) * invstd
            g = g - mean_dy - xhat * mean_dy_xhat
        tl.store(dx_ptr + off, (g * scale).to(dtype), mask=ok)
