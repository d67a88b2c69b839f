#include "keel/layers/recurrent.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "layers/config_util.h"

namespace keel::layers {
namespace {

// An InputSpec of fixed rank whose listed axes have fixed extents.
InputSpec rank_spec(int64_t ndim, std::map<int64_t, int64_t> axes = {}) {
  InputSpec spec;
  spec.ndim = ndim;
  spec.axes = std::move(axes);
  return spec;
}

// Keras clamps the rates silently; only recurrent dropout is refused, as it is not implemented.
double clamp_rate(double rate) { return std::clamp(rate, 0.0, 1.0); }

void check_cell_args(const char* cls, int64_t units, double recurrent_dropout) {
  KEEL_CHECK(units > 0, ValueError, cls,
             ": received an invalid value for argument `units`, expected a positive integer, got ", units, ".");
  if (recurrent_dropout > 0.0)
    throw UnimplementedError(std::string(cls) + ": recurrent_dropout=" + std::to_string(recurrent_dropout) +
                             " is not implemented in Keel; only recurrent_dropout=0 is supported");
}

// (B, F) inverted-dropout mask of ones, drawn once per sequence as Keras's DropoutRNNCell does.
Tensor dropout_mask(int64_t batch, int64_t features, double rate) {
  return ops::dropout(ones({batch, features}), rate);
}

// Keras's unit_forget_bias: [bias_init(u), ones(u), bias_init(2u)] whatever bias_initializer is.
Initializer unit_forget_bias_initializer(const Initializer& base, int64_t units) {
  return Initializer("UnitForgetBias", nlohmann::json::object(), [base, units](const Shape&, DType dtype) {
    return ops::concatenate({base({units}, dtype), ones({units}, dtype), base({2 * units}, dtype)}, 0);
  });
}

// Column block `index` of `count` equal blocks along the last axis (a view).
Tensor gate(const Tensor& x, int64_t index, int64_t width) {
  return ops::slice_axis(x, -1, index * width, (index + 1) * width);
}

// One row of a (2, n) bias as an (n) vector.
Tensor bias_row(const Tensor& bias, int64_t row) {
  return ops::reshape(ops::slice_axis(bias, 0, row, row + 1), {bias.shape()[1]});
}

}  // namespace

// --- RNNCellImpl ---

RNNCellImpl::RNNCellImpl(std::string class_name, int64_t units, size_t state_count, double dropout,
                         double recurrent_dropout, std::string name)
    : Layer(std::move(class_name), std::move(name)),
      units_(units),
      state_count_(state_count),
      dropout_(clamp_rate(dropout)),
      recurrent_dropout_(clamp_rate(recurrent_dropout)) {
  expected_inputs_ = 1 + state_count;
}

void RNNCellImpl::build(const std::vector<Shape>& input_shapes) {
  const Shape& x = input_shapes.at(0);
  KEEL_CHECK(x.size() == 2, ShapeError, "Cell \"", name(), "\" expects a (batch, features) input, received ",
             partial_shape_str(x));
  KEEL_CHECK(x.back() != kUnknownDim, ShapeError, "Cell \"", name(), "\": the feature dimension of ",
             partial_shape_str(x), " must be known to build it");
  build_cell(x.back());
  input_spec_ = {rank_spec(2, {{-1, x.back()}})};
  for (size_t i = 0; i < state_count_; ++i) input_spec_.push_back(rank_spec(2, {{-1, units_}}));
  Layer::build(input_shapes);
}

std::vector<Tensor> RNNCellImpl::call(const std::vector<Tensor>& inputs, const CallContext& ctx) {
  Tensor x = inputs[0];
  if (ctx.training && dropout_ > 0.0 && dropout_ < 1.0) x = x * dropout_mask(x.shape()[0], x.shape()[1], dropout_);
  return step(project_inputs(x), std::vector<Tensor>(inputs.begin() + 1, inputs.end()));
}

std::vector<Shape> RNNCellImpl::compute_output_shape(const std::vector<Shape>& input_shapes) const {
  return std::vector<Shape>(state_count_, Shape{input_shapes.at(0).at(0), units_});
}

nlohmann::json RNNCellImpl::cell_config() const {
  nlohmann::json c = Layer::get_config();
  c["units"] = units_;
  c["dropout"] = dropout_;
  c["recurrent_dropout"] = recurrent_dropout_;
  c["seed"] = nullptr;
  c["kernel_regularizer"] = nullptr;
  c["recurrent_regularizer"] = nullptr;
  c["bias_regularizer"] = nullptr;
  c["kernel_constraint"] = nullptr;
  c["recurrent_constraint"] = nullptr;
  c["bias_constraint"] = nullptr;
  return c;
}

// --- SimpleRNNCell ---

SimpleRNNCellImpl::SimpleRNNCellImpl(int64_t units, SimpleRNNCellOptions options)
    : RNNCellImpl("SimpleRNNCell", units, 1, options.dropout, options.recurrent_dropout, options.name),
      options_(std::move(options)) {
  check_cell_args("SimpleRNNCell", units, options_.recurrent_dropout);
}

void SimpleRNNCellImpl::build_cell(int64_t input_dim) {
  kernel_ = add_weight("kernel", {input_dim, units()}, options_.kernel_initializer);
  recurrent_kernel_ = add_weight("recurrent_kernel", {units(), units()}, options_.recurrent_initializer);
  if (options_.use_bias) bias_ = add_weight("bias", {units()}, options_.bias_initializer);
}

Tensor SimpleRNNCellImpl::project_inputs(const Tensor& x) const {
  return ops::dense(x, kernel_.value(), options_.use_bias ? bias_.value() : Tensor());
}

std::vector<Tensor> SimpleRNNCellImpl::step(const Tensor& projected, const std::vector<Tensor>& states) const {
  return {options_.activation(projected + ops::matmul(states[0], recurrent_kernel_.value()))};
}

nlohmann::json SimpleRNNCellImpl::get_config() const {
  nlohmann::json c = cell_config();
  c["activation"] = options_.activation.name();
  c["use_bias"] = options_.use_bias;
  c["kernel_initializer"] = options_.kernel_initializer.get_config();
  c["recurrent_initializer"] = options_.recurrent_initializer.get_config();
  c["bias_initializer"] = options_.bias_initializer.get_config();
  return c;
}

// --- LSTMCell ---

LSTMCellImpl::LSTMCellImpl(int64_t units, LSTMCellOptions options)
    : RNNCellImpl("LSTMCell", units, 2, options.dropout, options.recurrent_dropout, options.name),
      options_(std::move(options)) {
  check_cell_args("LSTMCell", units, options_.recurrent_dropout);
}

void LSTMCellImpl::build_cell(int64_t input_dim) {
  const int64_t u = units();
  kernel_ = add_weight("kernel", {input_dim, 4 * u}, options_.kernel_initializer);
  recurrent_kernel_ = add_weight("recurrent_kernel", {u, 4 * u}, options_.recurrent_initializer);
  if (options_.use_bias)
    bias_ = add_weight("bias", {4 * u},
                       options_.unit_forget_bias ? unit_forget_bias_initializer(options_.bias_initializer, u)
                                                 : options_.bias_initializer);
}

Tensor LSTMCellImpl::project_inputs(const Tensor& x) const {
  return ops::dense(x, kernel_.value(), options_.use_bias ? bias_.value() : Tensor());
}

std::vector<Tensor> LSTMCellImpl::step(const Tensor& projected, const std::vector<Tensor>& states) const {
  const int64_t u = units();
  const Tensor z = projected + ops::matmul(states[0], recurrent_kernel_.value());
  const Tensor i = options_.recurrent_activation(gate(z, 0, u));
  const Tensor f = options_.recurrent_activation(gate(z, 1, u));
  const Tensor g = options_.activation(gate(z, 2, u));
  const Tensor o = options_.recurrent_activation(gate(z, 3, u));
  Tensor c = f * states[1] + i * g;
  Tensor h = o * options_.activation(c);
  return {h, c};
}

nlohmann::json LSTMCellImpl::get_config() const {
  nlohmann::json c = cell_config();
  c["activation"] = options_.activation.name();
  c["recurrent_activation"] = options_.recurrent_activation.name();
  c["use_bias"] = options_.use_bias;
  c["unit_forget_bias"] = options_.unit_forget_bias;
  c["kernel_initializer"] = options_.kernel_initializer.get_config();
  c["recurrent_initializer"] = options_.recurrent_initializer.get_config();
  c["bias_initializer"] = options_.bias_initializer.get_config();
  return c;
}

// --- GRUCell ---

GRUCellImpl::GRUCellImpl(int64_t units, GRUCellOptions options)
    : RNNCellImpl("GRUCell", units, 1, options.dropout, options.recurrent_dropout, options.name),
      options_(std::move(options)) {
  check_cell_args("GRUCell", units, options_.recurrent_dropout);
}

void GRUCellImpl::build_cell(int64_t input_dim) {
  const int64_t u = units();
  kernel_ = add_weight("kernel", {input_dim, 3 * u}, options_.kernel_initializer);
  recurrent_kernel_ = add_weight("recurrent_kernel", {u, 3 * u}, options_.recurrent_initializer);
  if (options_.use_bias)
    bias_ = add_weight("bias", options_.reset_after ? Shape{2, 3 * u} : Shape{3 * u}, options_.bias_initializer);
}

Tensor GRUCellImpl::project_inputs(const Tensor& x) const {
  Tensor input_bias;
  if (options_.use_bias) input_bias = options_.reset_after ? bias_row(bias_.value(), 0) : bias_.value();
  return ops::dense(x, kernel_.value(), input_bias);
}

std::vector<Tensor> GRUCellImpl::step(const Tensor& projected, const std::vector<Tensor>& states) const {
  const int64_t u = units();
  const Tensor& h_prev = states[0];
  const Tensor& rk = recurrent_kernel_.value();
  Tensor z, r, candidate;
  if (options_.reset_after) {
    // Reset gate applied to (h·U_h + b^h_h), after the matmul.
    Tensor inner = ops::matmul(h_prev, rk);
    if (options_.use_bias) inner = inner + bias_row(bias_.value(), 1);
    z = options_.recurrent_activation(gate(projected, 0, u) + gate(inner, 0, u));
    r = options_.recurrent_activation(gate(projected, 1, u) + gate(inner, 1, u));
    candidate = options_.activation(gate(projected, 2, u) + r * gate(inner, 2, u));
  } else {
    // Reset gate applied to h before its matmul with U_h.
    Tensor inner = ops::matmul(h_prev, ops::slice_axis(rk, -1, 0, 2 * u));
    z = options_.recurrent_activation(gate(projected, 0, u) + gate(inner, 0, u));
    r = options_.recurrent_activation(gate(projected, 1, u) + gate(inner, 1, u));
    candidate = options_.activation(gate(projected, 2, u) + ops::matmul(r * h_prev, gate(rk, 2, u)));
  }
  return {z * h_prev + (1.0 - z) * candidate};
}

nlohmann::json GRUCellImpl::get_config() const {
  nlohmann::json c = cell_config();
  c["activation"] = options_.activation.name();
  c["recurrent_activation"] = options_.recurrent_activation.name();
  c["use_bias"] = options_.use_bias;
  c["reset_after"] = options_.reset_after;
  c["kernel_initializer"] = options_.kernel_initializer.get_config();
  c["recurrent_initializer"] = options_.recurrent_initializer.get_config();
  c["bias_initializer"] = options_.bias_initializer.get_config();
  return c;
}

SimpleRNNCell::SimpleRNNCell(int64_t units, SimpleRNNCellOptions options)
    : LayerHolder(std::make_shared<SimpleRNNCellImpl>(units, std::move(options))) {}
LSTMCell::LSTMCell(int64_t units, LSTMCellOptions options)
    : LayerHolder(std::make_shared<LSTMCellImpl>(units, std::move(options))) {}
GRUCell::GRUCell(int64_t units, GRUCellOptions options)
    : LayerHolder(std::make_shared<GRUCellImpl>(units, std::move(options))) {}

// --- RNNImpl ---

RNNImpl::RNNImpl(std::string class_name, std::shared_ptr<RNNCellImpl> cell, RNNLoopOptions loop, std::string name)
    : Layer(std::move(class_name), std::move(name)), cell_(std::move(cell)), loop_(loop) {
  if (loop_.stateful)
    throw UnimplementedError(this->class_name() + " \"" + this->name() +
                             "\": stateful=true is not implemented in Keel; only stateful=false is supported");
  input_spec_ = {rank_spec(3)};
  track(cell_, "cell");
}

void RNNImpl::build(const std::vector<Shape>& input_shapes) {
  const Shape& s = input_shapes.at(0);
  KEEL_CHECK(s.size() == 3, ShapeError, "Layer \"", name(),
             "\" expects a (batch, timesteps, features) input, received ", partial_shape_str(s));
  KEEL_CHECK(s[2] != kUnknownDim, ShapeError, "Layer \"", name(), "\": the feature dimension of the input shape ",
             partial_shape_str(s), " must be known to build it");
  if (!cell_->built()) {
    std::vector<Shape> cell_shapes{{s[0], s[2]}};
    for (size_t i = 0; i < cell_->state_count(); ++i) cell_shapes.push_back({s[0], cell_->units()});
    cell_->build(cell_shapes);
  }
  input_spec_ = {rank_spec(3, {{-1, s[2]}})};
  set_variable_paths("");  // "lstm/lstm_cell/kernel", as Keras names the cell's variables
  Layer::build(input_shapes);
}

std::vector<Tensor> RNNImpl::call(const std::vector<Tensor>& inputs, const CallContext& ctx) {
  Tensor x = inputs[0];
  const int64_t batch = x.shape()[0], steps = x.shape()[1], features = x.shape()[2];
  KEEL_CHECK(steps > 0, ValueError, "Layer \"", name(),
             "\" received an input with no time steps: ", shape_str(x.shape()));
  const double rate = cell_->dropout();
  if (ctx.training && rate > 0.0 && rate < 1.0)
    x = x * ops::expand_dims(dropout_mask(batch, features, rate), 1);  // one mask for every step

  // The input projection of every step at once; only the recurrent matmul stays inside the loop.
  const Tensor projected = cell_->project_inputs(x);
  const int64_t width = projected.shape()[2];
  std::vector<Tensor> states(cell_->state_count(), zeros({batch, cell_->units()}));
  std::vector<Tensor> outputs;
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t t = loop_.go_backwards ? steps - 1 - k : k;
    const Tensor xt = ops::reshape(ops::slice_axis(projected, 1, t, t + 1), {batch, width});
    states = cell_->step(xt, states);
    if (loop_.return_sequences) outputs.push_back(states[0]);
  }
  std::vector<Tensor> result{loop_.return_sequences ? ops::stack(outputs, 1) : states[0]};
  if (loop_.return_state) result.insert(result.end(), states.begin(), states.end());
  return result;
}

