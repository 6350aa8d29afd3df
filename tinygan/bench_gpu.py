"""GPU benchmark: tinygan's "cuda" and "triton" kernels against torch CUDA (cuDNN), same process.

    python -m tinygan.bench --device cuda [--backend cuda triton] [--batch 64 256] [--reps 20]
                                          [--tf32] [--no-flush] [--no-kernels] [--no-step]
                                          [--json out.json]
    python -m tinygan.bench_gpu ...        (the same)

The table of ``python -m tinygan.bench`` (every conv of the DCGAN of CMU 11-695's "GAN II" notes as forward / input grad /
weight grad, and BatchNorm forward / backward), timed on the GPU, with:

* torch CUDA as the reference: cuDNN and cuBLAS with ``fp32_precision = "ieee"`` (true fp32, like
  tinygan's default; torch < 2.9: ``allow_tf32 = False``);
* CUDA-event timing: median of ``--reps`` runs after ``--warmup`` runs; before each timed run a
  256 MB buffer is overwritten so the inputs come from HBM, not L2 (``--no-flush``: keep them);
* % of peak: achieved FLOP/s over the device's peak FP32 (non-tensor-core) FLOP/s, and bytes
  moved over its peak memory bandwidth. Bytes are the algorithmic minimum (each input read once,
  each output written once); FLOPs are 2 x MACs of the convolution (BatchNorm: FLOPs not counted).
  Peaks come from ``PEAKS``, keyed by device name; an unknown GPU leaves the % columns empty;
* ``--tf32``: extra rows, triton with ``input_precision="tf32"`` against cuDNN with TF32 allowed,
  labelled "tf32" (never mixed into the fp32 rows).

Accuracy: tinygan's result and torch's are each compared with torch's float64 result on the same
inputs (max |difference| / max |float64|: "max rel err", "torch rel err"). Arrays are CuPy
(tinygan's "cuda" device); torch sees them through DLPack, without copies. Both libraries launch
on the legacy default stream, which the CUDA events are recorded on.

Then the whole DCGAN train step on device "cuda" per backend against torch CUDA
(``run_gpu_train_step``; ``--no-step`` skips it, ``--no-kernels`` skips the kernel table).

``run_gpu_bench(backends, batches)`` returns the rows as dicts; ``main()`` prints the tables (and
writes JSON). torch and CuPy are imported by those two functions only, never at import.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

from . import Generator, set_backend, tensor
from .models import dcgan
from .optim import Adam
from .optim.minimax import AlternatingGDA
from .trainers.dcgan_step import train_step

from .bench_dcgan import BN_LAYERS, CONV_LAYERS, torch_train_step  # the same as on the CPU

# device-name substring -> (peak FP32 non-tensor TFLOP/s, peak memory TB/s); first match wins.
PEAKS = {
    "H200": (67.0, 4.8),
    "H100 NVL": (60.0, 3.9),
    "H100 PCIe": (51.2, 2.0),
    "H100": (67.0, 3.35),  # SXM5 ("NVIDIA H100 80GB HBM3")
}

FLOAT_BYTES = 4


def peaks_for(device_name: str):
    """(TFLOP/s, TB/s) for a device name such as "NVIDIA H100 80GB HBM3", or None."""
    for key, peak in PEAKS.items():
        if key in device_name:
            return peak
    return None


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def conv_cases(batch: int) -> list[dict]:
    """The conv rows for one batch size: shapes, the kernel to call, FLOPs and minimum bytes.

    A transposed layer is the adjoint of the conv from its output to its input: its forward is
    conv2d_dgrad, its input gradient conv2d_fwd, its weight gradient conv2d_wgrad (x, dy swapped).
    """
    cases = []
    for name, kind, cin, cout, h, k, s, p, op in CONV_LAYERS:
        if kind == "conv":
            x_shape, w_shape = (batch, cin, h, h), (cout, cin, k, k)
        else:
            ho = (h - 1) * s - 2 * p + k + op
            x_shape, w_shape = (batch, cout, ho, ho), (cin, cout, k, k)
        out = (x_shape[2] + 2 * p - k) // s + 1
        y_shape = (batch, w_shape[0], out, out)
        flops = 2.0 * _size(y_shape) * _size(w_shape[1:])
        io = {"conv2d_fwd": (x_shape, w_shape, y_shape), "conv2d_dgrad": (y_shape, w_shape, x_shape),
              "conv2d_wgrad": (x_shape, y_shape, w_shape)}
        order = (["conv2d_fwd", "conv2d_dgrad", "conv2d_wgrad"] if kind == "conv"
                 else ["conv2d_dgrad", "conv2d_fwd", "conv2d_wgrad"])
        for role, kernel in zip(("forward", "input grad", "weight grad"), order):
            cases.append({"batch": batch, "layer": name, "kernel": f"{role} ({kernel})", "op": kernel,
                          "x_shape": x_shape, "w_shape": w_shape, "y_shape": y_shape,
                          "stride": (s, s), "padding": (p, p), "flops": flops,
                          "bytes": FLOAT_BYTES * sum(_size(a) for a in io[kernel])})
    return cases


def bn_cases(batch: int) -> list[dict]:
    """BatchNorm rows (training mode): forward reads x and writes y, backward reads dy and x and
    writes dx (per-channel vectors are negligible)."""
    cases = []
    for name, shape in BN_LAYERS:
        x_shape = (batch,) + shape
        for label, op, passes in (("BatchNorm forward", "batchnorm_fwd", 2),
                                  ("BatchNorm backward", "batchnorm_bwd", 3)):
            cases.append({"batch": batch, "layer": name, "kernel": label, "op": op, "x_shape": x_shape,
                          "flops": 0.0, "bytes": FLOAT_BYTES * passes * _size(x_shape)})
    return cases


def derive(row: dict, peak) -> dict:
    """Add GFLOP/s, GB/s and the % of peak columns to a row holding "ms", "flops", "bytes"."""
    seconds = row["ms"] * 1e-3
    row["gflops"] = row["flops"] / seconds / 1e9 if row["flops"] else None
    row["gbytes_per_s"] = row["bytes"] / seconds / 1e9
    row["pct_peak_flops"] = (100 * row["gflops"] / (peak[0] * 1e3)
                             if peak and row["gflops"] is not None else None)
    row["pct_peak_bw"] = 100 * row["gbytes_per_s"] / (peak[1] * 1e3) if peak else None
    return row


def _fmt(value, spec=".2f"):
    return "" if value is None else format(value, spec)


def format_table(rows: list[dict]) -> str:
    lines = ["| batch | layer | kernel | backend | ms | torch ms | torch/tinygan | GFLOP/s | % peak FP32 "
             "| GB/s | % peak BW | max rel err | torch rel err |",
             "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ratio = r["torch_ms"] / r["ms"] if r.get("torch_ms") else None
        lines.append(f"| {r['batch']} | {r['layer']} | {r['kernel']} | {r['backend']} | {r['ms']:.3f} | "
                     f"{_fmt(r.get('torch_ms'), '.3f')} | {_fmt(ratio)} | {_fmt(r['gflops'], '.0f')} | "
                     f"{_fmt(r['pct_peak_flops'], '.1f')} | {_fmt(r['gbytes_per_s'], '.0f')} | "
                     f"{_fmt(r['pct_peak_bw'], '.1f')} | {_fmt(r.get('max_rel_err'), '.1e')} | "
                     f"{_fmt(r.get('torch_rel_err'), '.1e')} |")
    return "\n".join(lines)


# --- GPU side (imports torch and CuPy) ----------------------------------------------------------

def _gpu_modules():
    try:
        import cupy
        import torch
    except ImportError as exc:
        raise RuntimeError(f"the GPU benchmark needs torch and CuPy: {exc}") from exc
    if not torch.cuda.is_available():
        raise RuntimeError("the GPU benchmark needs a CUDA GPU; torch sees none")
    return torch, cupy


class _Timer:
    """Median CUDA-event time (ms) of a thunk, optionally flushing L2 before each run."""

    def __init__(self, torch, reps: int, warmup: int, flush: bool):
        self.torch, self.reps, self.warmup = torch, reps, warmup
        self.scratch = torch.empty(64 * 2**20, dtype=torch.float32, device="cuda") if flush else None

    def __call__(self, fn) -> float:
        torch = self.torch
        for _ in range(self.warmup):
            fn()
        times = []
        for _ in range(self.reps):
            if self.scratch is not None:
                self.scratch.zero_()  # evicts the inputs from L2 (50 MB) before the timed region
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        return statistics.median(times)


def _inputs(case, cupy, rng):
    """CuPy inputs for a case, drawn from numpy so every backend sees the same numbers."""
    def draw(shape, scale=1.0):
        return cupy.asarray((rng.standard_normal(shape) * scale).astype(np.float32))
    if case["op"].startswith("conv"):
        return {"x": draw(case["x_shape"]), "w": draw(case["w_shape"], 0.05), "dy": draw(case["y_shape"])}
    c = case["x_shape"][1]
    return {"x": draw(case["x_shape"]), "dy": draw(case["x_shape"]), "w": cupy.ones(c, np.float32),
            "b": cupy.zeros(c, np.float32), "rm": cupy.zeros(c, np.float32), "rv": cupy.ones(c, np.float32)}


def _torch_call(case, data, torch):
    """A torch thunk computing the case's kernel on ``data`` (CuPy arrays, seen through DLPack)."""
    t = {k: torch.from_dlpack(v) for k, v in data.items()}
    op = case["op"]
    if op.startswith("conv"):
        s, p = list(case["stride"]), list(case["padding"])
        if op == "conv2d_fwd":
            return lambda: torch.nn.functional.conv2d(t["x"], t["w"], None, s, p)
        mask, index = ([True, False, False], 0) if op == "conv2d_dgrad" else ([False, True, False], 1)
        return lambda: torch.ops.aten.convolution_backward(
            t["dy"], t["x"], t["w"], None, s, p, [1, 1], False, [0, 0], 1, mask)[index]
    if op == "batchnorm_fwd":
        return lambda: torch.ops.aten.native_batch_norm(t["x"], t["w"], t["b"], t["rm"], t["rv"],
                                                        True, 0.1, 1e-5)[0]
    stats = torch.ops.aten.native_batch_norm(t["x"], t["w"], t["b"], t["rm"].clone(), t["rv"].clone(),
                                             True, 0.1, 1e-5)
    return lambda: torch.ops.aten.native_batch_norm_backward(
        t["dy"], t["x"], t["w"], None, None, stats[1], stats[2], True, 1e-5, [True, True, True])[0]


