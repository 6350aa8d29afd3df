#!/usr/bin/env bash
# Everything the GPU issue needs from a GPU machine, in one call (device time is scarce):
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]        # OUT_DIR defaults to $OUT, else ./gpu_out
#
# Meant for the H100 / H200 machines tinygan is tested on (CUDA 13, torch, triton, cupy-cuda13x,
# numba, pybind11, pytest, pytest-timeout, hypothesis preinstalled; no network), from the
# repository root. Each step writes its own log into OUT_DIR and a failing step does not stop the
# next one; the summary at the end (and OUT_DIR/summary.txt) says which passed. The step limits
# add up to under 10 minutes (one device call's limit: run it with timeout_s 600); it writes
# at most 8 files, the most a device call brings back.
#
#   1. nvidia-smi, versions                              -> env.txt
#   2. python -m pip install --no-deps --no-build-isolation -e .  -> env.txt (without the C++ CPU
#      extension, which no GPU step uses: TINYGAN_NO_EXTENSION=1)
#   3. the GPU tests: tests marked gpu (kernels against the reference backend, a whole DCGAN step on device
#      "cuda" per GPU backend) -> tests_gpu.log
#   4. python -m tinygan.bench --device cuda             -> bench_gpu.md, bench_gpu.json
#   5. benchmarks/profile_step.py: the host-side profile of the DCGAN step on "cuda", batch 64
#      and 256 -> profile.log
#   6. python -m tinygan.train dcgan --device cuda, 100 steps with each GPU backend -> train_cuda.log
#   7. the generic backend suite (Hypothesis configs, dot tests) for cuda / triton, on 16 pytest-xdist
#      workers -> tests_backends_gpu.log
#
# Measured on an H200 (2026-12-04): install 3 s, gpu tests 85 s, bench 40 s, each train 13 s; the
# Hypothesis backend suite for cuda + triton needs more than 80 s even on 8 workers (it compiles
# a Triton kernel per new shape), so it runs last and may be cut by its limit.
set -u
OUT_DIR=${1:-${OUT:-gpu_out}}
mkdir -p "$OUT_DIR"
summary="$OUT_DIR/summary.txt"
: > "$summary"
export PYTHONUNBUFFERED=1  # a step stopped at its limit still leaves its output in the log
RUN_DIR=$(mktemp -d)       # training runs (many files) stay out of OUT_DIR

step() {  # step NAME TIMEOUT_S LOG COMMAND...
    local name=$1 limit=$2 log=$3
    shift 3
    local t0=$SECONDS
    timeout "$limit" "$@" >> "$OUT_DIR/$log" 2>&1
    local rc=$?
    echo "$name: rc=$rc ($((SECONDS - t0)) s, log $log)" | tee -a "$summary"
}

{
    nvidia-smi
    python -c "import sys, numpy, torch, triton, cupy; print(sys.version); print('numpy', numpy.__version__, 'torch', torch.__version__, 'triton', triton.__version__, 'cupy', cupy.__version__)"
    nvcc --version
} > "$OUT_DIR/env.txt" 2>&1

step install 60 env.txt env TINYGAN_NO_EXTENSION=1 python -m pip install --no-deps --no-build-isolation -e .
step import 30 env.txt python -c "import tinygan.kernels, tinygan.backends as b; print(b.available())"
step tests 150 tests_gpu.log python -m pytest -q -rs -p no:cacheprovider --timeout 120 -m gpu tests/test_gpu_kernels.py tests/test_dcgan_backends.py
step bench 100 bench_gpu.md python -m tinygan.bench --device cuda --json "$OUT_DIR/bench_gpu.json"
step profile_cuda 40 profile.log python benchmarks/profile_step.py --device cuda --backend cuda --batch 64
step profile_cuda_256 40 profile.log python benchmarks/profile_step.py --device cuda --backend cuda --batch 256
step train_cuda 40 train_cuda.log python -m tinygan.train dcgan --device cuda --backend cuda --max-steps 100 --no-progress --out "$RUN_DIR/cuda"
step train_triton 40 train_cuda.log python -m tinygan.train dcgan --device cuda --backend triton --max-steps 100 --no-progress --out "$RUN_DIR/triton"
ls -R "$RUN_DIR" >> "$OUT_DIR/train_cuda.log" 2>&1
step backend_suite 200 tests_backends_gpu.log python -m pytest -q -rfEs -p no:cacheprovider --timeout 150 -n 16 tests/test_backends.py tests/test_pointwise_kernels.py -k "cuda or triton"

echo "--- summary ($OUT_DIR/summary.txt)"
cat "$summary"
