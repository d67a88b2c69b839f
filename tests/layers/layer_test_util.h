// run_layer_test: the checks every layer goes through (Keras's run_layer_test, in Keel's words):
// output shapes against compute_output_shape (eager and symbolic), weight names, shapes and order,
// trainable flags, a config round trip that rebuilds an identical layer, a finite-difference check of
// the gradients with respect to inputs and weights, one SGD step that lowers a loss, and a save/load round
// trip: the layer inside a functional model, trained a little with Adam, saved to a `.keras` archive and
// loaded back predicts bitwise the same and keeps training bitwise the same (optimizer state restored); the
// same through save_weights/load_weights (`.weights.h5`).
//   run_layer_test({.layer = layers::Dense(3), .input_shapes = {{2, 4}},
//                   .weight_names = {"kernel", "bias"}, .weight_shapes = {{4, 3}, {3}}});
#pragma once
#include <cstdint>
#include <gtest/gtest.h>

#include <cstring>
#include <exception>
#include <functional>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "io/io_test_util.h"
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
  /// Save → load round trip through a `.keras` archive and a `.weights.h5` file. Turn it off only for a
  /// layer that cannot be saved yet, saying why next to the spec: saving or loading must then fail with an
  /// error (checked, so that the opt-out goes once the layer can be saved).
  bool save_round_trip = true;
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

/// Empty when `a` and `b` have the same shape, dtype and bytes; else the first element that differs.
inline std::string bitwise_difference(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype()) return "dtypes differ";
  if (a.shape() != b.shape()) return "shapes differ";
  auto first_difference = [](const auto& x, const auto& y) -> std::string {
    for (size_t i = 0; i < x.size(); ++i) {
      if (std::memcmp(&x[i], &y[i], sizeof(x[i])) == 0) continue;
      std::ostringstream os;
      os << "element " << i << ": " << std::setprecision(17) << x[i] << " vs " << y[i];
      return os.str();
    }
    return "";
  };
  if (a.dtype() == DType::f32) return first_difference(a.to_vector<float>(), b.to_vector<float>());
  return first_difference(a.to_vector<double>(), b.to_vector<double>());
}

inline void expect_bitwise_equal(const std::vector<Tensor>& a, const std::vector<Tensor>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what << ": counts differ";
  for (size_t k = 0; k < a.size(); ++k) {
    const std::string diff = bitwise_difference(a[k], b[k]);
    EXPECT_TRUE(diff.empty()) << what << " " << k << " is not bitwise identical: " << diff;
  }
}

inline std::vector<Tensor> values_of(const std::vector<Variable>& vars) {
  std::vector<Tensor> values;
  for (const auto& v : vars) values.push_back(v.value().detach().clone());
  return values;
}

/// The model's weights and its optimizer's variables (iteration count, learning rate, slots) agree bitwise.
inline void expect_same_state(const Model& a, const Model& b, const std::string& when) {
  expect_bitwise_equal(values_of(a.weights()), values_of(b.weights()), "weight (" + when + ")");
  expect_bitwise_equal(values_of(a.optimizer().variables()), values_of(b.optimizer().variables()),
                       "optimizer variable (" + when + ")");
  EXPECT_EQ(a.optimizer().iterations(), b.optimizer().iterations()) << when;
}

/// Runs `f`, turning an exception into a test failure that says which step threw.
template <class F>
bool no_throw(const std::string& what, F&& f) {
  try {
    f();
    return true;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << " threw: " << e.what();
  }
  return false;
}