def _calls(case, data, get, torch):
    """(tinygan thunk, torch thunk) computing the case's kernel on the same arrays."""
    op = case["op"]
    if op.startswith("conv"):
        params = (case["stride"], case["padding"], (1, 1), 1)
        fn = get(op)
        ours = {"conv2d_fwd": lambda: fn(data["x"], data["w"], *params),
                "conv2d_dgrad": lambda: fn(data["dy"], data["w"], case["x_shape"], *params),
                "conv2d_wgrad": lambda: fn(data["x"], data["dy"], case["w_shape"], *params)}[op]
        return ours, _torch_call(case, data, torch)
    fwd, bwd = get("batchnorm_fwd"), get("batchnorm_bwd")
    if op == "batchnorm_fwd":
        return (lambda: fwd(data["x"], data["w"], data["b"], data["rm"], data["rv"], True, 0.1, 1e-5)[0],
                _torch_call(case, data, torch))
    _, mean, invstd = fwd(data["x"], data["w"], data["b"], None, None, True, 0.1, 1e-5)
    return (lambda: bwd(data["dy"], data["x"], data["w"], mean, invstd, True)[0],
            _torch_call(case, data, torch))


def run_gpu_bench(backends=("cuda", "triton"), batches=(64, 256), reps: int = 20, warmup: int = 5,
                  tf32: bool = False, flush_l2: bool = True) -> list[dict]:
    """Time every case for each backend and batch; one dict per (case, backend): the case's
    fields plus "backend", "ms", "torch_ms", "max_rel_err", "device" and the derived columns."""
    torch, cupy = _gpu_modules()
    from tinygan import backends as registry

    _set_torch_fp32(torch, "ieee")
    device = torch.cuda.get_device_name()
    peak = peaks_for(device)
    timer = _Timer(torch, reps, warmup, flush_l2)
    variants = [(name, name, False) for name in backends]
    if tf32 and "triton" in backends:
        variants.append(("triton", "triton tf32", True))
    rows = []
    for batch in batches:
        rng = np.random.default_rng(batch)
        for case in conv_cases(batch) + bn_cases(batch):
            data = _inputs(case, cupy, rng)
            # torch (cuDNN) in float64 on the same inputs: the accuracy reference
            exact = _torch_call(case, {k: v.astype(cupy.float64) for k, v in data.items()}, torch)()
            torch_ms = {}
            for name, label, use_tf32 in variants:
                if use_tf32 and not case["op"].startswith("conv"):
                    continue  # TF32 changes only the conv GEMMs
                get = lambda kernel: registry.get(kernel, "cuda", backend=name)  # noqa: E731
                ours, ref = _calls(case, data, get, torch)
                _set_tf32(torch, name, use_tf32)
                try:
                    if use_tf32 not in torch_ms:
                        torch_ms[use_tf32] = timer(ref)
                    row = dict(case, backend=label, device=device, ms=timer(ours),
                               torch_ms=torch_ms[use_tf32],
                               max_rel_err=_rel_err(torch.from_dlpack(ours()), exact),
                               torch_rel_err=_rel_err(ref(), exact))
                finally:
                    _set_tf32(torch, name, False)
                rows.append(derive(row, peak))
    return rows


