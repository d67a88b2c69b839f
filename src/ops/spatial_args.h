// Argument helpers shared by the convolution and pooling glue: Keras lets strides, pool sizes and
// dilations be one value for every spatial axis or one per axis.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/shape.h"

namespace keel {

inline std::string vec_str(const std::vector<int64_t>& v) { return shape_str(Shape(v.begin(), v.end())); }

/// `v` expanded to n values (one value, or exactly n); every value must be positive.
inline std::vector<int64_t> per_axis(const std::vector<int64_t>& v, size_t n, const char* what, const char* op) {
  KEEL_CHECK(v.size() == 1 || v.size() == n, ValueError, op, ": ", what, " must have 1 or ", n, " values, got ",
             vec_str(v));
  for (int64_t s : v) KEEL_CHECK(s >= 1, ValueError, op, ": ", what, " must be positive, got ", vec_str(v));
  return v.size() == n ? v : std::vector<int64_t>(n, v[0]);
}

}  // namespace keel
