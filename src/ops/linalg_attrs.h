// Attributes of MatMul and Dense.
//   MatMul(a (..., n, k), b (..., k, m)) -> (batch..., n, m): both operands at least 2-D (the glue
//   promotes 1-D operands with views), batch dims broadcast (the output holds the broadcast batch).
//   Dense(x (M, in), kernel (in, units)[, bias (units)]) -> (M, units): the glue flattens x's leading dims.
#pragma once

namespace keel {

struct DenseAttrs {
  bool has_bias = false;  // a third input, the bias, is present
};

}  // namespace keel
