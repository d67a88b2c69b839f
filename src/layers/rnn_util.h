// Helpers shared by the recurrent cells (rnn_cells.cpp), the RNN loop (rnn.cpp) and Bidirectional
// (bidirectional.cpp).
#pragma once
#include <cstdint>
#include <map>
#include <utility>

#include "keel/layers/layer.h"
#include "keel/ops/nn.h"

namespace keel::layers::detail {

// An InputSpec of fixed rank whose listed axes have fixed extents.
inline InputSpec rank_spec(int64_t ndim, std::map<int64_t, int64_t> axes = {}) {
  InputSpec spec;
  spec.ndim = ndim;
  spec.axes = std::move(axes);
  return spec;
}

// (B, F) inverted-dropout mask of ones, drawn once per sequence as Keras's DropoutRNNCell does.
inline Tensor dropout_mask(int64_t batch, int64_t features, double rate) {
  return ops::dropout(ones({batch, features}), rate);
}

}  // namespace keel::layers::detail
