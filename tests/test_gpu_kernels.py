"""The GPU backends ("cuda": csrc/cuda/*.cu, "triton": tinygan/kernels/*.py) against tinygan.backends.reference, the spec.

(a) Triton kernels under the interpreter (TRITON_INTERPRET=1), in ONE subprocess for the module
    (the variable must be set before triton is imported, and must not leak into this process);
(b) every csrc/cuda/*.cu compiles with nvcc -arch=sm_90, and with NVRTC (what cupy.RawModule
    uses) when libnvrtc is found;
(c) the CUDA kernels RUN on the CPU: each .cu is compiled with g++ and csrc/cuda/host_emulation.h
    (a block's threads as host threads, blocks one after another, __shared__ = static, a barrier
    that aborts when __syncthreads diverges) and driven by tinygan/backends/cuda.py's own host
    code; outputs start as NaN, so an element no block writes fails the comparison;
(d) @pytest.mark.gpu: both backends on a real GPU (skipped without one);
(e) tinygan/bench_gpu.py's CPU-side logic, and the packaging of tinygan.kernels.

float32 tolerance: outputs are compared with reference evaluated in float64 on the same float32
inputs, |got - ref| <= 1e-5 * max|ref| (+ 1e-5 |ref|). Each output sums at most ~200 products
of O(1) numbers (conv) or is a normalisation by tree-summed statistics (batch norm), so float32
rounding (eps = 6e-8) gives ~sqrt(200) * eps ~ 1e-6 of max|ref| typically and < 1e-5 in the
worst case we can construct at these sizes; observed errors are ~3e-7. float64: 1e-12.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from tinygan.backends import cuda as cuda_backend
from tinygan.backends import reference

ROOT = Path(__file__).resolve().parents[1]
CUDA_DIR = ROOT / "csrc" / "cuda"
CU_FILES = sorted(CUDA_DIR.glob("*.cu"))

# name: (x_shape, w_shape, stride, padding, dilation, groups, dy rows/cols cropped)
CONV_CASES = {
    "3x3_pad1": ((2, 3, 7, 6), (4, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1, (0, 0)),
    "stride21_dil21_groups2_batch1": ((1, 4, 9, 8), (6, 2, 3, 2), (2, 1), (1, 0), (2, 1), 2, (0, 0)),
    "stride2_pad2_dil2_odd": ((2, 2, 5, 5), (3, 2, 3, 3), (2, 2), (2, 2), (2, 2), 1, (0, 0)),
    "one_input_channel_5x5_s2": ((2, 1, 12, 12), (20, 1, 5, 5), (2, 2), (2, 2), (1, 1), 1, (0, 0)),
    "stride32_long_k": ((1, 18, 7, 5), (3, 18, 2, 3), (3, 2), (1, 1), (1, 2), 1, (0, 0)),
    "20_channels_dot_tiles": ((2, 20, 9, 9), (24, 20, 3, 3), (1, 1), (1, 1), (1, 1), 1, (0, 0)),
    "wgrad_split_1024_pixels": ((4, 3, 16, 16), (5, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1, (0, 0)),
    "depthwise_groups4_s2": ((2, 4, 12, 10), (4, 1, 3, 3), (2, 2), (1, 1), (1, 1), 4, (0, 0)),
    "cropped_dy": ((2, 3, 9, 9), (4, 3, 3, 3), (2, 2), (0, 0), (1, 1), 1, (1, 2)),
    # dilation > stride: dy row steps di = 2, dj = 3 per tap (tinygan/kernels/conv_dgrad.py)
    "dilation_over_stride": ((2, 3, 11, 9), (4, 3, 3, 2), (2, 1), (2, 1), (4, 3), 1, (0, 0)),
}
FLOAT64_CASES = ("3x3_pad1", "stride21_dil21_groups2_batch1", "cropped_dy")
# name: (x shape, training, affine, running statistics)
BN_CASES = {
    "train_2d": ((4, 3, 5, 5), True, True, True),
    "eval_2d": ((4, 3, 5, 5), False, True, True),
    "train_1d_bare": ((7, 5), True, False, False),
    "train_split_L300": ((3, 2, 300), True, True, True),
    "eval_no_affine": ((2, 4, 3, 3), False, False, True),
}
CONV_OUTPUTS = ("y", "dx", "dw")


def _tol(dtype):
    return 1e-12 if np.dtype(dtype) == np.float64 else 1e-5


def conv_inputs(name, dtype=np.float32):
    x_shape, w_shape, s, p, d, g, crop = CONV_CASES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # same in the worker
    y_shape = reference.conv2d_fwd(np.zeros(x_shape), np.zeros(w_shape), s, p, d, g).shape
    dy_shape = y_shape[:2] + (y_shape[2] - crop[0], y_shape[3] - crop[1])
    x, w, dy = (rng.standard_normal(sh).astype(dtype) for sh in (x_shape, w_shape, dy_shape))
    return x, w, dy, (s, p, d, g)


def conv_reference(x, w, dy, args):
    f64 = [a.astype(np.float64) for a in (x, w, dy)]
    return {"y": reference.conv2d_fwd(f64[0], f64[1], *args),
            "dx": reference.conv2d_dgrad(f64[2], f64[1], x.shape, *args),
            "dw": reference.conv2d_wgrad(f64[0], f64[2], w.shape, *args)}


def run_conv(backend, x, w, dy, args, to_numpy=np.asarray):
    return {"y": to_numpy(backend.conv2d_fwd(x, w, *args)),
            "dx": to_numpy(backend.conv2d_dgrad(dy, w, x.shape, *args)),
            "dw": to_numpy(backend.conv2d_wgrad(x, dy, w.shape, *args))}


def bn_inputs(name, dtype=np.float32):
    shape, training, affine, running = BN_CASES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # same in the worker
    c = shape[1]
    x = (3 * rng.standard_normal(shape) + 5).astype(dtype)  # offset mean: tests the centring
    dy = rng.standard_normal(shape).astype(dtype)
    w, b = (rng.standard_normal(c).astype(dtype) for _ in range(2)) if affine else (None, None)
    rm, rv = None, None
    if running:
        rm, rv = rng.standard_normal(c).astype(dtype), (rng.random(c) + 0.5).astype(dtype)
    return dict(x=x, dy=dy, w=w, b=b, rm=rm, rv=rv, training=training)


def run_bn(backend, inp, to_numpy=np.asarray, to_device=np.array):  # copies: stats update in place
    dev = {k: None if v is None or k == "training" else to_device(v) for k, v in inp.items()}
    y, mean, invstd = backend.batchnorm_fwd(dev["x"], dev["w"], dev["b"], dev["rm"], dev["rv"],
                                            inp["training"], 0.1, 1e-5)
    dx, dweight, dbias = backend.batchnorm_bwd(dev["dy"], dev["x"], dev["w"], mean, invstd,
                                               inp["training"])
    out = dict(y=y, mean=mean, invstd=invstd, dx=dx, dweight=dweight, dbias=dbias, rm=dev["rm"],
               rv=dev["rv"])
    return {k: None if v is None else to_numpy(v) for k, v in out.items()}


def bn_reference(inp):
    f64 = {k: v.astype(np.float64) if isinstance(v, np.ndarray) else v for k, v in inp.items()}
    return run_bn(reference, f64)


def assert_close(got, ref, dtype, what):
    assert got.shape == ref.shape, what
    tol = _tol(dtype)
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max()), err_msg=what)


def assert_conv_dot_test(x, w, dy, out, dtype):
    """<fwd(x, w), dy> == <x, dgrad(dy, w)> == <w, wgrad(x, dy)> (y cropped to dy's size)."""
    y = out["y"][:, :, :dy.shape[2], :dy.shape[3]]
    dots = [float(np.vdot(a.astype(np.float64), b.astype(np.float64)))
            for a, b in ((y, dy), (x, out["dx"]), (w, out["dw"]))]
    scale = max(abs(v) for v in dots) or 1.0
    assert max(dots) - min(dots) <= 10 * _tol(dtype) * scale, dots


# --- (a) Triton under the interpreter, in a subprocess ----------------------------------------

def _triton_worker(in_path, out_path):
    """Runs in the subprocess (TRITON_INTERPRET=1): every case through the triton backend."""
    from tinygan.backends import triton as triton_backend
    assert triton_backend.INTERPRET and triton_backend.AVAILABLE, triton_backend.UNAVAILABLE_REASON
    data, out = dict(np.load(in_path)), {}
    for key in {k.rsplit("/", 1)[0] for k in data if k.startswith("conv/")}:
        name = key.split("/")[2]
        args = CONV_CASES[name][2:6]
        x, w, dy = (data[f"{key}/{k}"] for k in ("x", "w", "dy"))
        for k, v in run_conv(triton_backend, x, w, dy, args).items():
            out[f"{key}/{k}"] = v
    for name in BN_CASES:
        inp = bn_inputs(name)
        for k, v in run_bn(triton_backend, inp).items():
            if v is not None:
                out[f"bn/{name}/{k}"] = v
    np.savez(out_path, **out)


def _version(text: str) -> tuple:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


@pytest.fixture(scope="module")
def triton_results(tmp_path_factory):
    for module in ("triton", "torch"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (the Triton interpreter tests need it)")
    import triton
    if _version(triton.__version__) < (3, 9) and _version(np.__version__) >= (2, 4):
        # seen on the H200 machine (triton 3.6, numpy 2.5): the interpreter calls int() on
        # 1-element arrays, which numpy >= 2.4 refuses; the gpu-marked tests run these cases
        pytest.skip(f"triton {triton.__version__}'s interpreter fails with numpy {np.__version__}")
    tmp = tmp_path_factory.mktemp("triton")
    arrays = {}
    for name in CONV_CASES:
        for dtype in (np.float32, np.float64) if name in FLOAT64_CASES else (np.float32,):
            x, w, dy, _ = conv_inputs(name, dtype)
            key = f"conv/{np.dtype(dtype).name}/{name}"
            arrays.update({f"{key}/x": x, f"{key}/w": w, f"{key}/dy": dy})
    np.savez(tmp / "in.npz", **arrays)
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            "import test_gpu_kernels as t; "
            f"t._triton_worker({str(tmp / 'in.npz')!r}, {str(tmp / 'out.npz')!r})")
    env = dict(os.environ, TRITON_INTERPRET="1")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return dict(np.load(tmp / "out.npz"))


CONV_PARAMS = [(n, "float32") for n in CONV_CASES] + [(n, "float64") for n in FLOAT64_CASES]


@pytest.mark.parametrize("name,dtype", CONV_PARAMS)
def test_triton_conv_matches_reference(triton_results, name, dtype):
    x, w, dy, args = conv_inputs(name, np.dtype(dtype))
    got = {k: triton_results[f"conv/{dtype}/{name}/{k}"] for k in CONV_OUTPUTS}
    for k, ref in conv_reference(x, w, dy, args).items():
        assert got[k].dtype == np.dtype(dtype) and got[k].flags.c_contiguous
        assert_close(got[k], ref, dtype, f"triton {k} {name}")
    assert_conv_dot_test(x, w, dy, got, dtype)


@pytest.mark.parametrize("name", BN_CASES)
def test_triton_batchnorm_matches_reference(triton_results, name):
    for k, ref in bn_reference(bn_inputs(name)).items():
        if ref is not None:
            assert_close(triton_results[f"bn/{name}/{k}"], ref, np.float32, f"triton {k} {name}")


def test_dgrad_phase_taps_match_brute_force():
    conv_dgrad = pytest.importorskip("tinygan.kernels.conv_dgrad")  # needs triton, not a GPU
    for s in range(1, 5):
        for d in range(1, 5):
            for p in range(0, 4):
                for k in range(1, 7):
                    for a in range(s):
                        r0, step, count, i0, di = conv_dgrad.phase_taps(a, s, p, d, k)
                        taps = [r0 + q * step for q in range(count)]
                        assert taps == [r for r in range(k) if (a + p - d * r) % s == 0]
                        for q, r in enumerate(taps):  # dy row of dx row a + s*u is u + i0 - q*di
                            assert s * (i0 - q * di) == a + p - d * r


# --- (b) the CUDA sources compile --------------------------------------------------------------

@pytest.mark.parametrize("cu", CU_FILES, ids=lambda p: p.name)
def test_cuda_source_compiles_with_nvcc(cu, tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc not found")
    cmd = [nvcc, "-arch=sm_90", "-std=c++17", "-c", str(cu), "-o", str(tmp_path / "k.o")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"


def _libnvrtc():
    """libnvrtc from the system or the nvidia-cuda-nvrtc wheel, or None."""
    candidates = [os.environ.get("TINYGAN_LIBNVRTC", "")]
    spec = importlib.util.find_spec("nvidia")
    for base in (spec.submodule_search_locations or []) if spec else []:
        found = Path(base).glob("cu1*/lib/libnvrtc.so*")
        candidates += sorted(str(p) for p in found if "alt" not in p.name)
    candidates += ["libnvrtc.so.13", "libnvrtc.so"]
    for path in filter(None, candidates):
        try:
            near = sorted(Path(path).parent.glob("libnvrtc-builtins.so*")) if "/" in path else []
            for builtins in near:  # NVRTC dlopens it; load it first from the same place
                if "alt" not in builtins.name:
                    ctypes.CDLL(str(builtins), mode=ctypes.RTLD_GLOBAL)
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


@pytest.mark.parametrize("name", cuda_backend.SOURCES)
def test_cuda_source_compiles_with_nvrtc(name):
    """The exact text cuda.py hands to cupy.RawModule (header inlined), compiled by NVRTC."""
    lib = _libnvrtc()
    if lib is None:
        pytest.skip("libnvrtc not found (pip install nvidia-cuda-nvrtc, or set TINYGAN_LIBNVRTC)")
    prog = ctypes.c_void_p()
    assert lib.nvrtcCreateProgram(ctypes.byref(prog), cuda_backend.load_source(name).encode(),
                                  name.encode(), 0, None, None) == 0
    opts = [o.encode() for o in cuda_backend.NVRTC_OPTIONS] + [b"--gpu-architecture=sm_90"]
    result = lib.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*opts))
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, log)
    lib.nvrtcDestroyProgram(ctypes.byref(prog))
    assert result == 0, log.value.decode()


