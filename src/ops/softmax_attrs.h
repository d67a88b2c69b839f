// Attributes of Softmax and LogSoftmax (the axis, already normalised to [0, ndim)).
#pragma once
#include <cstdint>

namespace keel {

struct SoftmaxAttrs {
  int64_t axis = 0;
};

}  // namespace keel
