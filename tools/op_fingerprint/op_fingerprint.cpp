// op_fingerprint: prints one hash per (elementwise op, dtype, layout) of the CPU kernels' results over fixed
// inputs that include the edges (±0, NaN, ±inf, denormals, exp's overflow and underflow thresholds). Two
// builds print the same lines exactly when every result is bit-identical, which is what a refactor of the
// kernels must keep:   op_fingerprint > before.txt; (change, rebuild); op_fingerprint | diff before.txt -
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "keel/keel.h"

namespace {

using namespace keel;
using Unary = std::function<Tensor(const Tensor&)>;
using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;

// FNV-1a over the bytes of the contiguous result.
uint64_t fingerprint(const Tensor& result) {
  const Tensor t = result.contiguous();
  const auto* p = static_cast<const unsigned char*>(t.data_ptr());
  const size_t n = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

void print(const std::string& op, DType dt, const char* layout, const std::function<Tensor()>& run) {
  try {
    std::printf("%s %s %s %016llx\n", op.c_str(), std::string(dtype_name(dt)).c_str(), layout,
                static_cast<unsigned long long>(fingerprint(run())));
  } catch (const std::exception& e) {
    std::printf("%s %s %s error: %s\n", op.c_str(), std::string(dtype_name(dt)).c_str(), layout, e.what());
  }
}

}  // namespace

int main() {
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> small(-5, 5), wide(-120, 120), positive(0, 3);
  std::vector<double> x = {0.0,  -0.0, std::nan(""), INFINITY, -INFINITY, 1e-40, -1e-40, 1e-310, 88.7, 89.5, -103.9,
                           -104.5, 709.0, 710.0, -745.0, 0.5, -0.5, 1.0, -1.0, 2.0, 3.0, 0.625, -0.625};
  while (x.size() < 6000) x.insert(x.end(), {small(gen), wide(gen), positive(gen)});
  x.resize(6000);
  std::vector<double> y(6000);
  for (double& v : y) v = small(gen);
  y[0] = std::nan(""), y[1] = 0.0, y[2] = -0.0, y[3] = INFINITY, y[4] = 2.0, y[5] = 0.5;
  const Tensor x64 = from_vector(x, {60, 100}), y64 = from_vector(y, {60, 100});
  const Tensor row64 = from_vector(std::vector<double>(y.begin(), y.begin() + 100), {1, 100});

  const std::vector<std::pair<std::string, Unary>> unary = {
      {"neg", ops::neg}, {"abs", ops::abs}, {"sign", ops::sign}, {"exp", ops::exp}, {"log", ops::log},
      {"log1p", ops::log1p}, {"expm1", ops::expm1}, {"sqrt", ops::sqrt}, {"rsqrt", ops::rsqrt},
      {"square", ops::square}, {"sin", ops::sin}, {"cos", ops::cos}, {"tanh", ops::tanh}, {"erf", ops::erf},
      {"sigmoid", ops::sigmoid}, {"relu", ops::relu}, {"relu6", ops::relu6},
      {"leaky_relu", [](const Tensor& t) { return ops::leaky_relu(t, 0.3); }},
      {"elu", [](const Tensor& t) { return ops::elu(t, 0.7); }}, {"selu", ops::selu}, {"softplus", ops::softplus},
      {"softsign", ops::softsign}, {"gelu_tanh", [](const Tensor& t) { return ops::gelu(t, true); }},
      {"gelu_erf", [](const Tensor& t) { return ops::gelu(t, false); }}, {"silu", ops::silu},
      {"hard_sigmoid", ops::hard_sigmoid}, {"clip", [](const Tensor& t) { return ops::clip(t, -1.5, 2.25); }},
      {"logical_not", ops::logical_not}};
  const std::vector<std::pair<std::string, Binary>> binary = {
      {"add", ops::add}, {"subtract", ops::subtract}, {"multiply", ops::multiply}, {"divide", ops::divide},
      {"maximum", ops::maximum}, {"minimum", ops::minimum}, {"power", ops::power}, {"equal", ops::equal},
      {"not_equal", ops::not_equal}, {"less", ops::less}, {"less_equal", ops::less_equal},
      {"greater", ops::greater}, {"greater_equal", ops::greater_equal}, {"logical_and", ops::logical_and},
      {"logical_or", ops::logical_or}, {"logical_xor", ops::logical_xor},
      {"where", [](const Tensor& a, const Tensor& b) { return ops::where(ops::greater(a, b), a, b); }}};

  for (DType dt : {DType::f32, DType::f64, DType::f16, DType::bf16, DType::i32, DType::i64, DType::u8, DType::b8}) {
    const Tensor a = ops::cast(x64, dt), b = ops::cast(y64, dt), row = ops::cast(row64, dt);
    const Tensor a_t = ops::transpose(a, {1, 0});
    for (const auto& [name, f] : unary) {
      print(name, dt, "contiguous", [&] { return f(a); });
      print(name, dt, "transposed", [&] { return f(a_t); });
    }
    for (const auto& [name, f] : binary) {
      print(name, dt, "same-shape", [&] { return f(a, b); });
      print(name, dt, "broadcast", [&] { return f(a, row); });
    }
  }
  return 0;
}
