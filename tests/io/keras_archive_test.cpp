// model.save / load_model with Keras 3's `.keras` archives (keras-reference §10.1-10.2, 10.5), checked
// against an independent implementation: tests/io/keras_archive.py writes archives in Keras 3's layout
// with zipfile/json/h5py and computes the models with NumPy (one Adam step included), and reads Keel's
// archives back to check the entries, metadata, config.json's structure and the weights layout. Also
// round trips (bitwise-equal predictions and training) and the errors for bad or unsupported files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "keel/core/naming.h"
#include "keel/keel.h"
#include "data/hand_made_files.h"
#include "io_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

namespace fs = std::filesystem;
using keel::testing::expect_error;



int python(const std::string& args) { return run_python("keras_archive.py", args); }

class KerasArchive : public PythonSideTest {};

// --- the models of keras_archive.py, built in Keel ---

Model seq_model() {
  Sequential m({layers::Input({4}), layers::Dense(8, "relu"), layers::Dense(1, "sigmoid")});
  m.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
  return m;
}

Model func_model() {
  auto a = layers::Input({3}, {.name = "in_a"});
  auto b = layers::Input({3}, {.name = "in_b"});
  layers::Dense shared(4, layers::DenseOptions{.activation = "relu", .name = "shared"});
  auto ha = shared(a);
  auto hb = shared(b);
  auto sum = layers::Add()({ha, hb});
  auto out1 = layers::Dense(2, layers::DenseOptions{.name = "out1"})(sum);
  auto out2 = layers::Dense(1, layers::DenseOptions{.activation = "sigmoid", .name = "out2"})(hb);
  Model m({a, b}, {out1, out2}, "two_tower");
  m.compile({.optimizer = "adam", .loss = {"mse", "binary_crossentropy"}});
  return m;
}

// --- archives Keras writes, loaded here ---

TEST_F(KerasArchive, LoadsKerasSequentialPredictsAndContinuesAdam) {
  ASSERT_EQ(python("write seq " + dir.str()), 0);
  Model m = saving::load_model(dir.file("seq.keras"));
  ASSERT_EQ(m.layers().size(), 2u);
  EXPECT_EQ(m.layers()[0]->name(), "dense");
  EXPECT_EQ(m.layers()[1]->name(), "dense_1");
  expect_close(m.predict(npy("seq_x.npy"), {.verbose = 0}), npy("seq_y.npy"), 1e-5, "prediction");
  // compile_config replayed, Adam's state loaded (3 steps taken in the file).
  ASSERT_TRUE(m->compiled());
  EXPECT_EQ(m.optimizer().class_name(), "Adam");
  EXPECT_EQ(m.optimizer().iterations(), 3);
  m.train_on_batch(npy("seq_xb.npy"), npy("seq_yb.npy"));
  EXPECT_EQ(m.optimizer().iterations(), 4);
  const auto w = m.get_weights();
  ASSERT_EQ(w.size(), 4u);
  for (size_t i = 0; i < 4; ++i)
    expect_close(w[i], npy("seq_after_" + std::to_string(i) + ".npy"), 1e-5, "weight after a step " + std::to_string(i));
}

TEST_F(KerasArchive, LoadsKerasSequentialWithoutCompiling) {
  ASSERT_EQ(python("write seq " + dir.str()), 0);
  Model m = saving::load_model(dir.file("seq.keras"), {.compile = false});
  EXPECT_FALSE(m->compiled());
  expect_close(m.predict(npy("seq_x.npy"), {.verbose = 0}), npy("seq_y.npy"), 1e-5, "prediction");
}

TEST_F(KerasArchive, LoadsKerasFunctionalWithSharedLayerTwoInputsTwoOutputs) {
  ASSERT_EQ(python("write func " + dir.str()), 0);
  Model m = models::load_model(dir.file("func.keras"));
  EXPECT_EQ(m.name(), "two_tower");
  EXPECT_FALSE(m->compiled());  // the archive has no compile_config
  ASSERT_EQ(m.inputs().size(), 2u);
  ASSERT_EQ(m.outputs().size(), 2u);
  std::vector<std::string> names;
  for (const auto& l : m.layers()) names.push_back(l->name());
  EXPECT_EQ(names, (std::vector<std::string>{"in_a", "in_b", "shared", "add", "out1", "out2"}));
  const auto y = m.predict_outputs({npy("func_a.npy"), npy("func_b.npy")}, {.verbose = 0});
  ASSERT_EQ(y.size(), 2u);
  expect_close(y[0], npy("func_y0.npy"), 1e-5, "output 0");
  expect_close(y[1], npy("func_y1.npy"), 1e-5, "output 1");
}

