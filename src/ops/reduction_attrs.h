// Attributes of the reduction ops (Sum, Max, Min, Prod, ArgMax, ArgMin), shared by the glue, the kernels
// and the gradient rules.
#pragma once
#include <cstdint>
#include <vector>

namespace keel {

/// Sum/Max/Min/Prod: `axes` are normalised, sorted and unique (all axes when the caller passed none).
struct ReduceAttrs {
  std::vector<int64_t> axes;
  bool keepdims = false;
};

/// ArgMax/ArgMin along one normalised axis. The glue flattens the input when no axis is given, so the
/// kernel always sees one axis; the output holds outer × inner int64 values in row-major order.
struct ArgReduceAttrs {
  int64_t axis = 0;
};

}  // namespace keel
