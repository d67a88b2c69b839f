// Activation functions as option values (keras.activations): a name plus a function of a tensor.
// Strings resolve exactly as Keras resolves them; an empty string or "linear" is the identity.
//   layers::Dense(64, {.activation = "relu"});
//   layers::Dense(64, {.activation = ActivationFn("my_act", [](const Tensor& x) { return x * 2.0; })});
#pragma once
#include <functional>
#include <string>
#include <vector>
#include "keel/core/tensor.h"

namespace keel {

class ActivationFn {
 public:
  ActivationFn();  // linear
  ActivationFn(const char* identifier);         // NOLINT: implicit, as Keras accepts strings
  ActivationFn(const std::string& identifier);  // NOLINT
  ActivationFn(std::string name, std::function<Tensor(const Tensor&)> fn);

  Tensor operator()(const Tensor& x) const { return fn_ ? fn_(x) : x; }
  /// The Keras name ("relu", "linear", ...), as saved in layer configs.
  const std::string& name() const { return name_; }
  bool is_linear() const { return !fn_; }

 private:
  std::string name_;
  std::function<Tensor(const Tensor&)> fn_;
};

namespace activations {
/// Resolves a Keras activation name (keras-reference §3); unknown → ValueError quoting it.
ActivationFn get(const std::string& identifier);
/// Every name get() accepts, sorted.
std::vector<std::string> names();
}  // namespace activations

}  // namespace keel
