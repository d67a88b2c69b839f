// Arrays of any dtype as x and y, as Keras takes them: a model converts each input to its Input's dtype
// (integer, uint8 and boolean arrays into a float32 model), losses and metrics read integer and boolean
// labels as numbers, and sparse losses take integer or float class ids. Each run is compared with the same run
// on float32 arrays.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "keel/keel.h"

namespace keel {
namespace {

const std::vector<int32_t> kPixels = {0, 255, 17, 128, 3, 64, 200, 9, 90, 45, 250, 1, 33, 77, 140, 5};

History fit_binary(const Tensor& x, const Tensor& y, bool eager) {
  random::set_seed(4);
  Sequential m(
      {layers::Input({2}), layers::Rescaling(1.0 / 255), layers::Dense(4, "tanh"), layers::Dense(1, "sigmoid")});
  m.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}, .run_eagerly = eager});
  return m.fit(x, y, {.batch_size = 4, .epochs = 3, .verbose = 0, .shuffle = false});
}

void expect_same_history(const History& got, const History& want) {
  for (const auto& [name, values] : want.history) {
    ASSERT_TRUE(got.history.contains(name)) << name;
    for (size_t e = 0; e < values.size(); ++e)
      EXPECT_NEAR(got.history.at(name)[e], values[e], 1e-6) << name << " " << e;
  }
}

TEST(InputDtypes, IntegerAndBooleanArraysTrainAsTheirFloatValues) {
  const Tensor x_i32 = from_vector(kPixels, {8, 2});
  const Tensor x_f32 = ops::cast(x_i32, DType::f32);
  std::vector<float> labels_f(8);
  std::vector<int32_t> labels_i(8);
  std::vector<bool> labels_b(8);
  for (int i = 0; i < 8; ++i) {
    labels_i[i] = kPixels[2 * i] > kPixels[2 * i + 1] ? 1 : 0;
    labels_f[i] = static_cast<float>(labels_i[i]);
    labels_b[i] = labels_i[i] == 1;
  }
  const Tensor y_f32 = from_vector(labels_f, {8, 1});
  for (bool eager : {true, false}) {
    SCOPED_TRACE(eager ? "run_eagerly" : "compiled");
    const History reference = fit_binary(x_f32, y_f32, eager);
    expect_same_history(fit_binary(x_i32, y_f32, eager), reference);
    expect_same_history(fit_binary(ops::cast(x_i32, DType::u8), y_f32, eager), reference);
    expect_same_history(fit_binary(x_f32, from_vector(labels_i, {8, 1}), eager), reference);
    expect_same_history(fit_binary(x_i32, from_vector(labels_b, {8, 1}), eager), reference);
  }
}

TEST(InputDtypes, SparseLabelsMayBeIntegersOrFloats) {
  const Tensor x = from_vector(kPixels, {8, 2});
  auto run = [&](const Tensor& y) {
    random::set_seed(5);
    Sequential m({layers::Input({2}), layers::Rescaling(1.0 / 255), layers::Dense(3, "softmax")});
    m.compile({.optimizer = "sgd", .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
    return m.fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0});
  };
  const std::vector<int64_t> ids = {0, 2, 1, 1, 0, 2, 2, 1};
  const History reference = run(from_vector(ids, {8}));
  expect_same_history(run(ops::cast(from_vector(ids, {8}), DType::i32)), reference);
  expect_same_history(run(ops::cast(from_vector(ids, {8}), DType::f32)), reference);
}

TEST(InputDtypes, FunctionalInputsConvertToTheirOwnDtypes) {
  // A float input and an integer-id input: uint8 features become float32, float ids reach the Embedding as ids.
  random::set_seed(6);
  SymbolicTensor features = layers::Input({2});
  SymbolicTensor ids = layers::Input({1}, {.dtype = DType::i32});
  SymbolicTensor merged =
      layers::Concatenate()({layers::Dense(2)(features), layers::Flatten()(layers::Embedding(4, 2)(ids))});
  Model m({features, ids}, {layers::Dense(1)(merged)});
  const Tensor f = from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  const Tensor i = from_vector(std::vector<int32_t>{3, 1}, {2, 1});
  const std::vector<float> want = m({f, i})[0].to_vector<float>();
  EXPECT_EQ(m({ops::cast(f, DType::u8), ops::cast(i, DType::f32)})[0].to_vector<float>(), want);
  EXPECT_EQ(
      m.predict_outputs({ops::cast(f, DType::i64), ops::cast(i, DType::i64)}, {.verbose = 0})[0].to_vector<float>(),
      want);
}

TEST(InputDtypes, ModelsWithoutAnInputLayerTakeIntegersToo) {
  // No Input: the first Dense computes integer inputs in its kernel's dtype, as Keras's matmul promotes.
  const Tensor x = from_vector(kPixels, {8, 2});
  random::set_seed(7);
  Sequential m({layers::Dense(3, "relu"), layers::Dense(1)});
  m.compile({.optimizer = "sgd", .loss = "mse"});
  const Tensor y = ops::sum(ops::cast(x, DType::f32), {1}, true) / 255.0;
  m.fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0});
  EXPECT_EQ(m.predict(x, {.verbose = 0}).to_vector<float>(),
            m.predict(ops::cast(x, DType::f32), {.verbose = 0}).to_vector<float>());
}

TEST(OnBatch, SeveralInputsAndOutputsMatchFitOnOneBatch) {
  auto make = [] {
    random::set_seed(8);
    SymbolicTensor a = layers::Input({3}), b = layers::Input({2});
    SymbolicTensor h = layers::Concatenate()({layers::Dense(4, "relu")(a), layers::Dense(4, "relu")(b)});
    Model m({a, b},
            {layers::Dense(1, {.name = "reg"})(h), layers::Dense(2, {.activation = "softmax", .name = "cls"})(h)});
    m.compile({.optimizer = "adam", .loss = {"mse", "sparse_categorical_crossentropy"}});
    return m;
  };
  const Tensor xa = random::normal({6, 3}, 0.0, 1.0, DType::f32, 1),
               xb = random::normal({6, 2}, 0.0, 1.0, DType::f32, 2);
  const Tensor y_reg = random::normal({6, 1}, 0.0, 1.0, DType::f32, 3);
  const Tensor y_cls = from_vector(std::vector<int32_t>{0, 1, 1, 0, 1, 0}, {6});
  Model by_fit = make();
  const History h =
      by_fit.fit({xa, xb}, {y_reg, y_cls}, {.batch_size = 6, .epochs = 1, .verbose = 0, .shuffle = false});
  Model by_batch = make();
  const std::map<std::string, double> logs = by_batch.train_on_batch({xa, xb}, {y_reg, y_cls});
  EXPECT_NEAR(logs.at("loss"), h.history.at("loss")[0], 1e-6);
  const std::vector<Tensor> wf = by_fit.get_weights(), wb = by_batch.get_weights();
  ASSERT_EQ(wf.size(), wb.size());
  for (size_t i = 0; i < wf.size(); ++i) EXPECT_EQ(wf[i].to_vector<float>(), wb[i].to_vector<float>()) << i;
  const std::map<std::string, double> test = by_batch.test_on_batch({xa, xb}, {y_reg, y_cls});
  EXPECT_NEAR(test.at("loss"), by_batch.evaluate({xa, xb}, {y_reg, y_cls}, {.verbose = 0}).at("loss"), 1e-6);
}

}  // namespace
}  // namespace keel
