// layers::Lambda: a layer from a C++ function. Values, traced and given output shapes, gradients through the
// function, training, and a clear error (and no file) when a model holding one is saved as a config.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "data/temp_dir.h"
#include "keel/keel.h"
#include "test_util.h"

namespace keel {
namespace {

TEST(Lambda, AppliesTheFunction) {
  layers::Lambda twice_plus_one([](const Tensor& x) { return x * 2.0 + 1.0; });
  const Tensor y = twice_plus_one(from_vector(std::vector<float>{-1, 0, 2.5}, {1, 3}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{-1, 1, 6}));
  EXPECT_TRUE(twice_plus_one->weights().empty());
}

TEST(Lambda, OutputShapeIsTracedOrGiven) {
  auto x = layers::Input({4, 3});
  // Traced: the batch stays unknown.
  SymbolicTensor summed = layers::Lambda([](const Tensor& t) { return ops::sum(t, {2}); })(x);
  EXPECT_EQ(summed.shape, (Shape{kUnknownDim, 4}));
  // Given without the batch dimension, as Keras's output_shape tuple.
  SymbolicTensor given = layers::Lambda(
      [](const Tensor& t) {
        return ops::reshape(t, {-1, 12});
      },
      {.output_shape = Shape{12}})(x);
  EXPECT_EQ(given.shape, (Shape{kUnknownDim, 12}));
  // Or as a function of the whole input shape.
  SymbolicTensor computed =
      layers::Lambda([](const Tensor& t) { return ops::mean(t, {1}); }, {.compute_output_shape = [](const Shape& s) {
                       return Shape{s[0], s[2]};
                     }})(x);
  EXPECT_EQ(computed.shape, (Shape{kUnknownDim, 3}));
  testing::expect_error<ValueError>(
      [] {
        layers::Lambda([](const Tensor& t) { return t; },
                       {.output_shape = Shape{1}, .compute_output_shape = [](const Shape& s) { return s; }});
      },
      "(Lambda)", "not both");
}

TEST(Lambda, GradientsFlowThroughTheFunction) {
  layers::Lambda cube([](const Tensor& t) { return t * t * t; });
  Tensor x = from_vector(std::vector<float>{-1.5f, 0.5f, 2.0f}, {1, 3});
  x.requires_grad_();
  ops::sum(cube(x)).backward();
  const std::vector<float> g = x.grad().to_vector<float>();
  const std::vector<float> want = {3 * 2.25f, 3 * 0.25f, 3 * 4.0f};
  for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i], 1e-5);
}

TEST(Lambda, TrainsInsideAModel) {
  // y = 3·(x0 + x1): the Lambda sums the features, Dense(1) learns the factor.
  const Tensor x = random::normal({64, 2}, 0.0, 1.0, DType::f32, 3);
  const Tensor y = ops::sum(x, {1}, true) * 3.0;
  Sequential model({layers::Input({2}), layers::Lambda([](const Tensor& t) { return ops::sum(t, {1}, true); }),
                    layers::Dense(1, {.use_bias = false, .kernel_initializer = "zeros"})});
  model.compile({.optimizer = optimizers::SGD({.learning_rate = 0.1}), .loss = "mse"});
  model.fit(x, y, {.batch_size = 16, .epochs = 20, .verbose = 0});
  EXPECT_NEAR(model.get_weights()[0].to_vector<float>()[0], 3.0f, 1e-3);
}

TEST(Lambda, ModelsHoldingOneCannotBeSavedAsConfigsButTheirWeightsCan) {
  keel::testing::TempDir dir;
  Sequential model({layers::Input({2}), layers::Lambda([](const Tensor& t) { return t * 2.0; }, {.name = "double_it"}),
                    layers::Dense(1)});
  testing::expect_error<ValueError>([&] { model.save(dir.file("m.keras")); }, "Layer 'double_it' (Lambda)",
                                    "C++ function", "save_weights");
  EXPECT_FALSE(std::filesystem::exists(dir.file("m.keras")));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  model.save_weights(dir.file("m.weights.h5"));
  Sequential copy({layers::Input({2}), layers::Lambda([](const Tensor& t) { return t * 2.0; }), layers::Dense(1)});
  copy.load_weights(dir.file("m.weights.h5"));
  const Tensor x = from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(copy.predict(x, {.verbose = 0}).to_vector<float>(), model.predict(x, {.verbose = 0}).to_vector<float>());
}

}  // namespace
}  // namespace keel
