// Helpers shared by the recurrent cells (rnn_cells.cpp), the RNN loop (rnn.cpp) and Bidirectional
// (bidirectional.cpp).
#pragma once
#include <cstdint>
#include <map>
#include <utility>

#include "keel/layers/layer.h"
#include "keel/ops/nn.h"
#include "layers/config_util.h"

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

// The weight penalties (kernel_, recurrent_, bias_ regularizer and constraint) from a layer's options into its
// cell's, or from a config into options.
template <class To, class From>
To with_penalties(To to, const From& from) {
  to.kernel_regularizer = from.kernel_regularizer;
  to.recurrent_regularizer = from.recurrent_regularizer;
  to.bias_regularizer = from.bias_regularizer;
  to.kernel_constraint = from.kernel_constraint;
  to.recurrent_constraint = from.recurrent_constraint;
  to.bias_constraint = from.bias_constraint;
  return to;
}
template <class Options>
Options with_penalties_from(Options o, const nlohmann::json& c) {
  o.kernel_regularizer = regularizer_from(c, "kernel_regularizer");
  o.recurrent_regularizer = regularizer_from(c, "recurrent_regularizer");
  o.bias_regularizer = regularizer_from(c, "bias_regularizer");
  o.kernel_constraint = constraint_from(c, "kernel_constraint");
  o.recurrent_constraint = constraint_from(c, "recurrent_constraint");
  o.bias_constraint = constraint_from(c, "bias_constraint");
  return o;
}

}  // namespace keel::layers::detail