std::vector<Shape> RNNImpl::compute_output_shape(const std::vector<Shape>& input_shapes) const {
  const Shape& s = input_shapes.at(0);
  KEEL_CHECK(s.size() == 3, ShapeError, "Layer \"", name(),
             "\" expects a (batch, timesteps, features) input, received ", partial_shape_str(s));
  const int64_t u = cell_->units();
  std::vector<Shape> out{loop_.return_sequences ? Shape{s[0], s[1], u} : Shape{s[0], u}};
  if (loop_.return_state)
    for (size_t i = 0; i < cell_->state_count(); ++i) out.push_back({s[0], u});
  return out;
}

nlohmann::json RNNImpl::get_config() const {
  nlohmann::json c = cell_->get_config();
  const nlohmann::json base = Layer::get_config();
  for (const auto& [key, value] : base.items()) c[key] = value;  // this layer's name, not the cell's
  c["return_sequences"] = loop_.return_sequences;
  c["return_state"] = loop_.return_state;
  c["go_backwards"] = loop_.go_backwards;
  c["stateful"] = loop_.stateful;
  c["unroll"] = loop_.unroll;
  c["zero_output_for_mask"] = false;
  c["activity_regularizer"] = nullptr;
  return c;
}

// --- SimpleRNN / LSTM / GRU ---

