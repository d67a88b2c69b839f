// Legacy Keras HDF5 files (keras-reference §10.4), checked against an independent implementation:
// tests/io/keras_legacy.py writes files as Keras 2 (2.0 to 2.15) saved them, in Keras 2's config dialect,
// with h5py, computes the models with NumPy, and reads back with h5py what Keel writes. Also round trips
// (bitwise predictions and training), load_weights by position and by name, and the errors for bad files.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "io_test_util.h"
#include "keel/core/naming.h"
#include "keel/keel.h"
#include "test_util.h"

namespace keel {
namespace {

using keel::testing::expect_error;

int python(const std::string& args) { return run_python("keras_legacy.py", args); }

class LegacyH5 : public PythonSideTest {
 protected:
  void write(const std::string& c) const { ASSERT_EQ(python("write " + c + " " + dir.str()), 0) << c; }
};

std::vector<std::string> layer_names(const Model& m) {
  std::vector<std::string> names;
  for (const auto& l : m.layers()) names.push_back(l->name());
  return names;
}

// The model keras_legacy.py's `check` expects, trained for two steps so that Adam has state.
Model keel_model() {
  Sequential m({layers::Input({4}), layers::Dense(8, "relu"), layers::Dense(1, "sigmoid")});
  m.compile({.optimizer = optimizers::Adam({.learning_rate = 0.01}), .loss = "binary_crossentropy",
             .metrics = {"accuracy"}});
  const Tensor x = seeded({6, 4}, 1), y = (seeded({6, 1}, 2) > 0.0).astype(DType::f32);
  m.train_on_batch(x, y);
  m.train_on_batch(x, y);
  return m;
}

// --- files Keras 2 wrote, loaded here ---

TEST_F(LegacyH5, LoadsTfKeras2SequentialCompiledWithItsTrainingConfig) {
  write("tf2");
  for (const char* file : {"tf2.h5", "tf211.h5"}) {  // OptimizerV2's layout, and tf.keras 2.11's
    SCOPED_TRACE(file);
    naming::reset_names();
    Model m = saving::load_model(dir.file(file));
    EXPECT_EQ(layer_names(m), (std::vector<std::string>{"dense", "dense_1"}));
    expect_close(m.predict(npy("tf2_x.npy"), {.verbose = 0}), npy("tf2_y.npy"), 1e-5, "prediction");
    // training_config replayed: "Custom>Adam" is Adam, MeanMetricWrapper(binary_accuracy) named accuracy.
    ASSERT_TRUE(m->compiled());
    EXPECT_EQ(m.optimizer().class_name(), "Adam");
    EXPECT_NEAR(m.optimizer().learning_rate(), 0.001, 1e-9);
    // Keras 2's Adam state mapped onto Keel's (Note [Keras 2's optimizer state]): the next step is NumPy's.
    EXPECT_EQ(m.optimizer().iterations(), 7);
    m.train_on_batch(npy("tf2_xb.npy"), npy("tf2_yb.npy"));
    const auto w = m.get_weights();
    ASSERT_EQ(w.size(), 4u);
    for (size_t i = 0; i < 4; ++i)
      expect_close(w[i], npy("tf2_after_" + std::to_string(i) + ".npy"), 1e-5, "weight after a step " + std::to_string(i));
    const auto scores = m.evaluate(npy("tf2_x.npy"), (npy("tf2_y.npy") > 0.5).astype(DType::f32), {.verbose = 0});
    EXPECT_TRUE(scores.count("accuracy"));
  }
}

TEST_F(LegacyH5, Keras2OptimizerStateThatDoesNotMapStartsAFreshOptimizer) {
  ASSERT_EQ(python("bad partial_optimizer " + dir.file("p.h5")), 0);
  Model m = saving::load_model(dir.file("p.h5"));  // a warning, as in Keras 3
  ASSERT_TRUE(m->compiled());
  EXPECT_EQ(m.optimizer().iterations(), 0);
  for (const auto& v : m.optimizer().variables()) {
    if (v.name().find("momentum") != std::string::npos || v.name().find("velocity") != std::string::npos) {
      EXPECT_EQ(ops::sum(ops::abs(v.value())).item<double>(), 0.0) << v.name();
    }
  }
}

TEST_F(LegacyH5, LoadsKeras20ListConfigWithBatchInputShapeOnTheFirstLayer) {
  write("keras20");
  Model m = saving::load_model(dir.file("keras20.h5"));
  EXPECT_EQ(layer_names(m), (std::vector<std::string>{"dense_1", "dropout_1", "dense_2"}));
  EXPECT_EQ(m.inputs()[0].shape, (Shape{kUnknownDim, 3}));
  expect_close(m.predict(npy("keras20_x.npy"), {.verbose = 0}), npy("keras20_y.npy"), 1e-5, "prediction");
  ASSERT_TRUE(m->compiled());
  EXPECT_EQ(m.optimizer().class_name(), "Adam");
  EXPECT_NEAR(m.optimizer().learning_rate(), 0.002, 1e-9);  // Keras 2.0's `lr`
  EXPECT_NEAR(m.optimizer().get_config().at("epsilon").get<double>(), 1e-8, 1e-15);
  EXPECT_EQ(m->compile_options().loss.size(), 1u);
  EXPECT_EQ(m->compile_options().loss[0].identifier(), "categorical_crossentropy");
}

TEST_F(LegacyH5, LoadsKeras2FunctionalWithSharedLayerAndNodeLists) {
  write("functional");
  Model m = saving::load_model(dir.file("functional.h5"));
  EXPECT_EQ(m.name(), "two_tower");
  EXPECT_EQ(layer_names(m), (std::vector<std::string>{"in_a", "in_b", "shared", "concatenate", "out1", "out2"}));
  EXPECT_EQ(m.weights().size(), 6u);  // the shared Dense is one layer
  const auto y = m.predict_outputs({npy("functional_xa.npy"), npy("functional_xb.npy")}, {.verbose = 0});
  ASSERT_EQ(y.size(), 2u);
  expect_close(y[0], npy("functional_y0.npy"), 1e-5, "output 0");
  expect_close(y[1], npy("functional_y1.npy"), 1e-5, "output 1");
  ASSERT_TRUE(m->compiled());
  EXPECT_EQ(m.optimizer().class_name(), "SGD");
  EXPECT_EQ(m->compile_options().loss_weights, (std::vector<double>{1.0, 0.5}));
}

TEST_F(LegacyH5, LoadsKeras2ConvBatchNormalization) {
  write("conv_bn");
  Model m = saving::load_model(dir.file("conv_bn.h5"));
  EXPECT_FALSE(m->compiled());  // no training_config in the file
  expect_close(m.predict(npy("conv_bn_x.npy"), {.verbose = 0}), npy("conv_bn_y.npy"), 1e-4, "prediction");
}

TEST_F(LegacyH5, LoadsKeras2EmbeddingLstm) {
  write("embed_lstm");
  Model m = saving::load_model(dir.file("embed_lstm.h5"));
  EXPECT_EQ(m.inputs()[0].shape, (Shape{kUnknownDim, 5}));  // Embedding's batch_input_shape
  expect_close(m.predict(npy("embed_lstm_x.npy"), {.verbose = 0}), npy("embed_lstm_y.npy"), 1e-5, "prediction");
}

// --- load_weights from legacy files ---

TEST_F(LegacyH5, LoadWeightsByPositionFromAModelFileAndAWeightsFile) {
  write("tf2");
  Sequential m({layers::Input({4}), layers::Dense(8, "relu"), layers::Dense(1, "sigmoid")});
  m.load_weights(dir.file("tf2.h5"));  // the model file's model_weights
  expect_close(m.predict(npy("tf2_x.npy"), {.verbose = 0}), npy("tf2_y.npy"), 1e-5, "prediction");

  write("weights");  // three saved layers: by position, a two-layer model does not fit
  Sequential two({layers::Input({4}), layers::Dense(8, "relu"), layers::Dense(1, "sigmoid")});
  expect_error<ValueError>([&] { two.load_weights(dir.file("weights.h5")); },
                           {"Layer count mismatch", "Model expected 2 layers, found 3 saved layers"});
  Sequential three({layers::Input({4}), layers::Dense(8, "relu"), layers::Dense(1, "sigmoid"), layers::Dense(2)});
  const Tensor first = three.get_weights()[0].clone();
  expect_error<ValueError>([&] { three.load_weights(dir.file("weights.h5")); },
                           {"Shape mismatch in layer #2 (named dense_", "Weight expects shape (1, 2)",
                            "Received saved weight with shape (2, 2)"});
  EXPECT_TRUE(bitwise_equal(three.get_weights()[0], first)) << "nothing is assigned when loading fails";
}

TEST_F(LegacyH5, LoadWeightsByNameMatchesLayerNames) {
  write("weights");
  // Layers named as in the file, in another order, with one the file does not have.
  auto in = layers::Input({4});
  layers::Dense d1(1, layers::DenseOptions{.activation = "sigmoid", .name = "dense_1"});
  layers::Dense d0(8, layers::DenseOptions{.activation = "relu", .name = "dense"});
  layers::Dense other(3, layers::DenseOptions{.name = "other"});
  auto h = d0(in);
  Model m(in, d1(h));
  Model side(in, other(in));
  const Tensor other_before = side.get_weights()[0].clone();
  m.load_weights(dir.file("weights.h5"), {.by_name = true});
  const auto w = m.get_weights();
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(bitwise_equal(w[i], npy("weights_w" + std::to_string(i) + ".npy"))) << "weight " << i;
  // by_name applies to legacy files only, as in Keras.
  m.save_weights(dir.file("m.weights.h5"));
  expect_error<ValueError>([&] { m.load_weights(dir.file("m.weights.h5"), {.by_name = true}); },
                           {"by_name applies to legacy"});
  // A layer of the right name but the wrong shape: an error, or skipped with skip_mismatch.
  auto in2 = layers::Input({4});
  Model wrong(in2, layers::Dense(5, layers::DenseOptions{.name = "dense"})(in2));
  expect_error<ValueError>([&] { wrong.load_weights(dir.file("weights.h5"), {.by_name = true}); },
                           {"Shape mismatch", "named dense", "Weight expects shape (4, 5)"});
  const Tensor before = wrong.get_weights()[0].clone();
  wrong.load_weights(dir.file("weights.h5"), {.skip_mismatch = true, .by_name = true});
  EXPECT_TRUE(bitwise_equal(wrong.get_weights()[0], before));
}

// --- files saved here ---

TEST_F(LegacyH5, SavedModelHasTheLegacyLayout) {
  Model m = keel_model();
  m.save(dir.file("m.h5"));
  // The values keras_legacy.py compares with the datasets: w<i>.npy (weights), opt<i>.npy (optimizer).
  auto npy_name = [](const char* prefix, size_t i) { return std::string(prefix).append(std::to_string(i)).append(".npy"); };
  const auto w = m.get_weights();
  for (size_t i = 0; i < w.size(); ++i) data::write_npy(dir.file(npy_name("w", i)), w[i]);
  const auto opt = m.optimizer().variables();
  for (size_t i = 0; i < opt.size(); ++i) data::write_npy(dir.file(npy_name("opt", i)), opt[i].value());
  EXPECT_EQ(python("check " + dir.file("m.h5") + " " + dir.str()), 0);
}

TEST_F(LegacyH5, RoundTripIsBitwiseAndTrainsIdentically) {
  Model m = keel_model();
  m.save(dir.file("m.h5"));
  Model loaded = saving::load_model(dir.file("m.h5"));
  const Tensor x = seeded({7, 4}, 7);
  EXPECT_TRUE(bitwise_equal(loaded.predict(x, {.verbose = 0}), m.predict(x, {.verbose = 0})));
  ASSERT_TRUE(loaded->compiled());
  EXPECT_EQ(loaded.optimizer().iterations(), 2);  // Keel's own optimizer layout loads back
  const Tensor xb = seeded({6, 4}, 5), yb = (seeded({6, 1}, 6) > 0.0).astype(DType::f32);
  for (int step = 0; step < 3; ++step) {
    m.train_on_batch(xb, yb);
    loaded.train_on_batch(xb, yb);
  }
  const auto a = m.get_weights(), b = loaded.get_weights();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(bitwise_equal(a[i], b[i])) << "weight " << i;
}

TEST_F(LegacyH5, FunctionalRoundTripAndLongLayerNamesSplitIntoChunks) {
  // 70 layers named with 1000 characters: `layer_names` exceeds 64512 bytes and is split as Keras splits it.
  auto in = layers::Input({2});
  SymbolicTensor h = in;
  for (int i = 0; i < 70; ++i)
    h = layers::Dense(2, layers::DenseOptions{.name = std::string(995, 'x') + std::to_string(10000 + i)})(h);
  Model m(in, h, "deep");
  m.save(dir.file("deep.h5"));
  Model loaded = saving::load_model(dir.file("deep.h5"));
  EXPECT_EQ(layer_names(loaded), layer_names(m));
  const Tensor x = seeded({3, 2}, 3);
  EXPECT_TRUE(bitwise_equal(loaded.predict(x, {.verbose = 0}), m.predict(x, {.verbose = 0})));
  EXPECT_EQ(run_python("keras_legacy.py", "chunks " + dir.file("deep.h5")), 0);
}

TEST_F(LegacyH5, ModelCheckpointSavesLegacyWholeModels) {
  Model m = keel_model();
  const Tensor x = seeded({16, 4}, 11), y = (seeded({16, 1}, 12) > 0.0).astype(DType::f32);
  m.fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0,
               .callbacks = {callbacks::ModelCheckpoint(dir.file("ckpt_{epoch:02d}.h5"), {.monitor = "loss"})},
               .shuffle = false});
  Model last = saving::load_model(dir.file("ckpt_02.h5"));
  EXPECT_TRUE(bitwise_equal(last.predict(x, {.verbose = 0}), m.predict(x, {.verbose = 0})));
  EXPECT_EQ(last.optimizer().iterations(), m.optimizer().iterations());
  EXPECT_TRUE(std::filesystem::exists(dir.file("ckpt_01.h5")));
}

