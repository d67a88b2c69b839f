// Reductions over any set of axes (empty `axes` = all axes), with keepdims, as keras.ops.
// Dtypes: sum/prod keep float and int32/int64 (bool and uint8 give int32); max/min keep the input dtype;
// mean/var/std/logsumexp of integers give float32. max/min of an empty axis raise ValueError.
//   Tensor m = ops::mean(x, {0}, /*keepdims=*/true);   // (N, C) -> (1, C)
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::ops {

using Axes = std::vector<int64_t>;

Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor min(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor prod(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
/// Population variance (ddof 0) as keras.ops.var.
Tensor var(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor std(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
/// log(sum(exp(x))) computed stably.
Tensor logsumexp(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
/// Index of the first maximum along `axis` (int64); no axis: over the flattened tensor.
Tensor argmax(const Tensor& x, std::optional<int64_t> axis = std::nullopt, bool keepdims = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> axis = std::nullopt, bool keepdims = false);

}  // namespace keel::ops
