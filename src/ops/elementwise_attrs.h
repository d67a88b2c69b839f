// Attribute structs of the elementwise ops that take parameters (read by kernels and gradient rules).
#pragma once

namespace keel {

struct LeakyReluAttrs {
  double negative_slope = 0.2;  // y = x > 0 ? x : negative_slope * x
};

struct EluAttrs {
  double alpha = 1.0;  // y = x > 0 ? x : alpha * (exp(x) - 1)
};

struct GeluAttrs {
  bool approximate = true;  // tanh form when true, exact erf form when false
};

struct ClipAttrs {
  double lo = 0.0;
  double hi = 0.0;
};

}  // namespace keel