def run_gpu_train_step(backends=("cuda", "triton"), batches=(64, 256), reps: int = 20,
                       warmup: int = 3) -> list[dict]:
    """Images/s of the whole DCGAN train step (D then G, Adam 2e-4, betas (0.5, 0.999); the CPU
    table's step) on device "cuda" for each backend, and of the same model in torch CUDA (fp32,
    TF32 off), from the same initial weights and data. Wall clock per step, the device
    synchronised before and after each step; median of ``reps`` steps after ``warmup``. tinygan's
    step returns its four losses as Python floats (a synchronisation, as a training loop that logs
    them needs); torch's step reads none back, so the ratio favours torch slightly."""
    torch, cupy = _gpu_modules()
    _set_torch_fp32(torch, "ieee")
    device = torch.cuda.get_device_name()

    def median_ms(step):
        for _ in range(warmup):
            step()
        times = []
        for _ in range(reps):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            step()
            torch.cuda.synchronize()
            times.append(1e3 * (time.perf_counter() - t0))
        return statistics.median(times)

    rows = []
    for batch in batches:
        rng = np.random.default_rng(0)
        real = rng.uniform(-1, 1, (batch, 1, 28, 28)).astype(np.float32)
        z = rng.standard_normal((batch, dcgan.Z_DIM), dtype=np.float32)
        torch_ms = None
        for name in backends:
            with set_backend(name):
                G, D = dcgan.build("tf", generator=Generator(0), dropout_generator=Generator(1))
                if torch_ms is None:
                    torch_ms = median_ms(torch_train_step(torch, G, D, real, z, device="cuda"))
                G.to("cuda"), D.to("cuda")
                opt = dict(lr=2e-4, betas=(0.5, 0.999))
                scheme = AlternatingGDA(Adam(G.parameters(), **opt), Adam(D.parameters(), **opt))
                treal, tz = tensor(real, device="cuda"), tensor(z, device="cuda")
                ms = median_ms(lambda: train_step(G, D, scheme, treal, tz, "nonsaturating"))
            rows.append({"batch": batch, "backend": name, "device": device, "ms": ms,
                         "torch_ms": torch_ms, "images_per_s": batch / ms * 1e3,
                         "torch_images_per_s": batch / torch_ms * 1e3})
    return rows


