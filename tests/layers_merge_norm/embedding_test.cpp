// Embedding (keras-reference §2.9): a row lookup, so expected values are the table's rows; the gradient of
// a row used twice is the sum of the two upstream gradients.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "keel/keel.h"
#include "keel/layers/core.h"
#include "keel/layers/embedding.h"
#include "layers/layer_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

using testing::expect_error;
using testing::run_layer_test;

// Table of 4 rows × 3 columns: row r is (10r, 10r + 1, 10r + 2).
Tensor table() {
  std::vector<float> v;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 3; ++c) v.push_back(static_cast<float>(10 * r + c));
  return from_vector(v, {4, 3});
}

layers::Embedding built_embedding(const std::string& name = "") {
  layers::Embedding emb(4, 3, {.name = name});
  emb->build(Shape{kUnknownDim, 2});
  emb->set_weights({table()});
  return emb;
}

TEST(Embedding, RunLayerTest) {
  auto ids = [](size_t, const Shape& shape) {
    std::vector<int32_t> v;
    for (int64_t i = 0; i < shape_numel(shape); ++i) v.push_back(static_cast<int32_t>((i * 7) % 10));
    return from_vector(v, shape);
  };
  run_layer_test({.layer = layers::Embedding(10, 4),
                  .input_shapes = {{2, 3}},
                  .weight_names = {"embeddings"},
                  .weight_shapes = {{10, 4}},
                  .make_input = ids});
}

TEST(Embedding, LooksUpRows) {
  auto emb = built_embedding();
  Tensor y = emb(from_vector(std::vector<int32_t>{2, 0, 3, 3}, {2, 2}));
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(y.dtype(), DType::f32);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{20, 21, 22, 0, 1, 2, 30, 31, 32, 30, 31, 32}));
}

TEST(Embedding, AcceptsAnyIntegerDtypeAndCastsFloats) {
  auto emb = built_embedding();
  const std::vector<float> rows_1_2 = {10, 11, 12, 20, 21, 22};
  EXPECT_EQ(emb(from_vector(std::vector<int64_t>{1, 2}, {1, 2})).to_vector<float>(), rows_1_2);
  EXPECT_EQ(emb(from_vector(std::vector<uint8_t>{1, 2}, {1, 2})).to_vector<float>(), rows_1_2);
  // Floats are cast to int32, truncating as Keras's cast does.
  EXPECT_EQ(emb(from_vector(std::vector<float>{1.7f, 2.2f}, {1, 2})).to_vector<float>(), rows_1_2);
}

TEST(Embedding, SymbolicOutputIsFloat32) {
  layers::Embedding emb(100, 8);
  SymbolicTensor y = emb(layers::Input({5}, {.dtype = DType::i32}));
  EXPECT_EQ(y.shape, (Shape{kUnknownDim, 5, 8}));
  EXPECT_EQ(y.dtype, DType::f32);
  EXPECT_EQ(emb->compute_output_dtype({DType::i64}, {{kUnknownDim, 5}}), std::vector<DType>{DType::f32});
}

TEST(Embedding, GradientAccumulatesRepeatedIds) {
  auto emb = built_embedding();
  Tensor y = emb(from_vector(std::vector<int32_t>{1, 3, 1}, {1, 3}));
  Tensor probe = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3});
  ops::sum(y * probe).backward();
  // Row 1 receives probe rows 0 and 2; row 3 probe row 1; rows 0 and 2 nothing.
  EXPECT_EQ(emb->embeddings().value().grad().to_vector<float>(),
            (std::vector<float>{0, 0, 0, 8, 10, 12, 0, 0, 0, 4, 5, 6}));
}

TEST(Embedding, DefaultInitializerIsUniformWithin005) {
  layers::Embedding emb(50, 20);
  emb->build(Shape{kUnknownDim, 1});
  std::vector<float> v = emb->embeddings().value().to_vector<float>();
  float lo = 1, hi = -1;
  for (float e : v) lo = std::min(lo, e), hi = std::max(hi, e);
  EXPECT_GE(lo, -0.05f);
  EXPECT_LT(hi, 0.05f);
  EXPECT_LT(lo, -0.04f);  // 1000 draws span most of the interval
  EXPECT_GT(hi, 0.04f);
  EXPECT_EQ(emb->get_config().at("embeddings_initializer").at("class_name"), "RandomUniform");
}

TEST(Embedding, Config) {
  layers::Embedding emb(7, 2, {.embeddings_initializer = "zeros", .name = "emb_cfg"});
  nlohmann::json c = emb->get_config();
  EXPECT_EQ(c.at("input_dim"), 7);
  EXPECT_EQ(c.at("output_dim"), 2);
  EXPECT_EQ(c.at("mask_zero"), false);
  EXPECT_EQ(c.at("name"), "emb_cfg");
  LayerHandle copy = layers::deserialize(layers::serialize(emb));
  EXPECT_EQ(copy->get_config().dump(), c.dump());
}

TEST(Embedding, Errors) {
  auto emb = built_embedding("emb_range");
  expect_error<IndexError>(
      [&] {
        emb(from_vector(std::vector<int32_t>{0, 4}, {1, 2}));
      },
      {"emb_range", "4", "input_dim=4"});
  expect_error<IndexError>(
      [&] {
        emb(from_vector(std::vector<int64_t>{-1, 2}, {1, 2}));
      },
      {"emb_range", "-1", "input_dim=4"});
  expect_error<ValueError>([] { layers::Embedding(0, 2); }, {"input_dim=0"});
  expect_error<ValueError>([] { layers::Embedding(3, -1); }, {"output_dim=-1"});
}

}  // namespace
}  // namespace keel
