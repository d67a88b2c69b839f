// keras.layers.Bidirectional: a recurrent layer run forwards and backwards, the two outputs merged.
#include <nlohmann/json.hpp>
#include <optional>

#include "keel/layers/recurrent.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "layers/config_util.h"
#include "layers/rnn_util.h"

namespace keel::layers {

namespace {

std::string without_prefix(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0 ? s.substr(prefix.size()) : s;
}

std::shared_ptr<RNNImpl> as_rnn(const LayerHandle& layer, const char* what) {
  KEEL_CHECK(static_cast<bool>(layer), ValueError, "Bidirectional: `", what, "` is an empty layer handle");
  auto rnn = std::dynamic_pointer_cast<RNNImpl>(layer.ptr());
  KEEL_CHECK(rnn != nullptr, ValueError, "Bidirectional: `", what,
             "` must be a recurrent layer (SimpleRNN, LSTM or GRU). Received: ", layer->class_name(), " \"",
             layer->name(), "\"");
  return rnn;
}

// A fresh copy of `layer` rebuilt from its config, as Keras does, so no weights are shared.
std::shared_ptr<RNNImpl> rnn_copy(const LayerHandle& layer, const std::string& name, std::optional<bool> go_backwards) {
  nlohmann::json serialized = serialize(layer);
  serialized["config"]["name"] = name;
  if (go_backwards) serialized["config"]["go_backwards"] = *go_backwards;
  return as_rnn(deserialize(serialized), "layer");
}

}  // namespace

BidirectionalImpl::BidirectionalImpl(const LayerHandle& layer, BidirectionalOptions options)
    : Layer("Bidirectional", options.name), merge_mode_(options.merge_mode) {
  set_supports_masking(true);
  as_rnn(layer, "layer");
  const std::string mode = merge_mode_.value_or("None");
  KEEL_CHECK(!merge_mode_ || mode == "concat" || mode == "sum" || mode == "mul" || mode == "ave", ValueError,
             "Invalid merge mode. Received: ", mode,
             ". Merge mode should be one of {\"sum\", \"mul\", \"ave\", \"concat\", None}");
  forward_ = rnn_copy(layer, "forward_" + without_prefix(layer->name(), "forward_"), std::nullopt);
  if (options.backward_layer) {
    backward_ = as_rnn(options.backward_layer, "backward_layer");
  } else {
    backward_ = rnn_copy(layer, "backward_" + without_prefix(layer->name(), "backward_"), true);
  }
  KEEL_CHECK(forward_->go_backwards() != backward_->go_backwards(), ValueError,
             "Forward layer and backward layer should have different `go_backwards` value. Received: "
             "forward_layer.go_backwards=",
             forward_->go_backwards(), ", backward_layer.go_backwards=", backward_->go_backwards());
  auto check_same = [&](const char* attr, bool f, bool b) {
    KEEL_CHECK(f == b, ValueError,
               "Forward layer and backward layer are expected to have the same value for attribute \"", attr,
               "\", got \"", f, "\" for forward layer and \"", b, "\" for backward layer");
  };
  check_same("stateful", forward_->loop_options().stateful, backward_->loop_options().stateful);
  check_same("return_sequences", forward_->return_sequences(), backward_->return_sequences());
  check_same("return_state", forward_->return_state(), backward_->return_state());
  // Keras forces both halves to zero their masked outputs when they return sequences.
  forward_->set_zero_output_for_mask(forward_->return_sequences());
  backward_->set_zero_output_for_mask(backward_->return_sequences());
  input_spec_ = {detail::rank_spec(3)};
  track(forward_, "forward_layer");
  track(backward_, "backward_layer");
}

void BidirectionalImpl::build(const std::vector<Shape>& input_shapes) {
  if (!forward_->built()) forward_->build(input_shapes);
  if (!backward_->built()) backward_->build(input_shapes);
  input_spec_ = forward_->input_spec();
  set_variable_paths("");
  Layer::build(input_shapes);
}

std::vector<Tensor> BidirectionalImpl::call(const std::vector<Tensor>& inputs, const CallContext& ctx) {
  std::vector<Tensor> y = forward_->call(inputs, ctx);
  std::vector<Tensor> y_rev = backward_->call(inputs, ctx);
  Tensor fwd = y[0], bwd = y_rev[0];
  // The backward layer's sequence is in processing order; flip it back to time order.
  if (forward_->return_sequences()) bwd = ops::slice_axis(bwd, 1, -1, -bwd.shape()[1] - 1, -1);
  std::vector<Tensor> out;
  if (!merge_mode_) {
    out = {fwd, bwd};
  } else if (*merge_mode_ == "concat") {
    out = {ops::concatenate({fwd, bwd}, -1)};
  } else if (*merge_mode_ == "sum") {
    out = {fwd + bwd};
  } else if (*merge_mode_ == "ave") {
    out = {(fwd + bwd) / 2.0};
  } else {
    out = {fwd * bwd};
  }
  if (forward_->return_state()) {
    out.insert(out.end(), y.begin() + 1, y.end());
    out.insert(out.end(), y_rev.begin() + 1, y_rev.end());
  }
  return out;
}

std::vector<Shape> BidirectionalImpl::compute_output_shape(const std::vector<Shape>& input_shapes) const {
  std::vector<Shape> f = forward_->compute_output_shape(input_shapes);
  Shape output = f[0];
  std::vector<Shape> out;
  if (!merge_mode_) {
    out = {output, output};
  } else {
    if (*merge_mode_ == "concat") output.back() *= 2;
    out = {output};
  }
  if (forward_->return_state())
    for (int direction = 0; direction < 2; ++direction) out.insert(out.end(), f.begin() + 1, f.end());
  return out;
}

void BidirectionalImpl::reset_states() {
  forward_->reset_states();
  backward_->reset_states();
}

std::vector<Tensor> BidirectionalImpl::compute_mask(const std::vector<Tensor>& inputs,
                                                    const std::vector<Tensor>& masks) const {
  const Tensor mask = forward_->return_sequences() && !masks.empty() ? masks[0] : Tensor();
  std::vector<Tensor> out(merge_mode_ ? 1 : 2, mask);
  out.resize(compute_output_shape({inputs[0].shape()}).size());  // the states: none
  return out;
}

nlohmann::json BidirectionalImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["merge_mode"] = merge_mode_ ? nlohmann::json(*merge_mode_) : nlohmann::json(nullptr);
  c["layer"] = serialize(LayerHandle(forward_));
  c["backward_layer"] = serialize(LayerHandle(backward_));
  return c;
}

Bidirectional::Bidirectional(const LayerHandle& layer, BidirectionalOptions options)
    : LayerHolder(std::make_shared<BidirectionalImpl>(layer, std::move(options))) {}

// --- registration ---

KEEL_REGISTER_LAYER("Bidirectional", [](const nlohmann::json& c) -> LayerHandle {
  BidirectionalOptions options{.name = detail::name_from(c)};
  if (c.contains("merge_mode"))
    options.merge_mode =
        c.at("merge_mode").is_null() ? std::nullopt : std::optional<std::string>(c.at("merge_mode").get<std::string>());
  if (c.contains("backward_layer") && !c.at("backward_layer").is_null())
    options.backward_layer = deserialize(c.at("backward_layer"));
  return detail::with_base_config(Bidirectional(deserialize(c.at("layer")), std::move(options)), c);
});

}  // namespace keel::layers
