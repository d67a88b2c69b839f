// The Keel side of the TensorFlow.js cross-check (run_tfjs_crosscheck.sh). For each case it builds a small
// Sequential model, sets deterministic initial weights, trains with shuffle=false on deterministic data
// and prints one JSON object to stdout:
//   {"cases": {"<name>": {"model": ..., "loss": ..., "optimizer": <Keras optimizer config>, "batch_size": ...,
//              "epochs": ..., "x": [[...]], "y": [[...]], "initial_weights": [...], "losses": [...],
//              "weights": [...]}}}
// The inputs (data, initial weights, settings) travel with the results, so tfjs_reference.mjs trains
// on exactly the same float32 values instead of recomputing them.
#include <cmath>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/keel.h"

namespace {

using keel::Tensor;
using nlohmann::json;

struct LayerSpec {
  int64_t units;
  std::string activation;
  json kernel_regularizer = nullptr;  // Keras's serialised form, or null
  json bias_regularizer = nullptr;
};

struct Case {
  std::string name;
  std::vector<LayerSpec> layers;
  std::string loss;
  json optimizer;  // Keras's serialised form, {"class_name": ..., "config": {...}}
  int64_t samples;
  int64_t batch_size;  // chosen so that samples % batch_size != 0: the last batch is partial
  int epochs;
  std::string target;  // "regression", "binary" or "three_class"
};

constexpr int64_t kInputDim = 4;

// Inputs in [-1, 1], spread by incommensurate frequencies so no two rows repeat.
std::vector<float> make_x(int64_t n) {
  std::vector<float> x(n * kInputDim);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < kInputDim; ++j)
      x[i * kInputDim + j] = static_cast<float>(std::sin(0.7 * i + 1.3 * j + 0.1));
  return x;
}

// Targets as a (n, 1) column: a smooth function, a 0/1 label, or a class index 0..2.
std::vector<float> make_y(const std::vector<float>& x, int64_t n, const std::string& target) {
  std::vector<float> y(n);
  for (int64_t i = 0; i < n; ++i) {
    const float* r = &x[i * kInputDim];
    if (target == "regression") {
      y[i] = 0.5f * r[0] - r[1] + 0.25f * r[2] * r[3] + 0.3f;
    } else if (target == "binary") {
      y[i] = (r[0] + 0.5f * r[1] - r[2] * r[3] > 0.1f) ? 1.0f : 0.0f;
    } else {
      const float s = r[0] - r[3];
      y[i] = s < -0.4f ? 0.0f : (s < 0.4f ? 1.0f : 2.0f);
    }
  }
  return y;
}

// Deterministic weights of Glorot-like size; biases small and non-zero so that they are exercised too.
std::vector<Tensor> initial_weights(const std::vector<LayerSpec>& layers) {
  std::vector<Tensor> weights;
  int64_t fan_in = kInputDim;
  for (size_t l = 0; l < layers.size(); ++l) {
    const int64_t units = layers[l].units;
    const double scale = std::sqrt(2.0 / static_cast<double>(fan_in + units));
    std::vector<float> kernel(fan_in * units), bias(units);
    for (size_t k = 0; k < kernel.size(); ++k)
      kernel[k] = static_cast<float>(scale * std::sin(1.7 * static_cast<double>(k) + 3.7 * l + 0.5));
    for (size_t k = 0; k < bias.size(); ++k) bias[k] = static_cast<float>(0.1 * std::cos(static_cast<double>(k) + l));
    weights.push_back(keel::from_vector(kernel, {fan_in, units}));
    weights.push_back(keel::from_vector(bias, {units}));
    fan_in = units;
  }
  return weights;
}

json rows(const std::vector<float>& values, int64_t width) {
  json out = json::array();
  for (size_t i = 0; i < values.size(); i += width)
    out.push_back(std::vector<float>(values.begin() + i, values.begin() + i + width));
  return out;
}

json weights_json(const std::vector<Tensor>& weights) {
  json out = json::array();
  for (const Tensor& w : weights) out.push_back({{"shape", w.shape()}, {"values", w.to_vector<float>()}});
  return out;
}

