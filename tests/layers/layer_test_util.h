// run_layer_test: the checks every layer goes through (Keras's run_layer_test, in Keel's words):
// output shapes against compute_output_shape (eager and symbolic), weight names, shapes and order,
// trainable flags, a config round trip that rebuilds an identical layer, a finite-difference check of
// the gradients with respect to inputs and weights, and one SGD step that lowers a loss.
//   run_layer_test({.layer = layers::Dense(3), .input_shapes = {{2, 4}},
//                   .weight_names = {"kernel", "bias"}, .weight_shapes = {{4, 3}, {3}}});
#pragma once
#include <cstdint>
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "keel/keel.h"
#include "keel/layers/layer.h"

namespace keel::testing {

struct LayerTestSpec {
  LayerHandle layer;                 // fresh and unbuilt
  std::vector<Shape> input_shapes;   // with a concrete batch dimension
  std::vector<std::string> weight_names = {};   // Variable::name() in Keras order
  std::vector<Shape> weight_shapes = {};
  int64_t non_trainable_weights = 0;            // how many of them are non-trainable
  /// Makes input i for a shape (default: normal floats from a fixed seed). Integer inputs (Embedding)
  /// provide their own; inputs that are not float32 are not differentiated.
  std::function<Tensor(size_t i, const Shape& shape)> make_input = nullptr;
  bool check_gradients = true;
  double gradient_tolerance = 2e-2;  // relative, on directional derivatives in float32
  bool training_step = true;         // one SGD step must lower the loss (when there are trainable weights)
  /// Run the layer in training mode for output checks (Dropout/BatchNormalization behave differently).
  bool training = false;
};

namespace detail {

inline Tensor default_input(size_t i, const Shape& shape) {
  return random::normal(shape, 0.0, 1.0, DType::f32, 1234 + i);
}

inline std::vector<Tensor> make_inputs(const LayerTestSpec& spec) {
  std::vector<Tensor> xs;
  for (size_t i = 0; i < spec.input_shapes.size(); ++i)
    xs.push_back(spec.make_input ? spec.make_input(i, spec.input_shapes[i]) : default_input(i, spec.input_shapes[i]));
  return xs;
}

/// Σ_k Σ outputs_k · probe_k in double on the host: the scalar the gradient checks differentiate.
inline double probe_loss(const std::vector<Tensor>& outputs, const std::vector<Tensor>& probes) {
  double s = 0;
  for (size_t k = 0; k < outputs.size(); ++k) {
    auto y = outputs[k].to_vector<double>();
    auto p = probes[k].to_vector<double>();
    for (size_t i = 0; i < y.size(); ++i) s += y[i] * p[i];
  }
  return s;
}

inline double dot(const Tensor& a, const Tensor& b) {
  auto x = a.to_vector<double>(), y = b.to_vector<double>();
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

inline std::vector<Shape> with_unknown_batch(std::vector<Shape> shapes) {
  for (auto& s : shapes) s[0] = kUnknownDim;
  return shapes;
}

}  // namespace detail

inline void run_layer_test(const LayerTestSpec& spec) {
  using detail::probe_loss;
  Layer& layer = *spec.layer;
  SCOPED_TRACE("layer " + layer.name() + " (" + layer.class_name() + ")");
  ASSERT_FALSE(layer.built());
  std::vector<Tensor> xs = detail::make_inputs(spec);

  // Eager call: builds, and output shapes match compute_output_shape.
  std::vector<Tensor> ys = layer(xs, spec.training);
  ASSERT_TRUE(layer.built());
  std::vector<Shape> expected_shapes = layer.compute_output_shape(spec.input_shapes);
  ASSERT_EQ(ys.size(), expected_shapes.size());
  for (size_t k = 0; k < ys.size(); ++k) EXPECT_EQ(ys[k].shape(), expected_shapes[k]) << "output " << k;

  // Symbolic call with an unknown batch dimension gives the same shapes with None first.
  std::vector<SymbolicTensor> sym_in;
  for (size_t i = 0; i < xs.size(); ++i) {
    Shape s = spec.input_shapes[i];
    s[0] = kUnknownDim;
    sym_in.push_back(SymbolicTensor{s, xs[i].dtype(), nullptr, 0});
  }
  std::vector<SymbolicTensor> sym_out = layer.call_symbolic(sym_in);
  ASSERT_EQ(sym_out.size(), ys.size());
  for (size_t k = 0; k < ys.size(); ++k) {
    Shape s = ys[k].shape();
    s[0] = kUnknownDim;
    EXPECT_EQ(sym_out[k].shape, s) << "symbolic output " << k;
    EXPECT_EQ(sym_out[k].dtype, ys[k].dtype()) << "symbolic output dtype " << k;
  }

  // Weights: names, shapes, Keras order, trainable split, count_params.
  std::vector<Variable> ws = layer.weights();
  ASSERT_EQ(ws.size(), spec.weight_names.size());
  int64_t params = 0;
  for (size_t i = 0; i < ws.size(); ++i) {
    EXPECT_EQ(ws[i].name(), spec.weight_names[i]) << "weight " << i;
    if (i < spec.weight_shapes.size()) {
      EXPECT_EQ(ws[i].shape(), spec.weight_shapes[i]) << "weight " << i;
    }
    params += ws[i].numel();
  }
  EXPECT_EQ(layer.count_params(), params);
  EXPECT_EQ(static_cast<int64_t>(layer.non_trainable_weights().size()), spec.non_trainable_weights);
  EXPECT_EQ(layer.trainable_weights().size() + layer.non_trainable_weights().size(), ws.size());
  layer.set_trainable(false);
  EXPECT_TRUE(layer.trainable_weights().empty());
  EXPECT_EQ(layer.non_trainable_weights().size(), ws.size());
  layer.set_trainable(true);

  // Config round trip: the rebuilt layer has the same config and, with the same weights, the same outputs.
  nlohmann::json serialized = layers::serialize(spec.layer);
  LayerHandle copy = layers::deserialize(serialized);
  EXPECT_EQ(layers::serialize(copy).dump(), serialized.dump());
  std::vector<Tensor> copy_ys = (*copy)(xs, false);
  if (!ws.empty()) {
    copy->set_weights(layer.get_weights());
    copy_ys = (*copy)(xs, false);
  }
  std::vector<Tensor> eval_ys = layer(xs, false);
  ASSERT_EQ(copy_ys.size(), eval_ys.size());
  for (size_t k = 0; k < eval_ys.size(); ++k) {
    auto a = eval_ys[k].to_vector<float>(), b = copy_ys[k].to_vector<float>();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5 * (1 + std::abs(a[i]))) << "output " << k;
  }

