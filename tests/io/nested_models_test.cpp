// Nested models in `.keras` archives (keras-reference §10.2-10.3): a Sequential used as a layer of a
// Functional model, a Functional model inside a Sequential, and three levels. Checked against
// tests/io/keras_archive.py: an archive written in Keras 3's layout with h5py/zipfile loads and predicts
// what NumPy computes from the same weights, and the archives Keel writes have Keras's config.json entries
// and `.weights.h5` paths (layers/sequential/layers/dense/vars/0, ...). Round trips are bitwise.
#include <gtest/gtest.h>

#include <cstring>

#include "keel/core/naming.h"
#include "keel/keel.h"
#include "io_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

using keel::testing::expect_error;

int python(const std::string& args) { return run_python("keras_archive.py", args); }

class NestedModels : public PythonSideTest {};

// Functional 'outer': Input(4) 'x' -> Sequential 'inner' [Input 4, Dense 8 relu, Dense 3] -> Dense 1 sigmoid 'head'
// (the model keras_archive.py's `check nested` expects).
Model seq_in_functional(bool inner_has_input = true) {
  Sequential inner = inner_has_input
                         ? Sequential({layers::Input({4}), layers::Dense(8, "relu"), layers::Dense(3)}, {.name = "inner"})
                         : Sequential({layers::Dense(8, "relu"), layers::Dense(3)}, {.name = "inner"});
  auto x = layers::Input({4}, {.name = "x"});
  auto h = LayerHandle(inner)(x);
  auto y = layers::Dense(1, layers::DenseOptions{.activation = "sigmoid", .name = "head"})(h);
  return Model(x, y, "outer");
}

// Sequential 'top' [Input 4, Functional 'mid' (Input 4 -> Sequential 'bottom' [Dense 5 tanh] -> Dense 3), Dense 2].
Model three_levels() {
  Sequential bottom({layers::Input({4}), layers::Dense(5, "tanh")}, {.name = "bottom"});
  auto in = layers::Input({4});
  Model mid(in, layers::Dense(3)(LayerHandle(bottom)(in)), "mid");
  return Sequential({layers::Input({4}), LayerHandle(mid), layers::Dense(2)}, {.name = "top"});
}

// --- an archive Keras writes, loaded here ---

TEST_F(NestedModels, LoadsKerasSequentialInsideFunctionalAndPredictsAsNumPy) {
  ASSERT_EQ(python("write nested " + dir.str()), 0);
  Model m = saving::load_model(dir.file("nested.keras"));
  EXPECT_EQ(m.name(), "outer");
  ASSERT_EQ(m.layers().size(), 3u);
  EXPECT_EQ(m.layers()[1]->name(), "inner");
  EXPECT_EQ(m.layers()[1]->class_name(), "Sequential");
  auto* inner = dynamic_cast<ModelImpl*>(m.layers()[1].get());
  ASSERT_NE(inner, nullptr);
  ASSERT_EQ(inner->layers().size(), 2u);
  EXPECT_EQ(inner->layers()[1]->name(), "dense_1");
  EXPECT_EQ(m.weights().size(), 6u);
  expect_close(m.predict(npy("nested_x.npy"), {.verbose = 0}), npy("nested_y.npy"), 1e-5, "prediction");
}

// --- archives saved here, read by the Python side ---

TEST_F(NestedModels, SavedSequentialInsideFunctionalHasKerasLayout) {
  Model m = seq_in_functional();
  m.save(dir.file("n.keras"));
  EXPECT_EQ(python("check nested " + dir.file("n.keras")), 0);
}

TEST_F(NestedModels, SavedThreeLevelsHaveKerasLayout) {
  Model m = three_levels();
  m.compile({.optimizer = "adam", .loss = "mse"});
  m.train_on_batch(seeded({5, 4}, 1), seeded({5, 2}, 2));
  m.save(dir.file("n3.keras"));
  EXPECT_EQ(python("check nested3 " + dir.file("n3.keras")), 0);
}

// --- round trips ---

TEST_F(NestedModels, SequentialInsideFunctionalRoundTripIsBitwise) {
  for (bool inner_has_input : {true, false}) {
    SCOPED_TRACE(inner_has_input ? "inner Sequential with an Input" : "inner Sequential built by the call");
    naming::reset_names();
    Model m = seq_in_functional(inner_has_input);
    m.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
    const Tensor xb = seeded({6, 4}, 3), yb = (seeded({6, 1}, 4) > 0.0).astype(DType::f32);
    m.train_on_batch(xb, yb);
    m.save(dir.file("n.keras"));
    Model loaded = saving::load_model(dir.file("n.keras"));
    const Tensor x = seeded({7, 4}, 5);
    expect_bitwise(loaded.predict(x, {.verbose = 0}), m.predict(x, {.verbose = 0}), "prediction");
    expect_same_weights(loaded, m, "weights");
    ASSERT_TRUE(loaded->compiled());
    EXPECT_EQ(loaded.optimizer().iterations(), 1);
    // Training continues identically (the optimizer's slots for the nested weights loaded too).
    for (int step = 0; step < 2; ++step) {
      m.train_on_batch(xb, yb);
      loaded.train_on_batch(xb, yb);
    }
    expect_same_weights(loaded, m, "after 2 more steps");
  }
}

TEST_F(NestedModels, FunctionalInsideSequentialRoundTripIsBitwise) {
  auto a = layers::Input({3});
  auto h = layers::Dense(6, "relu")(a);
  Model block(a, layers::Dense(4)(h), "block");
  Sequential m({layers::Input({3}), LayerHandle(block), layers::Dense(2, "softmax")}, {.name = "wrapper"});
  m.save(dir.file("f.keras"));
  Model loaded = saving::load_model(dir.file("f.keras"));
  ASSERT_EQ(loaded.layers().size(), 2u);
  EXPECT_EQ(loaded.layers()[0]->class_name(), "Functional");
  EXPECT_EQ(loaded.layers()[0]->name(), "block");
  const Tensor x = seeded({5, 3}, 6);
  expect_bitwise(loaded.predict(x, {.verbose = 0}), m.predict(x, {.verbose = 0}), "prediction");
  expect_same_weights(loaded, m, "weights");
}

TEST_F(NestedModels, ThreeLevelsRoundTripIsBitwiseAndWeightFilesLoadIntoTheSameArchitecture) {
  Model m = three_levels();
  m.save(dir.file("n3.keras"));
  Model loaded = saving::load_model(dir.file("n3.keras"));
  const Tensor x = seeded({4, 4}, 7);
  expect_bitwise(loaded.predict(x, {.verbose = 0}), m.predict(x, {.verbose = 0}), "prediction");
  // save_weights / load_weights walk the nested models the same way.
  m.save_weights(dir.file("n3.weights.h5"));
  naming::reset_names();
  Model fresh = three_levels();
  fresh.load_weights(dir.file("n3.weights.h5"));
  expect_bitwise(fresh.predict(x, {.verbose = 0}), m.predict(x, {.verbose = 0}), "prediction after load_weights");
}

TEST_F(NestedModels, NestedLayersAreCheckedAsTopLevelOnes) {
  ASSERT_EQ(python("bad nested_lambda " + dir.file("l.keras")), 0);
  // The Lambda is named, not the Sequential holding it.
  expect_error<ValueError>([&] { saving::load_model(dir.file("l.keras")); }, "Layer 'deep_lambda' (Lambda)",
                           "arbitrary code");
}

}  // namespace
}  // namespace keel