SimpleRNNImpl::SimpleRNNImpl(int64_t units, SimpleRNNOptions o)
    : RNNImpl("SimpleRNN",
              std::make_shared<SimpleRNNCellImpl>(units,
                                                  SimpleRNNCellOptions{.activation = o.activation,
                                                                       .use_bias = o.use_bias,
                                                                       .kernel_initializer = o.kernel_initializer,
                                                                       .recurrent_initializer = o.recurrent_initializer,
                                                                       .bias_initializer = o.bias_initializer,
                                                                       .dropout = o.dropout,
                                                                       .recurrent_dropout = o.recurrent_dropout,
                                                                       .name = "simple_rnn_cell"}),
              RNNLoopOptions{o.return_sequences, o.return_state, o.go_backwards, o.stateful, o.unroll}, o.name) {}

LSTMImpl::LSTMImpl(int64_t units, LSTMOptions o)
    : RNNImpl("LSTM",
              std::make_shared<LSTMCellImpl>(units, LSTMCellOptions{.activation = o.activation,
                                                                    .recurrent_activation = o.recurrent_activation,
                                                                    .use_bias = o.use_bias,
                                                                    .kernel_initializer = o.kernel_initializer,
                                                                    .recurrent_initializer = o.recurrent_initializer,
                                                                    .bias_initializer = o.bias_initializer,
                                                                    .unit_forget_bias = o.unit_forget_bias,
                                                                    .dropout = o.dropout,
                                                                    .recurrent_dropout = o.recurrent_dropout,
                                                                    .name = "lstm_cell"}),
              RNNLoopOptions{o.return_sequences, o.return_state, o.go_backwards, o.stateful, o.unroll}, o.name) {}