// --- archives saved here, read by the Python side ---

TEST_F(KerasArchive, SavedSequentialHasKerasLayout) {
  Model m = seq_model();
  m.train_on_batch(seeded({6, 4}, 1), (seeded({6, 1}, 2) > 0.0).astype(DType::f32));
  m.save(dir.file("m.keras"));
  EXPECT_EQ(python("check seq " + dir.file("m.keras")), 0);
}

TEST_F(KerasArchive, SavedFunctionalHasKerasLayout) {
  Model m = func_model();
  m.fit({seeded({5, 3}, 1), seeded({5, 3}, 2)}, {seeded({5, 2}, 3), (seeded({5, 1}, 4) > 0.0).astype(DType::f32)},
        {.batch_size = 5, .verbose = 0});
  m.save(dir.file("f.keras"));
  EXPECT_EQ(python("check func " + dir.file("f.keras")), 0);
}

// --- round trips ---

TEST_F(KerasArchive, SequentialRoundTripIsBitwiseAndTrainsIdentically) {
  Model m = seq_model();
  const Tensor xb = seeded({6, 4}, 5), yb = (seeded({6, 1}, 6) > 0.0).astype(DType::f32);
  m.train_on_batch(xb, yb);
  m.train_on_batch(xb, yb);
  m.save(dir.file("m.keras"));
  Model loaded = saving::load_model(dir.file("m.keras"));
  const Tensor x = seeded({7, 4}, 7);
  expect_bitwise(loaded.predict(x, {.verbose = 0}), m.predict(x, {.verbose = 0}), "prediction");
  ASSERT_TRUE(loaded->compiled());
  EXPECT_EQ(loaded.optimizer().iterations(), 2);
  const auto before = loaded.optimizer().variables(), saved = m.optimizer().variables();
  ASSERT_EQ(before.size(), saved.size());
  for (size_t i = 0; i < saved.size(); ++i) expect_bitwise(before[i].value(), saved[i].value(), "optimizer variable");
  // The same further steps on both: identical weights.
  for (int step = 0; step < 3; ++step) {
    m.train_on_batch(xb, yb);
    loaded.train_on_batch(xb, yb);
  }
  expect_same_weights(loaded, m, "after 3 more steps");
  const auto scores_a = m.evaluate(x, (ops::slice(x, {0, 0}, {7, 1}) > 0.0).astype(DType::f32), {.verbose = 0});
  const auto scores_b = loaded.evaluate(x, (ops::slice(x, {0, 0}, {7, 1}) > 0.0).astype(DType::f32), {.verbose = 0});
  EXPECT_EQ(scores_a, scores_b);
  EXPECT_TRUE(scores_b.count("accuracy"));  // the metrics came back too
}

TEST_F(KerasArchive, FunctionalRoundTripIsBitwiseAndTrainsIdentically) {
  Model m = func_model();
  const std::vector<Tensor> x = {seeded({5, 3}, 1), seeded({5, 3}, 2)};
  const std::vector<Tensor> y = {seeded({5, 2}, 3), (seeded({5, 1}, 4) > 0.0).astype(DType::f32)};
  m.fit(x, y, {.batch_size = 5, .verbose = 0});
  m.save(dir.file("f.keras"));
  Model loaded = saving::load_model(dir.file("f.keras"));
  const auto pa = m.predict_outputs(x, {.verbose = 0}), pb = loaded.predict_outputs(x, {.verbose = 0});
  ASSERT_EQ(pb.size(), 2u);
  expect_bitwise(pb[0], pa[0], "output 0");
  expect_bitwise(pb[1], pa[1], "output 1");
  // The shared layer is one layer with one set of weights.
  EXPECT_EQ(loaded.weights().size(), 6u);
  m.fit(x, y, {.batch_size = 5, .epochs = 2, .verbose = 0, .shuffle = false});
  loaded.fit(x, y, {.batch_size = 5, .epochs = 2, .verbose = 0, .shuffle = false});
  expect_same_weights(loaded, m, "after 2 more epochs");
}