# --- (c) the CUDA kernels on the CPU -----------------------------------------------------------

_KERNEL = re.compile(r'extern "C" __global__ void (?:__launch_bounds__\([^)]*\)\s*)?(\w+)\s*\(([^)]*)\)')
_SCALARS = {"int": ctypes.c_int, "float": ctypes.c_float, "double": ctypes.c_double,
            "long long": ctypes.c_longlong, "unsigned long long": ctypes.c_ulonglong}


class HostRuntime:
    """cuda.py's runtime interface over host-compiled kernels; arrays are numpy."""

    def __init__(self, build_dir: Path, sms: int = 64):
        self.sms, self.fns = sms, {}
        for cu in CU_FILES:
            flat = subprocess.run(["g++", "-E", "-P", "-x", "c++", str(cu)], capture_output=True,
                                  text=True, check=True).stdout
            wrappers, signatures = [], {}
            for name, params in _KERNEL.findall(flat):
                decls = [p.strip() for p in params.split(",")]
                names = [re.findall(r"\w+", p)[-1] for p in decls]
                signatures[name] = [ctypes.c_void_p if "*" in p else _SCALARS[p.rsplit(None, 1)[0]]
                                    for p in decls]
                call = f'{name}({", ".join(names)})'
                wrappers.append(f'extern "C" void emu_{name}(unsigned gx, unsigned gy, unsigned gz, '
                                f'{params}) {{ emu::launch(dim3{{gx, gy, gz}}, 256, [=] {{ {call}; }}); }}')
            src, lib = build_dir / f"{cu.stem}_host.cpp", build_dir / f"{cu.stem}.so"
            src.write_text(f'#include "{cu}"\n' + "\n".join(wrappers) + "\n")
            subprocess.run(["g++", "-std=c++20", "-O1", "-pthread", "-shared", "-fPIC",
                            "-fno-gnu-unique", "-include", str(CUDA_DIR / "host_emulation.h"),
                            str(src), "-o", str(lib)], check=True)
            dll = ctypes.CDLL(str(lib))
            for name, argtypes in signatures.items():
                fn = self.fns[name] = getattr(dll, f"emu_{name}")
                fn.argtypes, fn.restype = [ctypes.c_uint] * 3 + argtypes, None

    def empty(self, shape, dtype):
        return np.full(shape, np.nan, dtype)  # an element no block writes stays NaN

    contiguous, asarray = staticmethod(np.ascontiguousarray), staticmethod(np.array)

    def launch(self, name, grid, args):
        grid = tuple(grid) + (1,) * (3 - len(grid))
        self.fns[name](*grid, *(a.ctypes.data if isinstance(a, np.ndarray)
                                else a.item() if isinstance(a, np.generic) else int(a) for a in args))


