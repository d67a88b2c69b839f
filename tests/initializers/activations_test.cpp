// keras.activations by name: values against PyTorch 1.13, gradients by finite differences, lookup and errors.
#include "keel/layers/activations.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/reduction.h"
#include "test_util.h"

namespace keel {
namespace {

const std::vector<float> kInputs = {-3.5f, -2.0f, -1.2f, -0.7f, -0.3f, 0.05f, 0.2f, 0.6f, 1.1f, 1.7f, 2.5f, 4.0f};

// Reference values, from /usr/bin/python3 (torch 1.13, float64); softmax, log_softmax and glu take the
// inputs as shape (3, 4) and work along the last axis:
//   import torch, torch.nn.functional as F
//   torch.set_default_dtype(torch.float64)
//   x = torch.tensor([-3.5, -2.0, -1.2, -0.7, -0.3, 0.05, 0.2, 0.6, 1.1, 1.7, 2.5, 4.0])
//   relu=F.relu(x) relu6=F.relu6(x) leaky_relu=F.leaky_relu(x, 0.2) sigmoid=torch.sigmoid(x) tanh=torch.tanh(x)
//   softmax=F.softmax(x.reshape(3,4), -1) log_softmax=F.log_softmax(x.reshape(3,4), -1) softplus=F.softplus(x)
//   softsign=F.softsign(x) elu=F.elu(x) selu=F.selu(x) silu=F.silu(x) gelu=F.gelu(x)  # exact erf form
//   hard_sigmoid=F.hardsigmoid(x) hard_silu=F.hardswish(x) exponential=torch.exp(x) mish=F.mish(x)
//   celu=F.celu(x) log_sigmoid=F.logsigmoid(x) hard_tanh=F.hardtanh(x) tanh_shrink=F.tanhshrink(x)
//   soft_shrink=F.softshrink(x, 0.5) hard_shrink=F.hardshrink(x, 0.5) squareplus=(x + torch.sqrt(x*x + 4)) / 2
//   sparse_plus=torch.where(x <= -1, 0*x, torch.where(x >= 1, x, (x + 1)**2 / 4))
//   sparse_sigmoid=torch.clamp((x + 1) / 2, 0, 1) glu=F.glu(x.reshape(3,4), -1)
//   print each with "%.9g"
const std::map<std::string, std::vector<double>>& expected() {
  static const std::map<std::string, std::vector<double>> values = {
      {"relu", {0, 0, 0, 0, 0, 0.05, 0.2, 0.6, 1.1, 1.7, 2.5, 4}},
      {"relu6", {0, 0, 0, 0, 0, 0.05, 0.2, 0.6, 1.1, 1.7, 2.5, 4}},
      {"leaky_relu", {-0.7, -0.4, -0.24, -0.14, -0.06, 0.05, 0.2, 0.6, 1.1, 1.7, 2.5, 4}},
      {"sigmoid",
       {0.0293122308, 0.119202922, 0.231475217, 0.331812228, 0.425557483, 0.512497396, 0.549833997, 0.645656306,
        0.750260106, 0.845534735, 0.92414182, 0.98201379}},
      {"tanh",
       {-0.998177898, -0.96402758, -0.833654607, -0.604367777, -0.291312612, 0.049958375, 0.19737532, 0.537049567,
        0.800499022, 0.935409071, 0.986614298, 0.9993293}},
      {"softmax",
       {0.0313474531, 0.140489538, 0.312665216, 0.515497793, 0.153200545, 0.217401922, 0.252584997, 0.376812537,
        0.0399178265, 0.0727350222, 0.161874769, 0.725472382}},
      {"log_softmax",
       {-3.46262226, -1.96262226, -1.16262226, -0.662622257, -1.87600747, -1.52600747, -1.37600747, -0.976007465,
        -3.22093227, -2.62093227, -1.82093227, -0.320932274}},
      {"softplus",
       {0.0297504183, 0.126928011, 0.263282467, 0.403186049, 0.554355244, 0.718459648, 0.798138869, 1.03748795,
        1.38733533, 1.86778603, 2.57888973, 4.01814993}},
      {"softsign",
       {-0.777777778, -0.666666667, -0.545454545, -0.411764706, -0.230769231, 0.0476190476, 0.166666667, 0.375,
        0.523809524, 0.62962963, 0.714285714, 0.8}},
      {"elu", {-0.969802617, -0.864664717, -0.698805788, -0.503414696, -0.259181779, 0.05, 0.2, 0.6, 1.1, 1.7, 2.5, 4}},
      {"selu",
       {-1.70500934, -1.52016647, -1.22857, -0.885053046, -0.455667315, 0.0525350494, 0.210140197, 0.630420592,
        1.15577109, 1.78619168, 2.62675247, 4.20280395}},
      {"silu",
       {-0.102592808, -0.238405844, -0.27777026, -0.232268559, -0.127667245, 0.0256248698, 0.109966799, 0.387393784,
        0.825286116, 1.43740905, 2.31035455, 3.92805516}},
      {"gelu",
       {-0.000814201777, -0.0455002639, -0.138083604, -0.169374557, -0.114626573, 0.0259969403, 0.115851942,
        0.435448129, 0.950767333, 1.62423871, 2.48447584, 3.99987332}},
      {"hard_sigmoid",
       {0, 0.166666667, 0.3, 0.383333333, 0.45, 0.508333333, 0.533333333, 0.6, 0.683333333, 0.783333333, 0.916666667,
        1}},
      {"hard_silu",
       {-0, -0.333333333, -0.36, -0.268333333, -0.135, 0.0254166667, 0.106666667, 0.36, 0.751666667, 1.33166667,
        2.29166667, 4}},
      {"exponential",
       {0.0301973834, 0.135335283, 0.301194212, 0.496585304, 0.740818221, 1.0512711, 1.22140276, 1.8221188, 3.00416602,
        5.47394739, 12.182494, 54.59815}},
      {"mish",
       {-0.104095754, -0.252501483, -0.308835796, -0.267870235, -0.151133177, 0.0307977133, 0.132599002, 0.466136486,
        0.97084158, 1.62076807, 2.4713923, 3.99741281}},
      {"celu",
       {-0.969802617, -0.864664717, -0.698805788, -0.503414696, -0.259181779, 0.05, 0.2, 0.6, 1.1, 1.7, 2.5, 4}},
      {"log_sigmoid",
       {-3.52975042, -2.12692801, -1.46328247, -1.10318605, -0.854355244, -0.668459648, -0.598138869, -0.43748795,
        -0.287335325, -0.167786029, -0.0788897343, -0.0181499279}},
      {"hard_tanh", {-1, -1, -1, -0.7, -0.3, 0.05, 0.2, 0.6, 1, 1, 1, 1}},
      {"tanh_shrink",
       {-2.5018221, -1.03597242, -0.366345393, -0.0956322229, -0.00868738755, 4.16250421e-05, 0.00262467978,
        0.062950433, 0.299500978, 0.764590929, 1.5133857, 3.0006707}},
      {"soft_shrink", {-3, -1.5, -0.7, -0.2, 0, 0, 0, 0.1, 0.6, 1.2, 2, 3.5}},
      {"hard_shrink", {-3.5, -2, -1.2, -0.7, 0, 0, 0, 0.6, 1.1, 1.7, 2.5, 4}},
      {"squareplus",
       {0.265564437, 0.414213562, 0.566190379, 0.709481005, 0.861187421, 1.02531245, 1.10498756, 1.34403065, 1.69127122,
        2.16244047, 2.85078106, 4.23606798}},
      {"sparse_plus", {0, 0, 0, 0.0225, 0.1225, 0.275625, 0.36, 0.64, 1.1, 1.7, 2.5, 4}},
      {"sparse_sigmoid", {0, 0, 0, 0.15, 0.35, 0.525, 0.6, 0.8, 1, 1, 1, 1}},
      {"glu", {-0.810163258, -0.663624456, -0.164950199, 0.0322828153, 1.016556, 1.66942344}},
  };
  return values;
}

bool uses_rows(const std::string& name) { return name == "softmax" || name == "log_softmax" || name == "glu"; }

Tensor input_for(const std::string& name) { return from_vector(kInputs, uses_rows(name) ? Shape{3, 4} : Shape{12}); }

TEST(Activations, EveryNameMatchesTorch) {
  for (const auto& [name, want] : expected()) {
    SCOPED_TRACE(name);
    ActivationFn act(name);
    EXPECT_EQ(act.name(), name);
    EXPECT_FALSE(act.is_linear());
    std::vector<float> got = act(input_for(name)).to_vector<float>();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * std::max(1.0, std::abs(want[i]))) << i;
  }
}

TEST(Activations, EveryRegisteredNameIsCoveredByReferenceValues) {
  for (const std::string& name : activations::names()) {
    if (name == "linear" || name == "swish" || name == "hard_swish") continue;
    EXPECT_TRUE(expected().count(name)) << name << " has no reference values";
  }
}

TEST(Activations, GeluIsTheExactErfForm) {
  // F.gelu(x, approximate="tanh") at x = -1.2, 1.1 is -0.138297231, 0.950581046; the exact form differs by ~2e-4.
  Tensor x = from_vector(std::vector<float>{-1.2f, 1.1f}, {2});
  std::vector<float> y = ActivationFn("gelu")(x).to_vector<float>();
  EXPECT_NEAR(y[0], -0.138083604, 1e-6);
  EXPECT_NEAR(y[1], 0.950767333, 1e-6);
}

TEST(Activations, AliasesResolveToTheFunctionName) {
  Tensor x = from_vector(kInputs, {12});
  ActivationFn swish("swish"), hard_swish("hard_swish");
  EXPECT_EQ(swish.name(), "silu");
  EXPECT_EQ(hard_swish.name(), "hard_silu");
  EXPECT_EQ(swish(x).to_vector<float>(), ActivationFn("silu")(x).to_vector<float>());
  EXPECT_EQ(hard_swish(x).to_vector<float>(), ActivationFn("hard_silu")(x).to_vector<float>());
}

TEST(Activations, LinearAndEmptyAreTheIdentity) {
  Tensor x = from_vector(kInputs, {12});
  for (const ActivationFn& act : {ActivationFn(), ActivationFn(""), ActivationFn("linear")}) {
    EXPECT_TRUE(act.is_linear());
    EXPECT_EQ(act.name(), "linear");
    EXPECT_EQ(act(x).to_vector<float>(), kInputs);
  }
}

TEST(Activations, CustomFunctionKeepsItsName) {
  ActivationFn twice("twice", [](const Tensor& x) { return x * 2.0; });
  EXPECT_EQ(twice.name(), "twice");
  EXPECT_FALSE(twice.is_linear());
  EXPECT_FLOAT_EQ(twice(from_vector(std::vector<float>{1.5f}, {1})).item<float>(), 3.0f);
}

TEST(Activations, NamesAreSortedAndIncludeAliases) {
  std::vector<std::string> names = activations::names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const char* n : {"linear", "relu", "gelu", "swish", "hard_swish", "softmax"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
}

TEST(Activations, UnknownNameIsAValueErrorQuotingIt) {
  testing::expect_error<ValueError>([] { ActivationFn("foo"); },
                                    {"Could not interpret activation function identifier: 'foo'", "relu"});
  // Lookup is exact, as in Keras: no case folding.
  testing::expect_error<ValueError>([] { activations::get("ReLU"); }, {"'ReLU'"});
}

TEST(Activations, GluNeedsAnEvenLastAxis) {
  testing::expect_error<ValueError>([] { ActivationFn("glu")(zeros({2, 3})); }, {"glu", "divisible by 2", "(2, 3)"});
}

// Analytic gradients (autograd through the composed ops) against central differences of a weighted sum, so
// that softmax's gradient is not trivially zero. The inputs avoid every kink (0, ±0.5, ±1, ±3).
TEST(Activations, GradientsMatchFiniteDifferences) {
  const double h = 5e-3;
  std::vector<float> weights(kInputs.size());
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = 0.3f + 0.1f * static_cast<float>(i % 5);
  for (const auto& [name, unused] : expected()) {
    SCOPED_TRACE(name);
    ActivationFn act(name);
    const Shape shape = uses_rows(name) ? Shape{3, 4} : Shape{12};
    auto objective = [&](const Tensor& x) {
      Tensor y = act(x);
      Tensor w = from_vector(std::vector<float>(weights.begin(), weights.begin() + y.numel()), y.shape());
      return ops::sum(y * w);
    };
    Tensor x = from_vector(kInputs, shape);
    x.requires_grad_();
    objective(x).backward();
    std::vector<float> grad = x.grad().to_vector<float>();
    for (size_t i = 0; i < kInputs.size(); ++i) {
      std::vector<float> plus = kInputs, minus = kInputs;
      plus[i] += static_cast<float>(h);
      minus[i] -= static_cast<float>(h);
      const double fd =
          (objective(from_vector(plus, shape)).item<float>() - objective(from_vector(minus, shape)).item<float>()) /
          (2 * h);
      EXPECT_NEAR(grad[i], fd, 3e-3 * std::max(1.0, std::abs(fd))) << "input " << kInputs[i];
    }
  }
}

}  // namespace
}  // namespace keel