// Every layer family through save -> load_model: the loader's config check (Note [Refuse, never silently
// change]) accepts what Keel itself writes, and the rebuilt model computes the same thing.
TEST_F(KerasArchive, RoundTripsManyLayerKinds) {
  Sequential conv({layers::Input({8, 8, 1}), layers::Conv2D(4, {3, 3}, {.activation = "relu"}), layers::MaxPooling2D(),
                   layers::BatchNormalization(), layers::Flatten(), layers::Dropout(0.5), layers::Dense(3, "softmax")});
  conv.compile({.optimizer = "rmsprop", .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
  conv.train_on_batch(seeded({4, 8, 8, 1}, 1), keel::from_vector(std::vector<float>{0, 1, 2, 1}, {4}));
  conv.save(dir.file("conv.keras"));
  Model conv2 = saving::load_model(dir.file("conv.keras"));
  const Tensor xc = seeded({3, 8, 8, 1}, 2);
  expect_bitwise(conv2.predict(xc, {.verbose = 0}), conv.predict(xc, {.verbose = 0}), "conv prediction");
  EXPECT_EQ(conv2.optimizer().class_name(), "RMSprop");

  auto tokens = layers::Input({5});
  auto e = layers::Embedding(10, 6)(tokens);
  auto seq = layers::LSTM(4, {.return_sequences = true})(e);
  auto g = layers::GRU(3)(seq);
  auto att = layers::MultiHeadAttention(2, 3)({e, e});
  auto pooled = layers::GlobalAveragePooling1D()(layers::LayerNormalization()(att));
  auto out = layers::Dense(2)(layers::Concatenate()({g, pooled}));
  Model rnn(tokens, out, "rnn");
  rnn.save(dir.file("rnn.keras"));
  Model rnn2 = saving::load_model(dir.file("rnn.keras"));
  const Tensor xt = keel::from_vector(std::vector<float>{1, 2, 3, 4, 5, 9, 8, 7, 6, 0}, {2, 5});
  expect_bitwise(rnn2.predict(xt, {.verbose = 0}), rnn.predict(xt, {.verbose = 0}), "rnn prediction");
}

TEST_F(KerasArchive, LoadWeightsReadsTheArchivesWeights) {
  Model m = seq_model();
  m.train_on_batch(seeded({6, 4}, 1), (seeded({6, 1}, 2) > 0.0).astype(DType::f32));
  m.save(dir.file("m.keras"));
  Model fresh = seq_model();  // same architecture, other initial weights
  const Tensor x = seeded({3, 4}, 3);
  fresh.load_weights(dir.file("m.keras"));
  expect_bitwise(fresh.predict(x, {.verbose = 0}), m.predict(x, {.verbose = 0}), "prediction");
}

TEST_F(KerasArchive, SaveReplacesTheFileAndChecksThePath) {
  Model m = seq_model();
  m.save(dir.file("m.keras"));
  m.save(dir.file("m.keras"));  // replaced
  EXPECT_TRUE(fs::exists(dir.file("m.keras")));
  expect_error<NotFoundError>([&] { saving::load_model(dir.file("m.hdf5")); }, "m.hdf5");  // legacy HDF5 path
  expect_error<ValueError>([&] { m.save(dir.file("m.txt")); }, "`.keras`", "m.txt");
  expect_error<ValueError>([&] { saving::load_model(dir.file("m.weights")); }, "`.keras`");
  expect_error<NotFoundError>([&] { saving::load_model(dir.file("missing.keras")); }, "missing.keras");
  Sequential unbuilt({layers::Dense(2)});
  expect_error<ValueError>([&] { unbuilt.save(dir.file("u.keras")); }, "not built");
  EXPECT_FALSE(fs::exists(dir.file("u.keras")));
}

// --- bad and unsupported archives ---

TEST_F(KerasArchive, BadArchivesAreClearErrors) {
  struct Case {
    std::string kind;
    std::function<void(const std::string&)> check;
  };
  const std::vector<Case> cases = {
      {"truncated",
       [](const std::string& p) {
         expect_error<ValueError>([&] { saving::load_model(p); }, p, "not a valid `.keras` archive", "zip", "truncated");
       }},
      {"no_config",
       [](const std::string& p) {
         expect_error<ValueError>([&] { saving::load_model(p); }, p, "no 'config.json' entry",
                                  "'metadata.json', 'model.weights.h5'");
       }},
      {"bad_json",
       [](const std::string& p) {
         expect_error<ValueError>([&] { saving::load_model(p); }, "Malformed JSON in 'config.json' of '" + p + "'",
                                  "at byte 68");
       }},
      {"unknown_class",
       [](const std::string& p) {
         expect_error<ValueError>([&] { saving::load_model(p); }, "Could not locate class 'FancyDense'", "'fancy'",
                                  "must be registered");
       }},
      {"regularizer",  // supported since regularizers exist: it loads, and the penalty is the file's
       [](const std::string& p) {
         Model m = saving::load_model(p);
         m(ones({2, 4}));
         const std::vector<Tensor> losses = m->losses();
         ASSERT_EQ(losses.size(), 1u);
         // 0.01 · Σ (0.01·i)² for i < 32 = 1e-6 · 10416.
         EXPECT_NEAR(losses[0].item<float>(), 0.010416, 1e-7);
       }},
      {"custom_regularizer",
       [](const std::string& p) {
         expect_error<ValueError>([&] { saving::load_model(p); }, "Layer 'dense'", "`kernel_regularizer`",
                                  "'MyRegularizer'");
       }},
      {"activation",
       [](const std::string& p) {
         expect_error<UnimplementedError>([&] { saving::load_model(p); }, "Layer 'dense' (Dense)", "`activation`",
                                          "\"my_swishy\"");
       }},
      {"dtype",
       [](const std::string& p) {
         expect_error<UnimplementedError>([&] { saving::load_model(p); }, "Layer 'dense' (Dense)", "`dtype`",
                                          "mixed_float16");
       }},
      {"unknown_key",
       [](const std::string& p) {
         expect_error<UnimplementedError>([&] { saving::load_model(p); }, "Layer 'dense' (Dense)", "`lora_rank`",
                                          "(value 4)");
       }},
      {"lambda",
       [](const std::string& p) {
         expect_error<ValueError>([&] { saving::load_model(p); }, "Layer 'lambda' (Lambda)", "arbitrary code",
                                  "safe_mode", "cannot execute Python code");
         expect_error<UnimplementedError>([&] { saving::load_model(p, {.safe_mode = false}); }, "Layer 'lambda' (Lambda)",
                                          "cannot execute Python code");
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.kind);
    const std::string path = dir.file(c.kind + ".keras");
    ASSERT_EQ(python("bad " + c.kind + " " + path), 0);
    c.check(path);
  }
}

TEST_F(KerasArchive, NotAZipFile) {
  const std::string path = dir.file("text.keras");
  std::ofstream(path) << "this is not a zip file";
  expect_error<ValueError>([&] { saving::load_model(path); }, path, "not a valid `.keras` archive");
  std::ofstream(dir.file("empty.keras")).close();
  expect_error<ValueError>([&] { saving::load_model(dir.file("empty.keras")); }, "not a valid `.keras` archive");
}

// Issue 20: an entry whose directory entry claims 2^62 bytes used to be allocated up front (std::length_error,
// not a keel::Error); now the claim is checked against the data as it is read.
TEST_F(KerasArchive, EntryClaimingMoreThanItHoldsIsAValueError) {
  const std::string text = R"({"class_name": "Sequential"})";
  for (uint64_t claim : {uint64_t{1} << 62, uint64_t{4} << 30, uint64_t{3}}) {
    const std::string path = dir.file("claim" + std::to_string(claim) + ".keras");
    const std::vector<uint8_t> zip = keel::testing::zip_claiming("config.json", {text.begin(), text.end()}, claim);
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(zip.data()), zip.size());
    expect_error<ValueError>([&] { saving::load_model(path); }, path, "entry 'config.json' is damaged");
  }
}

}  // namespace
}  // namespace keel