@pytest.fixture(scope="module")
def host_cuda(tmp_path_factory):
    if shutil.which("g++") is None:
        pytest.skip("g++ not found (the host emulation of the CUDA kernels needs it)")
    runtime = HostRuntime(tmp_path_factory.mktemp("cuda_host"))
    previous, cuda_backend._runtime = cuda_backend._runtime, runtime
    yield cuda_backend
    cuda_backend._runtime = previous


@pytest.mark.parametrize("name,dtype", CONV_PARAMS)
def test_cuda_conv_kernels_on_host(host_cuda, name, dtype):
    x, w, dy, args = conv_inputs(name, np.dtype(dtype))
    got = run_conv(host_cuda, x, w, dy, args)
    for k, ref in conv_reference(x, w, dy, args).items():
        assert got[k].dtype == np.dtype(dtype)
        assert_close(got[k], ref, dtype, f"cuda {k} {name}")
    assert_conv_dot_test(x, w, dy, got, dtype)


@pytest.mark.parametrize("name", BN_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cuda_batchnorm_on_host(host_cuda, name, dtype):
    inp = bn_inputs(name, np.dtype(dtype))
    got = run_bn(host_cuda, inp)
    for k, ref in bn_reference(inp).items():
        if ref is not None:
            assert_close(got[k], ref, dtype, f"cuda {k} {name}")


def _pcg64_words(n: int, seed: int = 1234):
    """(state, inc, NumPy's 32-bit words 0..n-1) of a PCG64 stream a few draws in."""
    bits = np.random.PCG64(seed)
    bits.advance(5)
    st = bits.state["state"]
    return st["state"], st["inc"], bits.random_raw((n + 1) // 2).view(np.uint32)[:n]


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000, 100_001])
def test_cuda_keep_mask_on_host_is_numpys_stream(host_cuda, n):
    state, inc, words = _pcg64_words(n)
    for threshold in (0, 1_288_490_189, 2 ** 32):            # p = 0, 0.3, 1
        got = host_cuda.keep_mask(state, inc, n, threshold)
        assert got.dtype == np.bool_ and got.shape == (n,)
        assert np.array_equal(got, words >= threshold)
        assert np.array_equal(got, reference.keep_mask(state, inc, n, threshold))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(1,), (3, 5, 7), (4, 6, 5, 5), (2, 300, 301)])
