// host_emulation.h -- run csrc/cuda/*.cu on the CPU, for tests without a GPU
// (tests/test_gpu_kernels.py force-includes it when compiling a .cu with g++ -std=c++20).
//
// A launch runs the grid's blocks one after another; the threads of a block are host threads.
// So a __shared__ variable (a function-local static here) is one block's shared memory, and
// __syncthreads is a barrier across the block's threads. The barrier aborts when threads reach
// it from different places in one round (a __syncthreads some threads skip: undefined behaviour
// on a GPU) or when it times out. Only what the kernels use is provided: no warp intrinsics,
// no atomics, 1-D blocks.
#pragma once
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
struct dim3 { unsigned x, y, z; };
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
using std::sqrt;
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return static_cast<unsigned long long>((static_cast<unsigned __int128>(a) * b) >> 64);
}
namespace emu {
class Barrier {  // tag 0: __syncthreads, 1: end of block; mixed tags in one round = divergence
 public:
  explicit Barrier(int n) : n_(n) {}
  void wait(int tag) {
    std::unique_lock<std::mutex> lock(m_);
    if (count_ == 0) tag_ = tag;
    if (tag != tag_) fail("__syncthreads is not reached by every thread of the block");
    const long round = round_;
    if (++count_ == n_) { count_ = 0; ++round_; cv_.notify_all(); return; }
    if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return round != round_; })) fail("barrier timeout");
  }
 private:
  static void fail(const char* what) { std::fprintf(stderr, "emulator: %s\n", what); std::abort(); }
  std::mutex m_;
  std::condition_variable cv_;
  int n_, count_ = 0, tag_ = 0;
  long round_ = 0;
};
inline Barrier* barrier = nullptr;
template <class Kernel>
void launch(dim3 grid, unsigned threads, Kernel kernel) {  // blocks in turn: static = shared memory
  gridDim = grid;
  blockDim = {threads, 1, 1};
  Barrier bar(threads);
  barrier = &bar;
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      threadIdx = {t, 0, 0};
      for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
          for (unsigned x = 0; x < grid.x; ++x) {
            blockIdx = {x, y, z};
            kernel();
            bar.wait(1);
          }
    });
  for (auto& th : pool) th.join();
}
}  // namespace emu
inline void __syncthreads() { emu::barrier->wait(0); }
