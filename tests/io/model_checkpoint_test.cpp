// ModelCheckpoint (keras-reference §9.3) and the Python str.format it names files with. The expected file
// names and formatted strings were computed with CPython 3.11's str.format; the expected weights are the
// model's own, captured by a callback at the moment Keras saves them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include "io/python_format.h"
#include "keel/core/naming.h"
#include "keel/keel.h"
#include "io_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

using saving::detail::FormatValue;
using saving::detail::python_format;

TEST(PythonFormat, MatchesCPythonStrFormat) {
  const double kNan = std::numeric_limits<double>::quiet_NaN(), kInf = std::numeric_limits<double>::infinity();
  const std::vector<std::tuple<std::string, std::map<std::string, FormatValue>, std::string>> cases = {
      {"{epoch:02d}", {{"epoch", int64_t{5}}}, "05"},
      {"{epoch:02d}-{val_loss:.2f}.keras", {{"epoch", int64_t{12}}, {"val_loss", 0.123456}}, "12-0.12.keras"},
      {"{loss}", {{"loss", 0.5}}, "0.5"},
      {"{loss}", {{"loss", 1e-05}}, "1e-05"},
      {"{loss}", {{"loss", 0.1 + 0.2}}, "0.30000000000000004"},
      {"{x:>8.3f}|", {{"x", 3.14159}}, "   3.142|"},
      {"{x:<8.3f}|", {{"x", -3.14159}}, "-3.142  |"},
      {"{x:^9.1f}|", {{"x", 2.25}}, "   2.2   |"},
      {"{x:*^9.1f}|", {{"x", 2.25}}, "***2.2***|"},
      {"{x:+.2e}", {{"x", 12345.678}}, "+1.23e+04"},
      {"{x:08.3f}", {{"x", -3.14159}}, "-003.142"},
      {"{x:.1%}", {{"x", 0.98765}}, "98.8%"},
      {"{x:g}", {{"x", 0.0001234}}, "0.0001234"},
      {"{x:.3}", {{"x", 1.0}}, "1.0"},
      {"{x:.3}", {{"x", 1234.5}}, "1.23e+03"},
      {"{{epoch}}-{epoch}", {{"epoch", int64_t{3}}}, "{epoch}-3"},
      {"{e:05d}", {{"e", int64_t{-42}}}, "-0042"},
      {"{x:.2f}", {{"x", int64_t{7}}}, "7.00"},
      {"{x: d}", {{"x", int64_t{7}}}, " 7"},
      {"{x:.2f}", {{"x", kNan}}, "nan"},
      {"{x:E}", {{"x", kInf}}, "INF"},
  };
  for (const auto& [pattern, values, expected] : cases) EXPECT_EQ(python_format(pattern, values), expected) << pattern;
}

TEST(PythonFormat, ErrorsNameThePatternAndTheReason) {
  testing::expect_error<ValueError>([&] { python_format("ckpt-{val_loss:.2f}.weights.h5", {{"loss", 0.5}}); }, "Failed to format this callback filepath: \"ckpt-{val_loss:.2f}.weights.h5\". Reason: KeyError: 'val_loss'");
  testing::expect_error<ValueError>([&] { python_format("{loss:d}", {{"loss", 0.5}}); }, "Unknown format code 'd' for object of type 'float'");
  testing::expect_error<ValueError>([&] { python_format("{epoch:,d}", {{"epoch", int64_t{1}}}); }, "unsupported format specifier ',d'");
  testing::expect_error<ValueError>([&] { python_format("{epoch", {{"epoch", int64_t{1}}}); }, "expected '}' before end of string");
  testing::expect_error<ValueError>([&] { python_format("a}b", {}); }, "Single '}' encountered");
}

// A small binary classifier and data whose loss falls every epoch (4 batches of 16 per epoch).
struct Fixture {
  Tensor x, y;
  Sequential model;
  Fixture() {
    naming::reset_names();
    random::set_seed(3);
    x = random::normal({64, 4});
    y = (ops::sum(x, {1}, true) > 0.0).astype(DType::f32);
    model = make();
    model.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
  }
  static Sequential make() {
    return Sequential({layers::Input({4}), layers::Dense(8, "relu"), layers::Dense(1, "sigmoid")});
  }
  // The model's predictions after loading `path` into a fresh copy.
  std::vector<float> predictions_from(const std::string& path) const {
    Sequential other = make();
    other.load_weights(path);
    return other.predict(x, {.verbose = 0}).to_vector<float>();
  }
  std::vector<float> predictions() const { return model.predict(x, {.verbose = 0}).to_vector<float>(); }
};