/// The save/load round trip: the (built) layer in a functional model with unknown-batch Inputs, compiled
/// with Adam and MSE and trained for one step so that the optimizer has an iteration count and slots, is
/// saved to a `.keras` archive and loaded back. The loaded model must predict bitwise the same and hold the
/// same weights and optimizer variables (iteration count, learning rate, slots), and both must stay bitwise
/// identical after one more step on each. Then `.weights.h5`: the original's state, written with
/// save_weights, is read with load_weights into another model loaded from the archive (one step behind, its
/// weights zeroed), which must then hold the same weights and optimizer variables and predict the same.
/// Models whose outputs are not all float, or that have no trainable weights, are not trained: they check
/// predictions and weights only.
inline void check_save_round_trip(const LayerTestSpec& spec) {
  SCOPED_TRACE("save/load round trip");
  // Leave the global generator as it was, so that tests after run_layer_test draw what they drew before.
  struct RestoreGenerator {
    random::GeneratorState state = random::get_state();
    ~RestoreGenerator() { random::set_state(state); }
  } restore_generator;
  const std::vector<Tensor> xs = make_inputs(spec);
  std::vector<SymbolicTensor> inputs;
  for (size_t i = 0; i < xs.size(); ++i) {
    Shape shape(spec.input_shapes[i].begin() + 1, spec.input_shapes[i].end());
    inputs.push_back(layers::Input(shape, {.dtype = xs[i].dtype()}));
  }
  Model model;
  if (!no_throw("building the functional model", [&] { model = Model(inputs, spec.layer.call_symbolic(inputs)); }))
    return;
  const std::vector<SymbolicTensor> outputs = model.outputs();
  bool float_outputs = true;
  std::vector<Tensor> ys;
  for (size_t k = 0; k < outputs.size(); ++k) {
    float_outputs = float_outputs && outputs[k].dtype == DType::f32;
    Shape shape = outputs[k].shape;
    shape[0] = spec.input_shapes[0][0];
    ys.push_back(random::normal(shape, 0.0, 1.0, DType::f32, 4321 + k));
  }
  const bool train = float_outputs && !model.trainable_weights().empty();
  const FitOptions one_step{.batch_size = spec.input_shapes[0][0], .epochs = 1, .verbose = 0, .shuffle = false};
  auto step = [&](const Model& m, const std::string& what) { return no_throw(what, [&] { m.fit(xs, ys, one_step); }); };
  auto predict = [&](const Model& m) { return m.predict_outputs(xs, {.verbose = 0}); };
  model.compile({.optimizer = "adam", .loss = "mse"});
  if (train && !step(model, "train step 1")) return;

  TempDir dir;
  const std::string archive = dir.file("model.keras"), weights = dir.file("model.weights.h5");
  if (!no_throw("model.save(.keras)", [&] { model.save(archive); })) return;
  Model loaded;
  if (!no_throw("saving::load_model(.keras)", [&] { loaded = saving::load_model(archive); })) return;
  // The same layer (config, weight names) and the same model config.
  LayerHandle loaded_layer;
  if (!no_throw("loaded.get_layer", [&] { loaded_layer = loaded.get_layer(spec.layer->name()); })) return;
  EXPECT_EQ(layers::serialize(loaded_layer).dump(), layers::serialize(spec.layer).dump());
  EXPECT_EQ(loaded->get_config().dump(), model->get_config().dump());
  ASSERT_EQ(loaded.weights().size(), model.weights().size());
  for (size_t i = 0; i < model.weights().size(); ++i) {
    EXPECT_EQ(loaded.weights()[i].name(), model.weights()[i].name()) << "weight " << i;
    EXPECT_EQ(loaded.weights()[i].trainable(), model.weights()[i].trainable()) << "weight " << i;
  }
  expect_bitwise_equal(predict(model), predict(loaded), "prediction after load_model, output");
  expect_bitwise_equal(values_of(model.weights()), values_of(loaded.weights()), "weight (after load_model)");
  if (train) {
    expect_same_state(model, loaded, "after load_model");
    // Both steps draw the same unseeded random numbers (dropout masks): the global generator's state is
    // not part of a saved model, in Keel as in Keras.
    const random::GeneratorState rng = random::get_state();
    if (!step(model, "train step 2")) return;
    random::set_state(rng);
    if (!step(loaded, "train step 2 of the loaded model")) return;
    expect_same_state(model, loaded, "after one more step on both");
  }
  if (model.weights().empty()) return;

  // `.weights.h5` into a model loaded from the archive (one step behind when trained), its weights zeroed.
  Model restored;
  if (!no_throw("saving::load_model(.keras) again", [&] { restored = saving::load_model(archive); })) return;
  if (train) {
    EXPECT_NE(restored.optimizer().iterations(), model.optimizer().iterations());
  }
  for (auto& v : restored.weights()) v.assign(zeros(v.shape(), v.value().dtype(), v.value().device()));
  if (!no_throw("model.save_weights(.weights.h5)", [&] { model.save_weights(weights); })) return;
  if (!no_throw("load_weights(.weights.h5)", [&] { restored.load_weights(weights); })) return;
  expect_bitwise_equal(values_of(model.weights()), values_of(restored.weights()), "weight (after load_weights)");
  if (train) expect_same_state(model, restored, "after load_weights");
  expect_bitwise_equal(predict(model), predict(restored), "prediction after load_weights, output");
}

/// For specs with save_round_trip = false: saving the layer's model or loading it back must raise.
inline void expect_save_refused(const LayerTestSpec& spec) {
  std::vector<SymbolicTensor> inputs;
  const std::vector<Tensor> xs = make_inputs(spec);
  for (size_t i = 0; i < xs.size(); ++i)
    inputs.push_back(
        layers::Input(Shape(spec.input_shapes[i].begin() + 1, spec.input_shapes[i].end()), {.dtype = xs[i].dtype()}));
  TempDir dir;
  try {
    Model model(inputs, spec.layer.call_symbolic(inputs));
    model.save(dir.file("model.keras"));
    saving::load_model(dir.file("model.keras"));
  } catch (const std::exception& e) {
    std::cout << "[ save/load refused: " << spec.layer->class_name() << " ] " << e.what() << "\n";
    return;
  }
  ADD_FAILURE() << spec.layer->class_name() << " saves and loads now: drop save_round_trip = false";
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

  if (spec.save_round_trip)
    detail::check_save_round_trip(spec);
  else
    detail::expect_save_refused(spec);
}

}  // namespace keel::testing