// --- bad files ---

TEST_F(LegacyH5, RefusesLambdaLayersUnderSafeModeAndWithout) {
  ASSERT_EQ(python("bad lambda " + dir.file("l.h5")), 0);
  expect_error<ValueError>([&] { saving::load_model(dir.file("l.h5")); },
                           {"Layer 'lambda' (Lambda)", "arbitrary code", "safe_mode"});
  expect_error<UnimplementedError>([&] { saving::load_model(dir.file("l.h5"), {.safe_mode = false}); },
                                   {"Layer 'lambda' (Lambda)", "cannot execute Python code"});
}

TEST_F(LegacyH5, BadFilesGiveClearErrors) {
  ASSERT_EQ(python("bad no_config " + dir.file("w.h5")), 0);
  expect_error<ValueError>([&] { saving::load_model(dir.file("w.h5")); }, {"No model config found", "w.h5"});
  ASSERT_EQ(python("bad bad_json " + dir.file("j.h5")), 0);
  expect_error<ValueError>([&] { saving::load_model(dir.file("j.h5")); },
                           {"Malformed JSON", "model_config", "j.h5", "at byte"});
  ASSERT_EQ(python("bad missing_group " + dir.file("g.h5")), 0);
  expect_error<ValueError>([&] { saving::load_model(dir.file("g.h5")); }, {"lists layer 'dense'", "not a group"});
  ASSERT_EQ(python("bad layer_count " + dir.file("c.h5")), 0);
  expect_error<ValueError>([&] { saving::load_model(dir.file("c.h5")); },
                           {"Layer count mismatch", "Model expected 2 layers, found 1 saved layers"});
  expect_error<NotFoundError>([&] { saving::load_model(dir.file("missing.h5")); }, {"missing.h5"});
  write_bytes(dir.file("text.h5"), "not an hdf5 file at all");
  expect_error<ValueError>([&] { saving::load_model(dir.file("text.h5")); }, {"text.h5", "not an HDF5 file"});
  const std::string good = [&] {
    keel_model().save(dir.file("good.h5"));
    return read_bytes(dir.file("good.h5"));
  }();
  write_bytes(dir.file("cut.h5"), good.substr(0, good.size() / 2));
  expect_error<ValueError>([&] { saving::load_model(dir.file("cut.h5")); }, {"cut.h5"});
  // A weights file Keras 3 writes is not a legacy one.
  Sequential m({layers::Input({4}), layers::Dense(8, "relu"), layers::Dense(1, "sigmoid")});
  m.save_weights(dir.file("k3.weights.h5"));
  std::filesystem::copy_file(dir.file("k3.weights.h5"), dir.file("k3.h5"));
  expect_error<ValueError>([&] { m.load_weights(dir.file("k3.h5")); }, {"not a legacy Keras weights file", "k3.h5"});
}

}  // namespace
}  // namespace keel