// Records the weights at each epoch end (after the checkpoint, which comes first in the list).
struct WeightsAtEpochEnd : Callback {
  std::vector<std::vector<Tensor>> per_epoch;
  void on_epoch_end(int, Logs&) override { per_epoch.push_back(model().get_weights()); }
};

TEST(ModelCheckpoint, EpochTemplateNamesEachFileFromTheLogs) {
  TempDir dir;
  Fixture f;
  auto checkpoint = std::make_shared<callbacks::ModelCheckpoint>(
      dir.file("ckpt/{epoch:02d}-{loss:.4f}.weights.h5"), callbacks::ModelCheckpointOptions{.save_weights_only = true});
  auto recorder = std::make_shared<WeightsAtEpochEnd>();
  History h = f.model.fit(f.x, f.y, {.batch_size = 16, .epochs = 3, .verbose = 0, .callbacks = {checkpoint, recorder}});

  ASSERT_EQ(checkpoint->saved_paths().size(), 3u);
  for (int e = 0; e < 3; ++e) {
    char name[64];
    std::snprintf(name, sizeof(name), "ckpt/%02d-%.4f.weights.h5", e + 1, h.history.at("loss")[e]);
    EXPECT_EQ(checkpoint->saved_paths()[e], dir.file(name));
    // Each file holds the weights of its epoch's end.
    Sequential other = Fixture::make();
    other.load_weights(checkpoint->saved_paths()[e]);
    const auto saved = other.get_weights();
    ASSERT_EQ(saved.size(), recorder->per_epoch[e].size());
    for (size_t i = 0; i < saved.size(); ++i)
      EXPECT_EQ(saved[i].to_vector<float>(), recorder->per_epoch[e][i].to_vector<float>()) << "epoch " << e << " var " << i;
  }
  EXPECT_EQ(f.predictions_from(checkpoint->saved_paths().back()), f.predictions());
}

TEST(ModelCheckpoint, SaveBestOnlyKeepsTheBestEpoch) {
  TempDir dir;
  Fixture f;
  // Loss falls every epoch, so with mode "max" only the first epoch is an improvement.
  auto checkpoint = std::make_shared<callbacks::ModelCheckpoint>(
      dir.file("best.weights.h5"),
      callbacks::ModelCheckpointOptions{.monitor = "loss", .verbose = 1, .save_best_only = true,
                                        .save_weights_only = true, .mode = "max"});
  auto recorder = std::make_shared<WeightsAtEpochEnd>();
  ::testing::internal::CaptureStdout();
  History h = f.model.fit(f.x, f.y, {.batch_size = 16, .epochs = 3, .verbose = 0, .callbacks = {checkpoint, recorder}});
  const std::string out = ::testing::internal::GetCapturedStdout();
  const auto& loss = h.history.at("loss");
  ASSERT_TRUE(loss[1] < loss[0] && loss[2] < loss[0]);

  ASSERT_EQ(checkpoint->saved_paths(), std::vector<std::string>{dir.file("best.weights.h5")});
  ASSERT_TRUE(checkpoint->best().has_value());
  EXPECT_EQ(*checkpoint->best(), loss[0]);
  char line[512];
  std::snprintf(line, sizeof(line), "\nEpoch 1: loss improved from None to %.5f, saving model to %s\n", loss[0],
                dir.file("best.weights.h5").c_str());
  EXPECT_NE(out.find(line), std::string::npos) << out;
  std::snprintf(line, sizeof(line), "\nEpoch 2: loss did not improve from %.5f\n", loss[0]);
  EXPECT_NE(out.find(line), std::string::npos) << out;
  EXPECT_NE(out.find("\nEpoch 1: finished saving model to "), std::string::npos) << out;
  Sequential other = Fixture::make();
  other.load_weights(dir.file("best.weights.h5"));
  EXPECT_EQ(other.get_weights()[0].to_vector<float>(), recorder->per_epoch[0][0].to_vector<float>());
  EXPECT_NE(other.get_weights()[0].to_vector<float>(), f.model.get_weights()[0].to_vector<float>());
}