def test_cuda_pointwise_kernels_on_host(host_cuda, dtype, shape):
    """csrc/cuda/pointwise.cu against the spec (numpy_pointwise), every element written."""
    from tinygan.backends import numpy_pointwise as spec
    rng = np.random.default_rng(len(shape))
    x, g = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    x.flat[0] = 0.0                                        # the kink: x > 0 is false at 0
    keep = rng.random(shape) < 0.6
    tol = dict(rtol=1e-6 if dtype == "float32" else 1e-14, atol=0)
    np.testing.assert_allclose(host_cuda.leaky_relu_fwd(x, 0.2), spec.leaky_relu_fwd(x, 0.2), **tol)
    np.testing.assert_allclose(host_cuda.leaky_relu_bwd(x, g, 0.2), spec.leaky_relu_bwd(x, g, 0.2), **tol)
    np.testing.assert_allclose(host_cuda.masked_scale(x, keep, 2.5), spec.masked_scale(x, keep, 2.5), **tol)
    if len(shape) >= 2:
        b = rng.standard_normal(shape[1]).astype(dtype)
        np.testing.assert_allclose(host_cuda.bias_add(x, b), spec.bias_add(x, b), **tol)
    p, m, v = x.copy(), 0.1 * g, np.abs(g) * 0.01
    p2, m2, v2 = p.copy(), m.copy(), v.copy()
    host_cuda.adam_update(p, g, m, v, 0.5, 0.999, 2e-4 / (1 - 0.5 ** 3), (1 - 0.999 ** 3) ** 0.5, 1e-8)
    spec.adam_update(p2, g, m2, v2, 0.5, 0.999, 2e-4 / (1 - 0.5 ** 3), (1 - 0.999 ** 3) ** 0.5, 1e-8)
    for got, want in ((p, p2), (m, m2), (v, v2)):
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == "float32" else 1e-13, atol=1e-12)


