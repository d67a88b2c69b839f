// Attributes of SoftmaxCrossEntropy (the class axis, normalised). SigmoidCrossEntropy and
// SparseSoftmaxCrossEntropy (class axis last) have none.
#pragma once
#include <cstdint>

namespace keel {

struct SoftmaxCrossEntropyAttrs {
  int64_t axis = 0;
};

}  // namespace keel