def format_step_table(rows: list[dict]) -> str:
    lines = ["| batch | backend | tinygan ms / step | torch ms / step | tinygan images/s | "
             "torch images/s | torch/tinygan |", "|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['batch']} | {r['backend']} | {r['ms']:.2f} | {r['torch_ms']:.2f} | "
                     f"{r['images_per_s']:.0f} | {r['torch_images_per_s']:.0f} | "
                     f"{r['torch_ms'] / r['ms']:.2f} |")
    return "\n".join(lines)


def _rel_err(got, exact) -> float:
    """max |got - exact| / max |exact| (exact: the float64 result)."""
    return float((got.double() - exact).abs().max() / exact.abs().max().clamp_min(1e-300))


def _set_torch_fp32(torch, precision: str) -> None:
    """"ieee" or "tf32" for cuDNN convolutions and cuBLAS matmuls. torch >= 2.9 has
    ``fp32_precision``; its legacy ``allow_tf32 = False`` sets that to "none" (inherit), and the
    two APIs must not be mixed, so the new one is used where it exists."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        conv.fp32_precision = precision
        torch.backends.cuda.matmul.fp32_precision = precision
    else:
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"


def _set_tf32(torch, backend: str, on: bool) -> None:
    """Switch TF32 for cuDNN and for the triton backend together."""
    _set_torch_fp32(torch, "tf32" if on else "ieee")
    if backend == "triton":
        from tinygan.backends import triton as triton_backend
        triton_backend.set_input_precision("tf32" if on else "ieee")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinygan.bench --device cuda",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda")
    parser.add_argument("--backend", nargs="+", default=["cuda", "triton"])
    parser.add_argument("--batch", nargs="+", type=int, default=[64, 256])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--tf32", action="store_true", help="add triton TF32 rows (vs cuDNN TF32)")
    parser.add_argument("--no-flush", action="store_true", help="do not flush L2 before each run")
    parser.add_argument("--json", help="also write the rows here")
    # accepted for the CPU front door's sake, unused here
    parser.add_argument("--threads", type=int)
    parser.add_argument("--no-step", action="store_true", help="skip the whole-train-step table")
    parser.add_argument("--no-kernels", action="store_true", help="skip the per-kernel table")
    args = parser.parse_args(argv)
    try:
        rows = [] if args.no_kernels else run_gpu_bench(args.backend, args.batch, args.reps,
                                                        args.warmup, args.tf32, not args.no_flush)
        if rows:
            _print_kernels(rows)
        steps = [] if args.no_step else run_gpu_train_step(args.backend, args.batch, args.reps)
    except RuntimeError as exc:
        print(f"bench_gpu: {exc}", file=sys.stderr)
        return 2
    if steps:
        print("\nWhole DCGAN train step on the GPU (wall clock, device synchronised per step):")
        print(format_step_table(steps))
    if args.json:
        device = (rows or steps)[0]["device"] if (rows or steps) else None
        with open(args.json, "w") as f:
            json.dump({"device": device, "peaks": peaks_for(device or ""), "rows": rows,
                       "train_step": steps}, f, indent=1)
    return 0


def _print_kernels(rows: list[dict]) -> None:
    device = rows[0]["device"]
    peak = peaks_for(device)
    print(f"device: {device}; peaks: " + (f"{peak[0]} TFLOP/s FP32, {peak[1]} TB/s" if peak else "unknown"))
    print(format_table(rows))

    def tolerance(r):
        return 1e-2 if "tf32" in r["backend"] else 1e-4
    bad = [r for r in rows if r["max_rel_err"] > tolerance(r)]
    if bad:
        print(f"\nWARNING: {len(bad)} tinygan results differ from the float64 result beyond tolerance")
    torch_bad = [r for r in rows if r.get("torch_rel_err", 0.0) > tolerance(r)]
    if torch_bad:
        print(f"\nNOTE: torch's result differs from the float64 result beyond tolerance in "
              f"{len(torch_bad)} rows (not IEEE fp32 there)")

if __name__ == "__main__":
    sys.exit(main())