def test_host_emulator_catches_an_unwritten_output(host_cuda, monkeypatch):
    """The NaN fill is what makes (c) check coverage: a launch that skips blocks must fail."""
    real_launch = host_cuda._runtime.launch
    monkeypatch.setattr(host_cuda._runtime, "launch",
                        lambda name, grid, args: real_launch(name, (1,) + tuple(grid)[1:], args))
    x, w, dy, args = conv_inputs("20_channels_dot_tiles")
    assert np.isnan(host_cuda.conv2d_dgrad(dy, w, x.shape, *args)).any()


# --- (d) on a real GPU -------------------------------------------------------------------------

def _gpu_backend(name):
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no device")
    except Exception as exc:  # noqa: BLE001 - no CuPy, no driver, no device: skip
        pytest.skip(f"no CUDA device ({type(exc).__name__}: {exc})")
    module = importlib.import_module(f"tinygan.backends.{name}")
    if not module.AVAILABLE:
        pytest.fail(f"a GPU is present but the {name} backend is unavailable: "
                    f"{module.UNAVAILABLE_REASON}")
    return module, cupy


GPU_CONV = dict(CONV_CASES,  # + DCGAN-sized layers: many blocks, full tiles
                dcgan_64_to_128_s2=((8, 64, 14, 14), (128, 64, 5, 5), (2, 2), (2, 2), (1, 1), 1, (0, 0)),
                dcgan_convT_to_1=((8, 1, 28, 28), (64, 1, 5, 5), (2, 2), (2, 2), (1, 1), 1, (0, 0)))