json run_case(const Case& c) {
  const std::vector<float> x = make_x(c.samples);
  const std::vector<float> y = make_y(x, c.samples, c.target);

  std::vector<keel::SequentialEntry> entries = {keel::layers::Input({kInputDim})};
  json layers_json = json::array();
  for (const LayerSpec& l : c.layers) {
    entries.push_back(keel::layers::Dense(
        l.units, {.activation = l.activation.c_str(),
                  .kernel_regularizer = keel::Regularizer::from_config(l.kernel_regularizer),
                  .bias_regularizer = keel::Regularizer::from_config(l.bias_regularizer)}));
    layers_json.push_back({{"units", l.units},
                           {"activation", l.activation},
                           {"kernel_regularizer", l.kernel_regularizer},
                           {"bias_regularizer", l.bias_regularizer}});
  }
  keel::Sequential model(entries);
  const std::vector<Tensor> start = initial_weights(c.layers);
  model.set_weights(start);
  model.compile({.optimizer = keel::optimizers::deserialize(c.optimizer), .loss = c.loss});

  keel::History history = model.fit(keel::from_vector(x, {c.samples, kInputDim}), keel::from_vector(y, {c.samples, 1}),
                                    {.batch_size = c.batch_size, .epochs = c.epochs, .verbose = 0, .shuffle = false});
  return {{"model", {{"input_dim", kInputDim}, {"layers", layers_json}}},
          {"loss", c.loss},
          {"optimizer", c.optimizer},
          {"batch_size", c.batch_size},
          {"epochs", c.epochs},
          {"x", rows(x, kInputDim)},
          {"y", rows(y, 1)},
          {"initial_weights", weights_json(start)},
          {"losses", history.history.at("loss")},
          {"weights", weights_json(model.get_weights())}};
}

json sgd(double lr, double momentum = 0.0, bool nesterov = false) {
  return {{"class_name", "SGD"}, {"config", {{"learning_rate", lr}, {"momentum", momentum}, {"nesterov", nesterov}}}};
}

json rmsprop(double lr, double momentum, double epsilon, bool centered) {
  return {
      {"class_name", "RMSprop"},
      {"config",
       {{"learning_rate", lr}, {"rho", 0.9}, {"momentum", momentum}, {"epsilon", epsilon}, {"centered", centered}}}};
}

json regularizer(const char* class_name, json config) { return {{"class_name", class_name}, {"config", config}}; }

// Adam is not here: tfjs applies epsilon to the bias-corrected sqrt(v̂), Keras 3 uses "epsilon hat" (see README).
std::vector<Case> cases() {
  const std::vector<LayerSpec> mlp = {{8, "relu"}, {1, "linear"}};
  const std::vector<LayerSpec> binary = {{8, "tanh"}, {1, "sigmoid"}};
  const std::vector<LayerSpec> softmax = {{6, "relu"}, {3, "softmax"}};
  // Weight penalties join the loss that is differentiated and logged (tfjs has no activity regularizers).
  const std::vector<LayerSpec> penalised = {
      {8, "relu", regularizer("L2", {{"l2", 0.01}}), regularizer("L1", {{"l1", 0.02}})},
      {1, "linear", regularizer("L1L2", {{"l1", 0.005}, {"l2", 0.03}})}};
  return {
      {"mlp_mse_sgd", mlp, "mean_squared_error", sgd(0.05), 20, 6, 5, "regression"},
      {"mlp_mse_sgd_momentum", mlp, "mean_squared_error", sgd(0.02, 0.9), 20, 6, 5, "regression"},
      {"mlp_mse_sgd_nesterov", mlp, "mean_squared_error", sgd(0.02, 0.9, true), 20, 6, 5, "regression"},
      {"binary_bce_rmsprop", binary, "binary_crossentropy", rmsprop(0.01, 0.0, 1e-7, false), 20, 8, 5, "binary"},
      {"binary_bce_rmsprop_momentum", binary, "binary_crossentropy", rmsprop(0.005, 0.5, 1e-7, false), 20, 8, 5,
       "binary"},
      // Centered RMSprop: tfjs puts epsilon as sqrt(v − a² − ε), Keras as sqrt(v − a² + ε); they agree at ε = 0.
      // tanh and sigmoid never give an exactly zero gradient, so v − a² (an EMA variance) stays positive.
      {"binary_bce_rmsprop_centered_eps0", binary, "binary_crossentropy", rmsprop(0.005, 0.0, 0.0, true), 20, 8, 5,
       "binary"},
      {"softmax_sparse_cce_sgd", softmax, "sparse_categorical_crossentropy", sgd(0.1), 21, 5, 6, "three_class"},
      {"mlp_mse_sgd_regularized", penalised, "mean_squared_error", sgd(0.05), 20, 6, 5, "regression"},
  };
}

}  // namespace

int main() {
  try {
    json out = {{"cases", json::object()}};
    for (const Case& c : cases()) out["cases"][c.name] = run_case(c);
    std::cout << out.dump() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "keel_crosscheck_driver: " << e.what() << "\n";
    return 1;
  }
}
