// The recurrent cells (keras.layers.SimpleRNNCell / LSTMCell / GRUCell): one time step each, on the
// RNNCellImpl base that the RNN loop (rnn.cpp) drives.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "keel/layers/recurrent.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "layers/config_util.h"
#include "layers/rnn_util.h"

namespace keel::layers {
namespace {

// Keras clamps the rates silently.
double clamp_rate(double rate) { return std::clamp(rate, 0.0, 1.0); }

void check_cell_args(const char* cls, int64_t units) {
  KEEL_CHECK(units > 0, ValueError, cls,
             ": received an invalid value for argument `units`, expected a positive integer, got ", units, ".");
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
                         double recurrent_dropout, RecurrentPenalties penalties, std::string name)
    : Layer(std::move(class_name), std::move(name)),
      penalties_(std::move(penalties)),
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
  input_spec_ = {detail::rank_spec(2, {{-1, x.back()}})};
  for (size_t i = 0; i < state_count_; ++i) input_spec_.push_back(detail::rank_spec(2, {{-1, units_}}));
  Layer::build(input_shapes);
}

std::vector<Tensor> RNNCellImpl::call(const std::vector<Tensor>& inputs, const CallContext& ctx) {
  Tensor x = inputs[0];
  if (ctx.training && dropout_ > 0.0 && dropout_ < 1.0)
    x = x * detail::dropout_mask(x.shape()[0], x.shape()[1], dropout_);
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
  c["kernel_regularizer"] = penalties_.kernel_regularizer.get_config();
  c["recurrent_regularizer"] = penalties_.recurrent_regularizer.get_config();
  c["bias_regularizer"] = penalties_.bias_regularizer.get_config();
  c["kernel_constraint"] = penalties_.kernel_constraint.get_config();
  c["recurrent_constraint"] = penalties_.recurrent_constraint.get_config();
  c["bias_constraint"] = penalties_.bias_constraint.get_config();
  return c;
}

Variable RNNCellImpl::add_cell_weight(const std::string& name, const Shape& shape, const Initializer& initializer) {
  const bool kernel = name == "kernel", recurrent = name == "recurrent_kernel";
  const Regularizer& r = kernel ? penalties_.kernel_regularizer
                                : (recurrent ? penalties_.recurrent_regularizer : penalties_.bias_regularizer);
  const Constraint& c = kernel ? penalties_.kernel_constraint
                               : (recurrent ? penalties_.recurrent_constraint : penalties_.bias_constraint);
  return add_weight(name, shape, initializer, true, DType::f32, r, c);
}

// --- SimpleRNNCell ---

SimpleRNNCellImpl::SimpleRNNCellImpl(int64_t units, SimpleRNNCellOptions options)
    : RNNCellImpl("SimpleRNNCell", units, 1, options.dropout, options.recurrent_dropout,
                  RecurrentPenalties::of(options), options.name),
      options_(std::move(options)) {
  check_cell_args("SimpleRNNCell", units);
}

void SimpleRNNCellImpl::build_cell(int64_t input_dim) {
  kernel_ = add_cell_weight("kernel", {input_dim, units()}, options_.kernel_initializer);
  recurrent_kernel_ = add_cell_weight("recurrent_kernel", {units(), units()}, options_.recurrent_initializer);
  if (options_.use_bias) bias_ = add_cell_weight("bias", {units()}, options_.bias_initializer);
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
    : RNNCellImpl("LSTMCell", units, 2, options.dropout, options.recurrent_dropout, RecurrentPenalties::of(options),
                  options.name),
      options_(std::move(options)) {
  check_cell_args("LSTMCell", units);
}

void LSTMCellImpl::build_cell(int64_t input_dim) {
  const int64_t u = units();
  kernel_ = add_cell_weight("kernel", {input_dim, 4 * u}, options_.kernel_initializer);
  recurrent_kernel_ = add_cell_weight("recurrent_kernel", {u, 4 * u}, options_.recurrent_initializer);
  if (options_.use_bias)
    bias_ = add_cell_weight("bias", {4 * u},
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
    : RNNCellImpl("GRUCell", units, 1, options.dropout, options.recurrent_dropout, RecurrentPenalties::of(options),
                  options.name),
      options_(std::move(options)) {
  check_cell_args("GRUCell", units);
}

void GRUCellImpl::build_cell(int64_t input_dim) {
  const int64_t u = units();
  kernel_ = add_cell_weight("kernel", {input_dim, 3 * u}, options_.kernel_initializer);
  recurrent_kernel_ = add_cell_weight("recurrent_kernel", {u, 3 * u}, options_.recurrent_initializer);
  if (options_.use_bias)
    bias_ = add_cell_weight("bias", options_.reset_after ? Shape{2, 3 * u} : Shape{3 * u}, options_.bias_initializer);
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

// --- registration ---

KEEL_REGISTER_LAYER("SimpleRNNCell", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      SimpleRNNCell(c.at("units").get<int64_t>(),
                    detail::with_penalties_from(
                        SimpleRNNCellOptions{
                            .activation = detail::activation_from(c),
                            .use_bias = c.value("use_bias", true),
                            .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                            .recurrent_initializer = detail::initializer_from(c, "recurrent_initializer", "orthogonal"),
                            .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                            .dropout = c.value("dropout", 0.0),
                            .recurrent_dropout = c.value("recurrent_dropout", 0.0),
                            .name = detail::name_from(c)},
                        c)),
      c);
});

KEEL_REGISTER_LAYER("LSTMCell", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      LSTMCell(c.at("units").get<int64_t>(),
               detail::with_penalties_from(
                   LSTMCellOptions{
                       .activation = detail::activation_from(c),
                       .recurrent_activation = detail::activation_from(c, "recurrent_activation"),
                       .use_bias = c.value("use_bias", true),
                       .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                       .recurrent_initializer = detail::initializer_from(c, "recurrent_initializer", "orthogonal"),
                       .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                       .unit_forget_bias = c.value("unit_forget_bias", true),
                       .dropout = c.value("dropout", 0.0),
                       .recurrent_dropout = c.value("recurrent_dropout", 0.0),
                       .name = detail::name_from(c)},
                   c)),
      c);
});

KEEL_REGISTER_LAYER("GRUCell", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      GRUCell(c.at("units").get<int64_t>(),
              detail::with_penalties_from(
                  GRUCellOptions{
                      .activation = detail::activation_from(c),
                      .recurrent_activation = detail::activation_from(c, "recurrent_activation"),
                      .use_bias = c.value("use_bias", true),
                      .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                      .recurrent_initializer = detail::initializer_from(c, "recurrent_initializer", "orthogonal"),
                      .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                      .dropout = c.value("dropout", 0.0),
                      .recurrent_dropout = c.value("recurrent_dropout", 0.0),
                      .reset_after = c.value("reset_after", true),
                      .name = detail::name_from(c)},
                  c)),
      c);
});

}  // namespace keel::layers
