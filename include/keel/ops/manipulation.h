// Shape and indexing ops (keras.ops names). reshape, transpose, broadcast_to, squeeze, expand_dims and
// slice return views sharing storage when the strides allow; the rest copy.
//   Tensor t = ops::transpose(x, {0, 2, 1});   // a view
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::ops {

/// One -1 entry is inferred. A view when x's strides allow, else a copy.
Tensor reshape(const Tensor& x, const Shape& shape);
/// Permutes axes; empty `axes` reverses them.
Tensor transpose(const Tensor& x, const std::vector<int64_t>& axes = {});
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// Removes the given size-1 axes (all size-1 axes when empty).
Tensor squeeze(const Tensor& x, const std::vector<int64_t>& axes = {});
Tensor expand_dims(const Tensor& x, int64_t axis);
/// keras.ops.slice: the block starting at `start_indices` with extents `shape` (-1: to the end; a view).
Tensor slice(const Tensor& x, const std::vector<int64_t>& start_indices, const Shape& shape);
/// x[..., start:stop:step, ...] on one axis, NumPy rules for negative and out-of-range bounds (a view;
/// a contiguous copy when step < 0, so no tensor ever has negative strides).
Tensor slice_axis(const Tensor& x, int64_t axis, int64_t start, int64_t stop, int64_t step = 1);
/// Constant padding: pad_width[i] = {before, after} for axis i.
Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& pad_width, double constant_value = 0.0);
Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis = 0);
/// Splits into `sections` equal parts along axis (ValueError if it does not divide).
std::vector<Tensor> split(const Tensor& x, int64_t sections, int64_t axis = 0);
/// Splits at the given indices along axis (numpy.split with a list).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& indices, int64_t axis = 0);
Tensor stack(const std::vector<Tensor>& xs, int64_t axis = 0);
Tensor tile(const Tensor& x, const std::vector<int64_t>& repeats);
/// Gathers along `axis` with integer indices of any shape (embedding lookup: take(table, ids, 0)).
/// Out-of-range indices raise IndexError; negative indices count from the end.
Tensor take(const Tensor& x, const Tensor& indices, int64_t axis = 0);
/// one_hot(indices, num_classes): a new last axis (or `axis`) of 0/1 values; out-of-range gives all zeros.
Tensor one_hot(const Tensor& indices, int64_t num_classes, int64_t axis = -1, DType dtype = DType::f32);

}  // namespace keel::ops
