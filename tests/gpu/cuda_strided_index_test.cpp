// OffsetCalculator (src/backends/cuda/strided_index.cuh), the indexing every CUDA elementwise and
// reduction kernel uses, checked on the host against a naive row-major walk. Needs no GPU.
#include <gtest/gtest.h>

#include <random>

#include "backends/cuda/strided_index.cuh"

namespace keel::cuda {
namespace {

// Offset of row-major position `linear` in `shape` for an operand with `strides`, one axis at a time.
int64_t naive_offset(const Shape& shape, const Strides& strides, int64_t linear) {
  int64_t off = 0;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    off += (linear % shape[d]) * strides[d];
    linear /= shape[d];
  }
  return off;
}

template <int N>
void expect_matches_naive(const Shape& shape, const std::array<Strides, N>& strides) {
  std::array<const Strides*, N> sp;
  for (int k = 0; k < N; ++k) sp[k] = &strides[k];
  const OffsetCalculator<N> calc = make_offset_calculator<N>(shape, sp);
  for (int64_t i = 0; i < shape_numel(shape); ++i) {
    const Offsets<N> o = calc.get(i);
    for (int k = 0; k < N; ++k)
      ASSERT_EQ(o.v[k], naive_offset(shape, strides[k], i))
          << "shape " << shape_str(shape) << " operand " << k << " position " << i;
  }
}

TEST(CudaOffsetCalculator, ContiguousShapesMergeToOneAxis) {
  const Shape shape{2, 3, 4, 5};
  const Strides st = contiguous_strides(shape);
  const OffsetCalculator<1> calc = make_offset_calculator<1>(shape, {&st});
  EXPECT_EQ(calc.nd, 1);
  EXPECT_EQ(calc.shape[0], 120);
  expect_matches_naive<1>(shape, {st});
}

TEST(CudaOffsetCalculator, SingleElementHasNoAxes) {
  const Shape shape{1, 1, 1};
  const Strides st{7, 7, 7};
  const OffsetCalculator<1> calc = make_offset_calculator<1>(shape, {&st});
  EXPECT_EQ(calc.nd, 0);
  EXPECT_EQ(calc.get(0).v[0], 0);
  const Shape scalar{};
  const Strides none{};
  EXPECT_EQ(make_offset_calculator<1>(scalar, {&none}).get(0).v[0], 0);
}

TEST(CudaOffsetCalculator, TransposeAndBroadcastKeepTheirAxes) {
  // out (2, 3, 4) contiguous; a is a (4, 3, 2) tensor transposed; b is a (3, 1) bias broadcast.
  const Shape shape{2, 3, 4};
  const std::array<Strides, 3> st{contiguous_strides(shape), Strides{1, 2, 6}, Strides{0, 1, 0}};
  const OffsetCalculator<3> calc = make_offset_calculator<3>(shape, {&st[0], &st[1], &st[2]});
  EXPECT_EQ(calc.nd, 3);
  expect_matches_naive<3>(shape, st);
  // Position (1, 2, 3) = 23: out 23, a 1 + 4 + 18 = 23, b 2.
  const Offsets<3> o = calc.get(23);
  EXPECT_EQ(o.v[0], 23);
  EXPECT_EQ(o.v[1], 23);
  EXPECT_EQ(o.v[2], 2);
}

TEST(CudaOffsetCalculator, PartialMergeOfASlicedRow) {
  // (4, 3, 5) view of rows 0..3 of a (4, 3, 8) tensor: the last axis is not contiguous with the middle one,
  // but the outer two merge.
  const Shape shape{4, 3, 5};
  const Strides st{24, 8, 1};
  const OffsetCalculator<1> calc = make_offset_calculator<1>(shape, {&st});
  EXPECT_EQ(calc.nd, 2);
  expect_matches_naive<1>(shape, {st});
}

TEST(CudaOffsetCalculator, RandomStridesMatchNaiveWalk) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    const int rank = static_cast<int>(rng() % 6);
    Shape shape(rank);
    for (int64_t& d : shape) d = static_cast<int64_t>(rng() % 4) + 1;
    std::array<Strides, 3> st;
    for (int k = 0; k < 3; ++k) {
      // Contiguous, broadcast (some strides 0), permuted or stepped: the shapes views produce.
      st[k] = contiguous_strides(shape);
      const int kind = static_cast<int>(rng() % 4);
      for (int d = 0; d < rank; ++d) {
        if (kind == 1 && rng() % 2) st[k][d] = 0;
        if (kind == 3) st[k][d] *= 2;
      }
      if (kind == 2 && rank >= 2) std::swap(st[k][0], st[k][rank - 1]);
    }
    expect_matches_naive<3>(shape, st);
  }
}

TEST(CudaOffsetCalculator, ManyAxesWorkWhenTheyMerge) {
  const Shape shape(20, 2);  // 20 contiguous axes merge into one
  const Strides st = contiguous_strides(shape);
  EXPECT_EQ(make_offset_calculator<1>(shape, {&st}).nd, 1);
  Strides every_other = st;  // strides 4^(19-d): no axis merges with its neighbour, so 20 > kMaxDims remain
  for (size_t d = 0; d < every_other.size(); ++d) every_other[d] = int64_t{1} << (2 * (19 - d));
  EXPECT_THROW(make_offset_calculator<1>(shape, {&every_other}), ShapeError);
}

}  // namespace
}  // namespace keel::cuda