GRUImpl::GRUImpl(int64_t units, GRUOptions o)
    : RNNImpl("GRU",
              std::make_shared<GRUCellImpl>(units, GRUCellOptions{.activation = o.activation,
                                                                  .recurrent_activation = o.recurrent_activation,
                                                                  .use_bias = o.use_bias,
                                                                  .kernel_initializer = o.kernel_initializer,
                                                                  .recurrent_initializer = o.recurrent_initializer,
                                                                  .bias_initializer = o.bias_initializer,
                                                                  .dropout = o.dropout,
                                                                  .recurrent_dropout = o.recurrent_dropout,
                                                                  .reset_after = o.reset_after,
                                                                  .name = "gru_cell"}),
              RNNLoopOptions{o.return_sequences, o.return_state, o.go_backwards, o.stateful, o.unroll}, o.name) {}

SimpleRNN::SimpleRNN(int64_t units, SimpleRNNOptions options)
    : LayerHolder(std::make_shared<SimpleRNNImpl>(units, std::move(options))) {}
LSTM::LSTM(int64_t units, LSTMOptions options) : LayerHolder(std::make_shared<LSTMImpl>(units, std::move(options))) {}
GRU::GRU(int64_t units, GRUOptions options) : LayerHolder(std::make_shared<GRUImpl>(units, std::move(options))) {}

