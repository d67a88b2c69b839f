// KEEL_HOST_DEVICE marks code that both the CPU loops and the CUDA kernels compile: __host__ __device__
// under nvcc, nothing under a plain C++ compiler (the CPU backend never sees CUDA).
#pragma once

#if defined(__CUDACC__)
#define KEEL_HOST_DEVICE __host__ __device__
#else
#define KEEL_HOST_DEVICE
#endif