  // Gradients (inference mode, so Dropout is the identity): directional derivatives of Σ y·probe along a
  // random direction, analytic (autograd) against central differences.
  std::vector<Tensor> probes;
  for (size_t k = 0; k < eval_ys.size(); ++k)
    probes.push_back(random::normal(eval_ys[k].shape(), 0.0, 1.0, DType::f32, 99 + k));
  auto loss_at = [&](const std::vector<Tensor>& inputs) {
    NoGradGuard no_grad;
    return probe_loss(layer(inputs, false), probes);
  };
  if (spec.check_gradients) {
    std::vector<Tensor> leaves;
    for (auto& x : xs) {
      if (x.dtype() == DType::f32) leaves.push_back(x.detach().requires_grad_());
      else leaves.push_back(x);
    }
    std::vector<Tensor> outs = layer(leaves, false);
    Tensor total;
    for (size_t k = 0; k < outs.size(); ++k) {
      if (!is_floating(outs[k].dtype())) continue;
      Tensor term = ops::sum(outs[k] * probes[k]);
      total = total.defined() ? total + term : term;
    }
    for (auto& w : layer.trainable_weights()) w.value().zero_grad();
    total.backward();

    auto check = [&](const std::string& what, const Tensor& grad, const std::function<void(const Tensor&)>& set,
                     const Tensor& base, uint64_t seed) {
      ASSERT_TRUE(grad.defined()) << "no gradient for " << what;
      Tensor dir = random::normal(base.shape(), 0.0, 1.0, DType::f32, seed);
      const double scale = std::max(1.0, std::sqrt(detail::dot(base, base) / std::max<int64_t>(1, base.numel())));
      const double eps = 1e-2 * scale;
      set(base.detach() + dir * eps);
      const double up = loss_at(xs);
      set(base.detach() - dir * eps);
      const double down = loss_at(xs);
      set(base.detach());
      const double numeric = (up - down) / (2 * eps);
      const double analytic = detail::dot(grad, dir);
      EXPECT_NEAR(analytic, numeric, spec.gradient_tolerance * (1.0 + std::abs(numeric))) << "gradient of " << what;
    };
    for (size_t i = 0; i < leaves.size(); ++i) {
      if (leaves[i].dtype() != DType::f32) continue;
      Tensor base = xs[i];
      check("input " + std::to_string(i), leaves[i].grad(), [&xs, i](const Tensor& v) { xs[i] = v; }, base, 500 + i);
    }
    uint64_t seed = 700;
    for (auto& w : layer.trainable_weights()) {
      Tensor grad = w.value().grad();
      Tensor base = w.value().detach().clone();
      check("weight " + w.path(), grad, [&w](const Tensor& v) { w.assign(v); }, base, seed++);
    }
  }

  // One SGD step on the probe loss lowers it.
  std::vector<Variable> trainable = layer.trainable_weights();
  if (spec.training_step && !trainable.empty()) {
    for (auto& w : trainable) w.value().zero_grad();
    std::vector<Tensor> outs = layer(xs, false);
    Tensor total;
    for (size_t k = 0; k < outs.size(); ++k) {
      Tensor term = ops::sum(outs[k] * probes[k]);
      total = total.defined() ? total + term : term;
    }
    const double before = total.item<double>();
    total.backward();
    double grad_norm2 = 0;
    for (auto& w : trainable) grad_norm2 += detail::dot(w.value().grad(), w.value().grad());
    ASSERT_GT(grad_norm2, 0.0) << "every trainable weight has a zero gradient";
    const double lr = 1e-3 / std::sqrt(grad_norm2);
    {
      NoGradGuard no_grad;
      for (auto& w : trainable) w.assign(w.value() - w.value().grad() * lr);
    }
    EXPECT_LT(loss_at(xs), before) << "one SGD step did not lower the loss";
  }
}

}  // namespace keel::testing