// --- Bidirectional ---

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
  input_spec_ = {rank_spec(3)};
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

KEEL_REGISTER_LAYER("SimpleRNNCell", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      SimpleRNNCell(c.at("units").get<int64_t>(),
                    SimpleRNNCellOptions{
                        .activation = detail::activation_from(c),
                        .use_bias = c.value("use_bias", true),
                        .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                        .recurrent_initializer = detail::initializer_from(c, "recurrent_initializer", "orthogonal"),
                        .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                        .dropout = c.value("dropout", 0.0),
                        .recurrent_dropout = c.value("recurrent_dropout", 0.0),
                        .name = detail::name_from(c)}),
      c);
});

KEEL_REGISTER_LAYER("LSTMCell", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      LSTMCell(
          c.at("units").get<int64_t>(),
          LSTMCellOptions{.activation = detail::activation_from(c),
                          .recurrent_activation = detail::activation_from(c, "recurrent_activation"),
                          .use_bias = c.value("use_bias", true),
                          .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                          .recurrent_initializer = detail::initializer_from(c, "recurrent_initializer", "orthogonal"),
                          .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                          .unit_forget_bias = c.value("unit_forget_bias", true),
                          .dropout = c.value("dropout", 0.0),
                          .recurrent_dropout = c.value("recurrent_dropout", 0.0),
                          .name = detail::name_from(c)}),
      c);
});

