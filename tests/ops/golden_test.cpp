// Forward values and gradients against PyTorch: fixtures/*.json are written by
// tools/golden/generate_op_fixtures.py (PyTorch computes in float64 on float32-rounded inputs). Each
// fixture names the OpCase whose fn is applied to the fixture's inputs on the CPU backend in float32.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "ops/op_cases.h"

namespace keel::testing {
namespace {

using nlohmann::json;

Tensor tensor_from_json(const json& j, DType default_dtype) {
  DType dt = j.contains("dtype") ? dtype_from_name(j["dtype"].get<std::string>()) : default_dtype;
  Shape shape = j["shape"].get<Shape>();
  std::vector<double> data = j["data"].get<std::vector<double>>();
  return from_vector(data, shape).astype(dt);
}

struct Fixture {
  std::string file;
  json body;
};

std::vector<Fixture> load_fixtures() {
  std::vector<Fixture> out;
  std::filesystem::path dir = std::filesystem::path(KEEL_TEST_DATA_DIR) / "ops" / "fixtures";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    json doc = json::parse(in);
    for (const json& c : doc["cases"]) out.push_back({entry.path().filename().string(), c});
  }
  return out;
}

const OpCase* find_case(const std::string& name) {
  for (const OpCase& c : op_cases())
    if (c.name == name) return &c;
  return nullptr;
}

TEST(PyTorchFixtures, ForwardAndGradientsMatch) {
  std::vector<Fixture> fixtures = load_fixtures();
  ASSERT_FALSE(fixtures.empty()) << "no fixtures found under tests/ops/fixtures";
  for (const Fixture& f : fixtures) {
    std::string name = f.body["name"];
    SCOPED_TRACE(f.file + ": " + name);
    const OpCase* c = find_case(name);
    ASSERT_NE(c, nullptr) << "fixture '" << name << "' names no OpCase";
    double rtol = f.body.value("rtol", 1e-5), atol = f.body.value("atol", 1e-5);
    std::vector<Tensor> in;
    for (const json& j : f.body["inputs"]) in.push_back(tensor_from_json(j, DType::f32));
    for (size_t k : c->grad_inputs)
      if (f.body.contains("grads")) in[k].requires_grad_();
    Tensor y = c->fn(in);
    Tensor expected = tensor_from_json(f.body["output"], y.dtype());
    EXPECT_TRUE(all_close(y, expected, rtol, atol)) << "forward";
    if (!f.body.contains("grads")) continue;
    Tensor w = tensor_from_json(f.body["upstream"], y.dtype());
    ops::sum(ops::multiply(y, w)).backward();
    const json& grads = f.body["grads"];
    ASSERT_EQ(grads.size(), c->grad_inputs.size()) << "fixture and case disagree on differentiable inputs";
    for (size_t i = 0; i < c->grad_inputs.size(); ++i) {
      Tensor g = in[c->grad_inputs[i]].grad();
      ASSERT_TRUE(g.defined()) << "no gradient for input " << c->grad_inputs[i];
      EXPECT_TRUE(all_close(g, tensor_from_json(grads[i], g.dtype()), 10 * rtol, 10 * atol))
          << "gradient of input " << c->grad_inputs[i];
    }
  }
}

TEST(PyTorchFixtures, EveryDifferentiableCaseHasAFixture) {
  std::map<std::string, bool> has;
  for (const Fixture& f : load_fixtures()) has[f.body["name"]] = true;
  for (const OpCase& c : op_cases())
    EXPECT_TRUE(has.count(c.name)) << "case '" << c.name << "' has no PyTorch fixture";
}

}  // namespace
}  // namespace keel::testing
