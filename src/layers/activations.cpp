#include "keel/layers/activations.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "keel/core/error.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"

namespace keel {

namespace {

using Fn = Tensor (*)(const Tensor&);

// Formulas as keras.activations computes them (keras-reference §3).
Tensor relu(const Tensor& x) { return ops::relu(x); }
Tensor relu6(const Tensor& x) { return ops::relu6(x); }
Tensor leaky_relu(const Tensor& x) { return ops::leaky_relu(x, 0.2); }
Tensor sigmoid(const Tensor& x) { return ops::sigmoid(x); }
Tensor tanh(const Tensor& x) { return ops::tanh(x); }
Tensor softmax(const Tensor& x) { return ops::softmax(x, -1); }
Tensor log_softmax(const Tensor& x) { return ops::log_softmax(x, -1); }
Tensor softplus(const Tensor& x) { return ops::softplus(x); }
Tensor softsign(const Tensor& x) { return ops::softsign(x); }
Tensor elu(const Tensor& x) { return ops::elu(x, 1.0); }
Tensor selu(const Tensor& x) { return ops::selu(x); }
Tensor silu(const Tensor& x) { return ops::silu(x); }
// The activation is the exact erf form; ops::gelu defaults to the tanh approximation.
Tensor gelu(const Tensor& x) { return ops::gelu(x, /*approximate=*/false); }
Tensor hard_sigmoid(const Tensor& x) { return ops::hard_sigmoid(x); }
Tensor hard_silu(const Tensor& x) { return x * ops::hard_sigmoid(x); }
Tensor exponential(const Tensor& x) { return ops::exp(x); }
Tensor mish(const Tensor& x) { return x * ops::tanh(ops::softplus(x)); }
// max(x,0) + α·expm1(min(x,0)/α) with α = 1; min(x,0) = x - relu(x).
Tensor celu(const Tensor& x) {
  Tensor pos = ops::relu(x);
  return pos + (ops::exp(x - pos) - 1.0);
}
Tensor log_sigmoid(const Tensor& x) { return -ops::softplus(-x); }
Tensor hard_tanh(const Tensor& x) { return ops::clip(x, -1.0, 1.0); }
Tensor tanh_shrink(const Tensor& x) { return x - ops::tanh(x); }
// Threshold 0.5: x-0.5 above it, x+0.5 below its negative, 0 between.
Tensor soft_shrink(const Tensor& x) { return ops::relu(x - 0.5) - ops::relu(-x - 0.5); }
Tensor hard_shrink(const Tensor& x) { return ops::where(ops::abs(x) > 0.5, x, zeros({}, x.dtype())); }
// (x + sqrt(x² + b)) / 2 with b = 4.
Tensor squareplus(const Tensor& x) { return (x + ops::sqrt(ops::square(x) + 4.0)) * 0.5; }
// 0 for x <= -1, x for x >= 1, (x+1)²/4 between.
Tensor sparse_plus(const Tensor& x) {
  Tensor between = ops::square(x + 1.0) * 0.25;
  return ops::where(x <= -1.0, zeros({}, x.dtype()), ops::where(x >= 1.0, x, between));
}
// 0 for x <= -1, 1 for x >= 1, (x+1)/2 between.
Tensor sparse_sigmoid(const Tensor& x) { return ops::clip((x + 1.0) * 0.5, 0.0, 1.0); }
// Halves of the last axis: a · σ(b).
Tensor glu(const Tensor& x) {
  KEEL_CHECK(x.ndim() >= 1 && x.shape().back() % 2 == 0, ValueError,
             "glu: axis size must be divisible by 2. Received: x.shape=", shape_str(x.shape()), " with axis=-1");
  std::vector<Tensor> halves = ops::split(x, 2, -1);
  return halves[0] * ops::sigmoid(halves[1]);
}

const std::map<std::string, Fn>& registry() {
  static const std::map<std::string, Fn> fns = {
      {"celu", celu},
      {"elu", elu},
      {"exponential", exponential},
      {"gelu", gelu},
      {"glu", glu},
      {"hard_shrink", hard_shrink},
      {"hard_sigmoid", hard_sigmoid},
      {"hard_silu", hard_silu},
      {"hard_tanh", hard_tanh},
      {"leaky_relu", leaky_relu},
      {"log_sigmoid", log_sigmoid},
      {"log_softmax", log_softmax},
      {"mish", mish},
      {"relu", relu},
      {"relu6", relu6},
      {"selu", selu},
      {"sigmoid", sigmoid},
      {"silu", silu},
      {"soft_shrink", soft_shrink},
      {"softmax", softmax},
      {"softplus", softplus},
      {"softsign", softsign},
      {"sparse_plus", sparse_plus},
      {"sparse_sigmoid", sparse_sigmoid},
      {"squareplus", squareplus},
      {"tanh", tanh},
      {"tanh_shrink", tanh_shrink},
  };
  return fns;
}

// Keras resolves these aliases to the same function, so configs save the function's own name.
const std::map<std::string, std::string>& aliases() {
  static const std::map<std::string, std::string> a = {{"swish", "silu"}, {"hard_swish", "hard_silu"}};
  return a;
}

}  // namespace

ActivationFn::ActivationFn() : name_("linear") {}

ActivationFn::ActivationFn(const char* identifier) : ActivationFn(activations::get(identifier ? identifier : "")) {}

ActivationFn::ActivationFn(const std::string& identifier) : ActivationFn(activations::get(identifier)) {}

ActivationFn::ActivationFn(std::string name, std::function<Tensor(const Tensor&)> fn)
    : name_(std::move(name)), fn_(std::move(fn)) {}

namespace activations {

ActivationFn get(const std::string& identifier) {
  if (identifier.empty() || identifier == "linear") return ActivationFn();
  auto alias = aliases().find(identifier);
  auto it = registry().find(alias == aliases().end() ? identifier : alias->second);
  if (it == registry().end()) {
    std::string valid;
    for (const std::string& n : names()) valid += (valid.empty() ? "" : ", ") + n;
    throw ValueError("Could not interpret activation function identifier: '" + identifier + "'. Valid names: " + valid);
  }
  return ActivationFn(it->first, it->second);
}

std::vector<std::string> names() {
  std::vector<std::string> out{"linear"};
  for (const auto& [name, fn] : registry()) out.push_back(name);
  for (const auto& [alias, target] : aliases()) out.push_back(alias);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace activations
}  // namespace keel
