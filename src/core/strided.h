// for_each_strided: visits every element of a shape in row-major order, giving the element offset of
// each of N operands with their own strides (0 on broadcast axes). The innermost axis is a plain loop.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "keel/core/shape.h"

namespace keel::detail {

template <size_t N, class F>
void for_each_strided(const Shape& shape, const std::array<const Strides*, N>& strides,
                      const std::array<int64_t, N>& base, F&& fn) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  if (shape_numel(shape) == 0) return;
  if (nd == 0) {
    fn(base);
    return;
  }
  std::vector<int64_t> idx(nd, 0);
  std::array<int64_t, N> off = base;
  const int64_t inner = shape[nd - 1];
  std::array<int64_t, N> inner_stride;
  for (size_t k = 0; k < N; ++k) inner_stride[k] = (*strides[k])[nd - 1];
  while (true) {
    std::array<int64_t, N> o = off;
    for (int64_t i = 0; i < inner; ++i) {
      fn(o);
      for (size_t k = 0; k < N; ++k) o[k] += inner_stride[k];
    }
    int64_t d = nd - 2;
    for (; d >= 0; --d) {
      for (size_t k = 0; k < N; ++k) off[k] += (*strides[k])[d];
      if (++idx[d] < shape[d]) break;
      for (size_t k = 0; k < N; ++k) off[k] -= (*strides[k])[d] * shape[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

}  // namespace keel::detail