TEST(ModelCheckpoint, InitialValueThresholdMustBeBeaten) {
  TempDir dir;
  Fixture f;
  // No loss is below 0: nothing is saved.
  auto checkpoint = std::make_shared<callbacks::ModelCheckpoint>(
      dir.file("best.weights.h5"), callbacks::ModelCheckpointOptions{.monitor = "loss", .save_best_only = true,
                                                                     .save_weights_only = true,
                                                                     .initial_value_threshold = 0.0});
  f.model.fit(f.x, f.y, {.batch_size = 16, .epochs = 2, .verbose = 0, .callbacks = {checkpoint}});
  EXPECT_TRUE(checkpoint->saved_paths().empty());
  EXPECT_TRUE(dir.entries().empty());
  EXPECT_EQ(*checkpoint->best(), 0.0);
}

TEST(ModelCheckpoint, SaveFreqCountsBatchesAcrossEpochs) {
  TempDir dir;
  Fixture f;
  // 4 batches an epoch, a save every 3: after batch 3 of epoch 1 and batch 2 of epoch 2 (1-based).
  auto checkpoint = std::make_shared<callbacks::ModelCheckpoint>(
      dir.file("e{epoch}-b{batch}.weights.h5"),
      callbacks::ModelCheckpointOptions{.save_weights_only = true, .save_freq = 3});
  f.model.fit(f.x, f.y, {.batch_size = 16, .epochs = 2, .verbose = 0, .callbacks = {checkpoint}, .shuffle = false});
  EXPECT_EQ(checkpoint->saved_paths(),
            (std::vector<std::string>{dir.file("e1-b3.weights.h5"), dir.file("e2-b2.weights.h5")}));
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"e1-b3.weights.h5", "e2-b2.weights.h5"}));
}

TEST(ModelCheckpoint, WholeModelsGoToKerasArchivesThatLoadAndTrainOn) {
  TempDir dir;
  Fixture f;
  callbacks::ModelCheckpoint checkpoint(dir.file("model-{epoch}.keras"));
  f.model.fit(f.x, f.y, {.batch_size = 16, .epochs = 2, .verbose = 0, .callbacks = {checkpoint}});
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"model-1.keras", "model-2.keras"}));
  Model loaded = saving::load_model(dir.file("model-2.keras"));
  EXPECT_EQ(loaded.predict(f.x, {.verbose = 0}).to_vector<float>(), f.predictions());
  // The optimizer's state came along: one more identical step on both gives identical weights.
  f.model.train_on_batch(f.x, f.y);
  loaded.train_on_batch(f.x, f.y);
  EXPECT_EQ(loaded.get_weights()[0].to_vector<float>(), f.model.get_weights()[0].to_vector<float>());
}

TEST(ModelCheckpoint, RefusesWhatKerasRefusesAndWhatKeelCannotSave) {
  testing::expect_error<ValueError>([&] { callbacks::ModelCheckpoint("w.h5", {.save_weights_only = true}); }, "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must end in "
                   "`.weights.h5` (Keras weights format). Received: filepath=w.h5");
  testing::expect_error<ValueError>([&] { callbacks::ModelCheckpoint("model.ckpt"); }, "The filepath provided must end in `.keras` (Keras model format). Received: filepath=model.ckpt");
  callbacks::ModelCheckpoint legacy("model.h5");  // whole models in the legacy HDF5 format, as in Keras
  testing::expect_error<ValueError>([&] { callbacks::ModelCheckpoint("w.weights.h5", {.save_weights_only = true, .save_freq = 0}); }, "Unrecognized save_freq: 0");
  testing::expect_error<ValueError>([&] { callbacks::ModelCheckpoint("w.weights.h5", {.save_weights_only = true, .save_freq = "batch"}); }, "Unrecognized save_freq: batch. Expected save_freq are 'epoch' or integer values");
}

TEST(ModelCheckpoint, BadTemplatesAndDirectoriesAreClearErrors) {
  TempDir dir;
  Fixture f;
  callbacks::ModelCheckpoint missing_key(dir.file("{val_loss:.2f}.weights.h5"), {.save_weights_only = true});
  testing::expect_error<ValueError>([&] { f.model.fit(f.x, f.y, {.batch_size = 16, .epochs = 1, .verbose = 0, .callbacks = {missing_key}}); }, "Reason: KeyError: 'val_loss'");
  std::filesystem::create_directories(dir.file("taken.weights.h5"));
  callbacks::ModelCheckpoint onto_directory(dir.file("taken.weights.h5"), {.save_weights_only = true});
  testing::expect_error<Error>([&] { f.model.fit(f.x, f.y, {.batch_size = 16, .epochs = 1, .verbose = 0, .callbacks = {onto_directory}}); }, "Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing directory: ");
}

}  // namespace
}  // namespace keel