GPU_PARAMS = [(n, "float32") for n in GPU_CONV] + [(n, "float64") for n in FLOAT64_CASES]


@pytest.mark.gpu
@pytest.mark.parametrize("backend", ["cuda", "triton"])
@pytest.mark.parametrize("name,dtype", GPU_PARAMS)
def test_gpu_conv_matches_reference(backend, name, dtype, monkeypatch):
    module, cupy = _gpu_backend(backend)
    monkeypatch.setitem(CONV_CASES, name, GPU_CONV[name])
    x, w, dy, args = conv_inputs(name, np.dtype(dtype))
    got = run_conv(module, *(cupy.asarray(a) for a in (x, w, dy)), args, to_numpy=cupy.asnumpy)
    for k, ref in conv_reference(x, w, dy, args).items():
        assert_close(got[k], ref, dtype, f"{backend} {k} {name}")
    assert_conv_dot_test(x, w, dy, got, dtype)


@pytest.mark.gpu
@pytest.mark.parametrize("backend", ["cuda", "triton"])
@pytest.mark.parametrize("name", BN_CASES)
def test_gpu_batchnorm_matches_reference(backend, name):
    module, cupy = _gpu_backend(backend)
    inp = bn_inputs(name)
    got = run_bn(module, inp, to_numpy=cupy.asnumpy, to_device=cupy.asarray)
    for k, ref in bn_reference(inp).items():
        if ref is not None:
            assert_close(got[k], ref, np.float32, f"{backend} {k} {name}")


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gpu_pointwise_kernels_match_the_spec(dtype):
    from tinygan.backends import numpy_pointwise as spec
    module, cupy = _gpu_backend("cuda")
    rng = np.random.default_rng(0)
    x, g = (rng.standard_normal((64, 128, 7, 7)).astype(dtype) for _ in range(2))
    keep, b = rng.random(x.shape) < 0.7, rng.standard_normal(128).astype(dtype)
    dx, dg, dkeep, db = (cupy.asarray(a) for a in (x, g, keep, b))
    tol = dict(rtol=1e-6 if dtype == "float32" else 1e-14, atol=0)
    for got, want in ((module.leaky_relu_fwd(dx, 0.2), spec.leaky_relu_fwd(x, 0.2)),
                      (module.leaky_relu_bwd(dx, dg, 0.2), spec.leaky_relu_bwd(x, g, 0.2)),
                      (module.masked_scale(dx, dkeep, 2.0), spec.masked_scale(x, keep, 2.0)),
                      (module.bias_add(dx, db), spec.bias_add(x, b))):
        np.testing.assert_allclose(cupy.asnumpy(got), want, **tol)
    p, m, v = x.copy(), 0.1 * g, np.abs(g) * 0.01
    dp, dm, dv = (cupy.asarray(a) for a in (p, m, v))
    module.adam_update(dp, dg, dm, dv, 0.5, 0.999, 4e-4, 0.05, 1e-8)
    spec.adam_update(p, g, m, v, 0.5, 0.999, 4e-4, 0.05, 1e-8)
    for got, want in ((dp, p), (dm, m), (dv, v)):
        np.testing.assert_allclose(cupy.asnumpy(got), want, rtol=1e-6 if dtype == "float32" else 1e-13,
                                   atol=1e-12)