KEEL_REGISTER_LAYER("GRUCell", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      GRUCell(
          c.at("units").get<int64_t>(),
          GRUCellOptions{.activation = detail::activation_from(c),
                         .recurrent_activation = detail::activation_from(c, "recurrent_activation"),
                         .use_bias = c.value("use_bias", true),
                         .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                         .recurrent_initializer = detail::initializer_from(c, "recurrent_initializer", "orthogonal"),
                         .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                         .dropout = c.value("dropout", 0.0),
                         .recurrent_dropout = c.value("recurrent_dropout", 0.0),
                         .reset_after = c.value("reset_after", true),
                         .name = detail::name_from(c)}),
      c);
});

KEEL_REGISTER_LAYER("SimpleRNN", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      SimpleRNN(
          c.at("units").get<int64_t>(),
          SimpleRNNOptions{.activation = detail::activation_from(c),
                           .use_bias = c.value("use_bias", true),
                           .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                           .recurrent_initializer = detail::initializer_from(c, "recurrent_initializer", "orthogonal"),
                           .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                           .dropout = c.value("dropout", 0.0),
                           .recurrent_dropout = c.value("recurrent_dropout", 0.0),
                           .return_sequences = c.value("return_sequences", false),
                           .return_state = c.value("return_state", false),
                           .go_backwards = c.value("go_backwards", false),
                           .stateful = c.value("stateful", false),
                           .unroll = c.value("unroll", false),
                           .name = detail::name_from(c)}),
      c);
});

KEEL_REGISTER_LAYER("LSTM", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      LSTM(c.at("units").get<int64_t>(),
           LSTMOptions{.activation = detail::activation_from(c),
                       .recurrent_activation = detail::activation_from(c, "recurrent_activation"),
                       .use_bias = c.value("use_bias", true),
                       .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                       .recurrent_initializer = detail::initializer_from(c, "recurrent_initializer", "orthogonal"),
                       .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                       .unit_forget_bias = c.value("unit_forget_bias", true),
                       .dropout = c.value("dropout", 0.0),
                       .recurrent_dropout = c.value("recurrent_dropout", 0.0),
                       .return_sequences = c.value("return_sequences", false),
                       .return_state = c.value("return_state", false),
                       .go_backwards = c.value("go_backwards", false),
                       .stateful = c.value("stateful", false),
                       .unroll = c.value("unroll", false),
                       .name = detail::name_from(c)}),
      c);
});

KEEL_REGISTER_LAYER("GRU", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      GRU(c.at("units").get<int64_t>(),
          GRUOptions{.activation = detail::activation_from(c),
                     .recurrent_activation = detail::activation_from(c, "recurrent_activation"),
                     .use_bias = c.value("use_bias", true),
                     .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                     .recurrent_initializer = detail::initializer_from(c, "recurrent_initializer", "orthogonal"),
                     .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                     .dropout = c.value("dropout", 0.0),
                     .recurrent_dropout = c.value("recurrent_dropout", 0.0),
                     .return_sequences = c.value("return_sequences", false),
                     .return_state = c.value("return_state", false),
                     .go_backwards = c.value("go_backwards", false),
                     .stateful = c.value("stateful", false),
                     .unroll = c.value("unroll", false),
                     .reset_after = c.value("reset_after", true),
                     .name = detail::name_from(c)}),
      c);
});

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
