#!/usr/bin/env bash
# Everything the GPU issue needs from a GPU machine, in one call (device time is scarce):
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]        # OUT_DIR defaults to $OUT, else ./gpu_out
#
# Meant for the H100 / H200 machines tinygan is tested on (CUDA 13, torch, triton, cupy-cuda13x,
# numba, pybind11, pytest, hypothesis preinstalled; no network), from the repository root. Each
# step writes its own log into OUT_DIR and a failing step does not stop the next one; the
# summary at the end (and OUT_DIR/summary.txt) says which passed. About 6-8 minutes.
#
#   1. nvidia-smi, versions                              -> env.txt
#   2. pip install --no-deps --no-build-isolation -e .   -> install.log (builds tinygan._C too)
#   3. the GPU tests: tests marked gpu (kernels against numpy_ref, a whole DCGAN step on device
#      "cuda" per GPU backend) and the generic backend suite for cuda / triton -> tests_gpu.log
#   4. python -m tinygan.bench --device cuda             -> bench_gpu.md, bench_gpu.json
#   5. python -m tinygan.train dcgan --device cuda, 100 steps -> train_cuda.log, run/
set -u
OUT_DIR=${1:-${OUT:-gpu_out}}
mkdir -p "$OUT_DIR"
summary="$OUT_DIR/summary.txt"
: > "$summary"

step() {  # step NAME TIMEOUT_S LOG COMMAND...
    local name=$1 limit=$2 log=$3
    shift 3
    local t0=$SECONDS
    timeout "$limit" "$@" > "$OUT_DIR/$log" 2>&1
    local rc=$?
    echo "$name: rc=$rc ($((SECONDS - t0)) s, log $log)" | tee -a "$summary"
}

{
    nvidia-smi
    python -c "import sys, numpy, torch, triton, cupy; print(sys.version); print('numpy', numpy.__version__, 'torch', torch.__version__, 'triton', triton.__version__, 'cupy', cupy.__version__)"
    nvcc --version
} > "$OUT_DIR/env.txt" 2>&1

step install 300 install.log pip install --no-deps --no-build-isolation -e .
step tests 300 tests_gpu.log python -m pytest -q -rs -m gpu tests/test_gpu_kernels.py tests/test_dcgan_backends.py
step backend_suite 300 tests_backends_gpu.log python -m pytest -q -rs tests/test_backends.py tests/test_pointwise_kernels.py -k "cuda or triton"
step bench 300 bench_gpu.md python -m tinygan.bench --device cuda --json "$OUT_DIR/bench_gpu.json"
step train 240 train_cuda.log python -m tinygan.train dcgan --device cuda --max-steps 100 --no-progress --out "$OUT_DIR/run"

echo "--- summary ($OUT_DIR/summary.txt)"
cat "$summary"