@pytest.mark.gpu
def test_gpu_keep_mask_is_numpys_stream():
    module, cupy = _gpu_backend("cuda")
    for n in (1, 7, 802_816, 3_211_265):
        state, inc, words = _pcg64_words(n, seed=n)
        got = module.keep_mask(state, inc, n, 2 ** 31)
        assert isinstance(got, cupy.ndarray) and got.dtype == np.bool_
        assert np.array_equal(cupy.asnumpy(got), words >= 2 ** 31), n


# --- (e) benchmark logic and packaging ---------------------------------------------------------

def _bench_module():
    import tinygan.bench_gpu
    return tinygan.bench_gpu


def test_bench_gpu_imports_without_torch_or_cupy():
    code = ("import sys, tinygan.bench_gpu; "
            "print(sorted(k for k in ('torch', 'cupy', 'triton') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_bench_gpu_rows_flops_bytes_and_peaks():
    bench = _bench_module()
    assert bench.peaks_for("NVIDIA H100 80GB HBM3") == (67.0, 3.35)
    assert bench.peaks_for("NVIDIA H200") == (67.0, 4.8)
    assert bench.peaks_for("NVIDIA H100 PCIe")[1] == 2.0 and bench.peaks_for("Tesla T4") is None
    cases = bench.conv_cases(64)
    assert len(cases) == 3 * len(bench.CONV_LAYERS)
    d2 = [c for c in cases if c["layer"] == "D conv 64->128 s2 14->7"]
    assert [c["op"] for c in d2] == ["conv2d_fwd", "conv2d_dgrad", "conv2d_wgrad"]
    assert d2[0]["y_shape"] == (64, 128, 7, 7) and d2[0]["flops"] == 2 * 64 * 128 * 49 * 64 * 25
    assert d2[0]["bytes"] == 4 * (64 * 64 * 14 * 14 + 128 * 64 * 25 + 64 * 128 * 49)
    g3 = [c for c in cases if c["layer"].startswith("G convT 64->1")]
    assert g3[0]["op"] == "conv2d_dgrad" and g3[0]["x_shape"] == (64, 1, 28, 28)
    assert g3[0]["y_shape"] == (64, 64, 14, 14)
    bn = bench.bn_cases(64)
    assert bn[1]["op"] == "batchnorm_bwd" and bn[1]["bytes"] == 3 * 4 * 64 * 12544
    row = dict(cases[0], ms=1.0, backend="cuda", torch_ms=2.0, max_rel_err=1e-7)
    row = bench.derive(row, (67.0, 3.35))
    assert row["gflops"] == pytest.approx(cases[0]["flops"] / 1e6)
    assert row["pct_peak_flops"] == pytest.approx(100 * row["gflops"] / 67e3)
    assert row["pct_peak_bw"] == pytest.approx(100 * cases[0]["bytes"] / 1e6 / 3350)
    table = bench.format_table([row])
    assert "% peak FP32" in table and "| 2.00 |" in table  # torch / tinygan


def test_bench_gpu_step_table():
    row = dict(batch=64, backend="cuda", device="NVIDIA H200", ms=20.0, torch_ms=5.0,
               images_per_s=3200.0, torch_images_per_s=12800.0)
    table = _bench_module().format_step_table([row])
    assert table.splitlines()[2] == "| 64 | cuda | 20.00 | 5.00 | 3200 | 12800 | 0.25 |"


def test_bench_gpu_main_without_a_gpu_says_why(capsys):
    bench = _bench_module()
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() > 0:
            pytest.skip("a GPU is present")
    except Exception:  # noqa: BLE001
        pass
    assert bench.main(["--device", "cuda", "--batch", "8"]) == 2
    assert "bench_gpu:" in capsys.readouterr().err


def test_kernels_package_and_pyproject_package_list():
    import tinygan.kernels
    assert Path(tinygan.kernels.__file__).parent.parent.name == "tinygan"
    assert "conv_fwd" in tinygan.kernels.MODULES
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == {"tinygan.cuda_src": "csrc/cuda"}
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "tinygan").rglob("__init__.py")}
    missing = found - set(config["packages"])
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml"
    stale = set(config["packages"]) - found - {"tinygan.cuda_src"}
    assert not stale, f"remove {sorted(stale)} from [tool.setuptools] packages in pyproject.toml"
    assert cuda_backend.source_dir() is not None
    assert cuda_backend.AVAILABLE != bool(cuda_backend.UNAVAILABLE_REASON)
