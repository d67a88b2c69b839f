// Element offsets for the CUDA kernels: OffsetCalculator<N> maps a row-major linear index over a shape to
// the element offsets of N operands, each with its own strides (any rank, any strides; 0 on broadcast
// axes). The host builds it once per launch, dropping size-1 axes and merging axes that every operand
// walks contiguously, so a contiguous tensor costs one division per element whatever its rank.
// Plain C++ outside nvcc, so the host-side planning is unit-tested without a GPU.
#pragma once
#include <array>
#include <cstdint>

#include "keel/core/error.h"
#include "keel/core/shape.h"

#ifdef __CUDACC__
#define KEEL_HOST_DEVICE __host__ __device__
#else
#define KEEL_HOST_DEVICE
#endif

namespace keel::cuda {

/// Most axes an operand may have after size-1 axes are dropped and mergeable axes merged.
inline constexpr int kMaxDims = 16;

template <int N>
struct Offsets {
  int64_t v[N];
};

/// Passed to kernels by value. Axes are stored innermost first: shape[0] is the fastest-varying axis.
template <int N>
struct OffsetCalculator {
  int nd = 0;
  int64_t shape[kMaxDims];
  int64_t stride[N][kMaxDims];

  /// Offsets (in elements) of each operand at row-major position `linear` of the shape.
  KEEL_HOST_DEVICE Offsets<N> get(int64_t linear) const {
    Offsets<N> o;
    for (int k = 0; k < N; ++k) o.v[k] = 0;
    for (int d = 0; d < nd; ++d) {
      const int64_t i = linear % shape[d];
      linear /= shape[d];
      for (int k = 0; k < N; ++k) o.v[k] += i * stride[k][d];
    }
    return o;
  }
};

/// Builds the calculator for `shape` with strides[k] the strides of operand k (each of shape.size()).
/// Axis d is merged into the current (inner) merged axis c when every operand steps over axis c
/// exactly once per step of d: strides[k][d] == stride[k][c] * shape[c].
template <int N>
OffsetCalculator<N> make_offset_calculator(const Shape& shape, const std::array<const Strides*, N>& strides) {
  OffsetCalculator<N> c;
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    if (shape[d] == 1) continue;
    bool merge = c.nd > 0;
    for (int k = 0; k < N && merge; ++k) merge = (*strides[k])[d] == c.stride[k][c.nd - 1] * c.shape[c.nd - 1];
    if (merge) {
      c.shape[c.nd - 1] *= shape[d];
      continue;
    }
    KEEL_CHECK(c.nd < kMaxDims, ShapeError, "CUDA kernels support up to ", kMaxDims, " non-mergeable axes, got shape ",
               shape_str(shape));
    c.shape[c.nd] = shape[d];
    for (int k = 0; k < N; ++k) c.stride[k][c.nd] = (*strides[k])[d];
    ++c.nd;
  }
  return c;  // nd == 0 (a single element): every offset is 0
}

}  // namespace keel::cuda
