// TensorBoard event files (keras-reference §9.8): the CRC-32C against published check values, and every
// file read back by an independent reader (read_events.py: Debian's python3-protobuf parsing the records
// with the module protoc generates from event.proto, crcmod checking the framing's CRCs, NumPy computing
// the histogram buckets), then compared with what fit reported (History) and the model's weights.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "io/io_test_util.h"
#include "keel/keel.h"
#include "keel/tensorboard/summary.h"
#include "keel/tensorboard/tensorboard.h"
#include "tensorboard/event_file.h"
#include "tensorboard/record_writer.h"
#include "test_util.h"

namespace keel {
namespace {

namespace fs = std::filesystem;
using callbacks::TensorBoard;
using nlohmann::json;

// read_events.py's output for the event files under `log_dir`; fails the test when the reader fails (a CRC
// mismatch, an unparsable record).
json read_events(const std::string& log_dir, const TempDir& scratch) {
  const std::string out = scratch.file("events.json");
  const std::string cmd = kPython + " " + quote(std::string(KEEL_TEST_DATA_DIR) + "/tensorboard/read_events.py") +
                          " events " + quote(KEEL_EVENT_PB2_DIR) + " " + quote(log_dir) + " " + quote(out);
  const int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd;
  if (rc != 0) return json::object({{"files", json::array()}});
  return json::parse(read_bytes(out));
}

// The files of one run (train, validation, ...).
std::vector<json> run_files(const json& events, const std::string& run) {
  std::vector<json> files;
  for (const json& f : events["files"])
    if (f["run"] == run) files.push_back(f);
  return files;
}

// tag -> step -> the value's JSON, over every file of `run`.
std::map<std::string, std::map<int64_t, json>> values_by_tag(const json& events, const std::string& run) {
  std::map<std::string, std::map<int64_t, json>> out;
  for (const json& f : run_files(events, run))
    for (const json& e : f["events"])
      if (e.contains("values"))
        for (const json& v : e["values"]) out[v["tag"]][e["step"].get<int64_t>()] = v;
  return out;
}

double scalar_of(const json& value) { return value["values"][0].get<double>(); }

TEST(TensorBoardCrc, MatchesPublishedCheckValues) {
  // The CRC-32C check value (CRC catalogue) and RFC 3720 §B.4's vectors.
  EXPECT_EQ(tensorboard::crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(tensorboard::crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(tensorboard::crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(tensorboard::crc32c(ascending), 0x46DD794Eu);
}

TEST(TensorBoardCrc, FramesARecordAsTfRecord) {
  const std::string record = tensorboard::frame_record("abc");
  ASSERT_EQ(record.size(), 8u + 4u + 3u + 4u);
  EXPECT_EQ(record.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
  const uint32_t crc = tensorboard::crc32c(record.substr(0, 8));
  const uint32_t masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) stored |= static_cast<uint32_t>(static_cast<unsigned char>(record[8 + i])) << (8 * i);
  EXPECT_EQ(stored, masked);
  EXPECT_EQ(record.substr(12, 3), "abc");
}

TEST(SummaryWriter, WritesScalarsAndHistogramsTensorBoardReads) {
  TempDir dir;
  const std::string logdir = dir.file("logs/run1");  // parents are created
  std::string path;
  {
    auto writer = summary::create_file_writer(logdir);
    path = writer.path();
    writer.scalar("loss", 0.25, 1);
    writer.scalar("loss", 1.0 / 3.0, 2);
    writer.histogram("w", from_vector<float>({1, 2, 2, 3, 10}, {5}), 7, 4);
  }
  EXPECT_TRUE(std::regex_match(fs::path(path).filename().string(),
                               std::regex(R"(events\.out\.tfevents\.\d{10}\..+\.\d+\.\d+\.v2)")))
      << path;
  EXPECT_EQ(fs::path(path).parent_path(), fs::path(logdir));
  TempDir scratch;
  const json events = read_events(dir.file("logs"), scratch);
  ASSERT_EQ(events["files"].size(), 1u);
  const json& file = events["files"][0];
  EXPECT_EQ(file["run"], "run1");
  EXPECT_FALSE(file["truncated"].get<bool>());
  ASSERT_EQ(file["events"].size(), 4u);
  EXPECT_EQ(file["events"][0]["file_version"], "brain.Event:2");
  EXPECT_NEAR(file["events"][0]["wall_time"].get<double>(), static_cast<double>(std::time(nullptr)), 60);

  const json& loss2 = file["events"][2];
  EXPECT_EQ(loss2["step"], 2);
  const json& v = loss2["values"][0];
  EXPECT_EQ(v["tag"], "loss");
  EXPECT_EQ(v["plugin"], "scalars");
  EXPECT_EQ(v["data_class"], "DATA_CLASS_SCALAR");
  EXPECT_EQ(v["dtype"], "DT_FLOAT");
  EXPECT_EQ(v["shape"], json::array());
  EXPECT_EQ(v["values"][0].get<double>(), static_cast<double>(1.0f / 3.0f));  // float32, as tf.summary.scalar

  const json& h = file["events"][3]["values"][0];
  EXPECT_EQ(file["events"][3]["step"], 7);
  EXPECT_EQ(h["tag"], "w");
  EXPECT_EQ(h["plugin"], "histograms");
  EXPECT_EQ(h["data_class"], "DATA_CLASS_TENSOR");
  EXPECT_EQ(h["dtype"], "DT_DOUBLE");
  EXPECT_EQ(h["shape"], json::array({4, 3}));
  // min 1, max 10, width 2.25: [1, 3.25) holds 1, 2, 2, 3; 10 goes to the last bucket
  const std::vector<double> expected = {1, 3.25, 4, 3.25, 5.5, 0, 5.5, 7.75, 0, 7.75, 10, 1};
  EXPECT_EQ(h["values"].get<std::vector<double>>(), expected);
}

// histogram_buckets against NumPy (TensorBoard's histogram_pb) on random, singular and empty data.
TEST(SummaryWriter, HistogramBucketsMatchTensorBoardsNumPyAlgorithm) {
  TempDir dir;
  const Tensor normal = random::normal({1000}, 0.5, 2.0, DType::f64, 11);
  const std::vector<std::vector<double>> cases = {normal.to_vector<double>(), {4.5, 4.5, 4.5}, {}, {-1, 1}};
  for (int buckets : {30, 7}) {
    for (const auto& data : cases) {
      std::ofstream(dir.file("data.txt")) << [&] {
        std::ostringstream s;
        s.precision(17);
        for (double x : data) s << x << "\n";
        return s.str();
      }();
      const std::string out = dir.file("buckets.json");
      const std::string cmd = kPython + " " + quote(std::string(KEEL_TEST_DATA_DIR) + "/tensorboard/read_events.py") +
                              " histogram " + quote(dir.file("data.txt")) + " " + std::to_string(buckets) + " " +
                              quote(out) + " 2>/dev/null";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
      const auto expected = json::parse(read_bytes(out)).get<std::vector<std::vector<double>>>();
      const auto got = tensorboard::histogram_buckets(data, buckets);
      ASSERT_EQ(got.size(), expected.size()) << data.size() << " values, " << buckets << " buckets";
      // Edges agree to rounding (the compiler may fuse min + i * width); counts exactly.
      for (size_t i = 0; i < got.size(); ++i) {
        for (int j = 0; j < 2; ++j) EXPECT_NEAR(got[i][j], expected[i][j], 1e-12) << "bucket " << i << " edge " << j;
        EXPECT_EQ(got[i][2], expected[i][2]) << "bucket " << i;
      }
    }
  }
  const std::vector<double> nan = {1.0, std::nan("")};
  testing::expect_error<ValueError>([&] { tensorboard::histogram_buckets(nan, 30); }, "non-finite");
  testing::expect_error<ValueError>([&] { tensorboard::histogram_buckets(nan, 0); }, "buckets", "0");
}

struct TrainedRun {
  History history;
  int64_t steps_per_epoch;
};

class TensorBoardCallback : public ::testing::Test {
 protected:
  // 40 samples, validation_split 0.2: 32 training samples in batches of 8, 4 steps per epoch.
  TrainedRun fit(Sequential& model, TensorBoard tb, int epochs = 3) {
    random::set_seed(3);
    x_ = random::normal({40, 4}, 0.0, 1.0, DType::f32, 5);
    const Tensor y = ops::cast(ops::greater(ops::sum(x_, {1}, true), zeros({})), DType::f32);
    model.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
    History h = model.fit(
        x_, y,
        {.batch_size = 8, .epochs = epochs, .verbose = 0, .callbacks = {std::move(tb)}, .validation_split = 0.2});
    return {h, 4};
  }
  TempDir dir_;
  TempDir scratch_;
  Tensor x_;
};

TEST_F(TensorBoardCallback, WritesKerasEpochScalarsPerRun) {
  random::set_seed(1);
  Sequential model({layers::Input({4}), layers::Dense(3, "relu"), layers::Dense(1, "sigmoid")});
  const std::string logs = dir_.file("logs");
  const TrainedRun run = fit(model, TensorBoard(logs));
  EXPECT_TRUE(fs::is_directory(logs + "/train"));
  EXPECT_TRUE(fs::is_directory(logs + "/validation"));
  const json events = read_events(logs, scratch_);
  ASSERT_EQ(run_files(events, "train").size(), 1u);
  ASSERT_EQ(run_files(events, "validation").size(), 1u);

  const auto train = values_by_tag(events, "train");
  const auto val = values_by_tag(events, "validation");
  for (const std::string key : {"loss", "accuracy"}) {
    ASSERT_TRUE(train.count("epoch_" + key)) << key;
    ASSERT_TRUE(val.count("epoch_" + key)) << key;
    ASSERT_EQ(train.at("epoch_" + key).size(), 3u);
    for (int epoch = 0; epoch < 3; ++epoch) {
      EXPECT_EQ(scalar_of(train.at("epoch_" + key).at(epoch)),
                static_cast<double>(static_cast<float>(run.history.history.at(key)[epoch])));
      EXPECT_EQ(scalar_of(val.at("epoch_" + key).at(epoch)),
                static_cast<double>(static_cast<float>(run.history.history.at("val_" + key)[epoch])));
      // fit's validation: evaluation_<key>_vs_iterations at the optimizer's step count
      const int64_t iterations = run.steps_per_epoch * (epoch + 1);
      ASSERT_TRUE(val.at("evaluation_" + key + "_vs_iterations").count(iterations)) << key << " " << iterations;
      EXPECT_EQ(scalar_of(val.at("evaluation_" + key + "_vs_iterations").at(iterations)),
                static_cast<double>(static_cast<float>(run.history.history.at("val_" + key)[epoch])));
    }
  }
  ASSERT_TRUE(train.count("epoch_learning_rate"));
  EXPECT_EQ(scalar_of(train.at("epoch_learning_rate").at(2)), static_cast<double>(0.001f));
  EXPECT_FALSE(train.count("epoch_val_loss"));
  EXPECT_FALSE(train.count("batch_loss"));  // update_freq "epoch"
  EXPECT_FALSE(train.count("epoch_steps_per_second"));

  // write_graph: the model's JSON for the graph dashboard, at step 0 in train/
  ASSERT_TRUE(train.count("keras"));
  const json& graph = train.at("keras").at(0);
  EXPECT_EQ(graph["plugin"], "graph_keras_model");
  EXPECT_EQ(graph["content"], "1");
  EXPECT_EQ(graph["dtype"], "DT_STRING");
  EXPECT_EQ(json::parse(graph["values"][0].get<std::string>()), json::parse(model.to_json()));
}

TEST_F(TensorBoardCallback, BatchScalarsEveryUpdateFreqBatchesAndStepsPerSecond) {
  random::set_seed(1);
  Sequential model({layers::Input({4}), layers::Dense(1, "sigmoid")});
  const std::string logs = dir_.file("logs");
  fit(model, TensorBoard(logs, {.write_graph = false, .write_steps_per_second = true, .update_freq = 3}), 2);
  const auto train = values_by_tag(read_events(logs, scratch_), "train");
  EXPECT_FALSE(train.count("keras"));
  ASSERT_TRUE(train.count("batch_loss"));
  std::vector<int64_t> steps;
  for (const auto& [step, value] : train.at("batch_loss")) steps.push_back(step);
  EXPECT_EQ(steps, (std::vector<int64_t>{3, 6}));  // 8 batches over two epochs, every third
  ASSERT_TRUE(train.count("batch_accuracy"));
  ASSERT_TRUE(train.count("batch_steps_per_second"));
  EXPECT_GT(scalar_of(train.at("batch_steps_per_second").at(3)), 0.0);
  ASSERT_TRUE(train.count("epoch_steps_per_second"));
  EXPECT_GT(scalar_of(train.at("epoch_steps_per_second").at(1)), 0.0);
}

TEST_F(TensorBoardCallback, BatchScalarsHoldTheBatchLogs) {
  random::set_seed(1);
  Sequential model({layers::Input({4}), layers::Dense(1, "sigmoid")});
  const std::string logs = dir_.file("logs");
  std::vector<double> seen;
  auto record =
      callbacks::LambdaCallback({.on_train_batch_end = [&](int64_t, Logs& l) { seen.push_back(l.at("loss")); }});
  random::set_seed(3);
  const Tensor x = random::normal({16, 4}, 0.0, 1.0, DType::f32, 5);
  const Tensor y = ops::cast(ops::greater(ops::sum(x, {1}, true), zeros({})), DType::f32);
  model.compile({.optimizer = "sgd", .loss = "binary_crossentropy"});
  model.fit(
      x, y,
      {.batch_size = 4, .epochs = 1, .verbose = 0, .callbacks = {TensorBoard(logs, {.update_freq = "batch"}), record}});
  const auto train = values_by_tag(read_events(logs, scratch_), "train");
  ASSERT_EQ(seen.size(), 4u);
  ASSERT_EQ(train.at("batch_loss").size(), 4u);
  for (int64_t step = 1; step <= 4; ++step)
    EXPECT_EQ(scalar_of(train.at("batch_loss").at(step)), static_cast<double>(static_cast<float>(seen[step - 1])));
}

TEST_F(TensorBoardCallback, WeightHistogramsEveryHistogramFreqEpochs) {
  random::set_seed(1);
  Sequential model({layers::Input({4}), layers::Dense(5, "relu"), layers::Dense(1, "sigmoid")});
  const std::string logs = dir_.file("logs");
  fit(model, TensorBoard(logs, {.histogram_freq = 2, .write_graph = false}), 3);
  const auto train = values_by_tag(read_events(logs, scratch_), "train");
  const std::vector<Variable> weights = model.weights();
  ASSERT_EQ(weights.size(), 4u);
  for (const Variable& w : weights) {
    const std::string tag = w.path() + "/histogram";
    ASSERT_TRUE(train.count(tag)) << tag;
    std::vector<int64_t> steps;
    for (const auto& [step, value] : train.at(tag)) steps.push_back(step);
    EXPECT_EQ(steps, (std::vector<int64_t>{0, 2})) << tag;  // epochs 0 and 2 of 3
    // The last histogram is of the final weights: NumPy's buckets of them.
    const json& h = train.at(tag).at(2);
    const std::vector<double> values = w.value().to_vector<double>();
    const auto expected = tensorboard::histogram_buckets(values, 30);
    const auto got = h["values"].get<std::vector<double>>();
    ASSERT_EQ(got.size(), expected.size() * 3) << tag;
    double count = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      for (int j = 0; j < 3; ++j) EXPECT_EQ(got[i * 3 + j], expected[i][j]) << tag;
      count += got[i * 3 + 2];
    }
    EXPECT_EQ(count, static_cast<double>(values.size())) << tag;
  }
  // the tags are the variables' paths, <model>/<layer>/<variable>
  EXPECT_TRUE(std::regex_match(weights[0].path(), std::regex(R"(sequential(_\d+)?/dense(_\d+)?/kernel)")))
      << weights[0].path();
}

TEST_F(TensorBoardCallback, EpochValuesAreOnDiskWhileFitRuns) {
  random::set_seed(1);
  Sequential model({layers::Input({4}), layers::Dense(1, "sigmoid")});
  const std::string logs = dir_.file("logs");
  size_t epoch0_values_seen = 0;
  auto probe = callbacks::LambdaCallback({.on_epoch_end = [&](int epoch, Logs&) {
    if (epoch != 1) return;
    const auto train = values_by_tag(read_events(logs, scratch_), "train");  // fit has not ended
    if (train.count("epoch_loss")) epoch0_values_seen = train.at("epoch_loss").size();
  }});
  random::set_seed(3);
  const Tensor x = random::normal({16, 4}, 0.0, 1.0, DType::f32, 5);
  const Tensor y = ops::cast(ops::greater(ops::sum(x, {1}, true), zeros({})), DType::f32);
  model.compile({.optimizer = "sgd", .loss = "binary_crossentropy"});
  model.fit(x, y, {.batch_size = 4, .epochs = 3, .verbose = 0, .callbacks = {TensorBoard(logs), probe}});
  EXPECT_EQ(epoch0_values_seen, 2u);  // epochs 0 and 1, flushed at their ends
}

TEST_F(TensorBoardCallback, EvaluateWritesAgainstOptimizerIterations) {
  random::set_seed(1);
  Sequential model({layers::Input({4}), layers::Dense(1, "sigmoid")});
  const std::string logs = dir_.file("logs");
  auto tb = std::make_shared<TensorBoard>(logs, callbacks::TensorBoardOptions{.write_graph = false});
  fit(model, TensorBoard(logs, {.write_graph = false}), 2);
  const std::map<std::string, double> result = model.evaluate(x_, zeros({40, 1}), {.verbose = 0, .callbacks = {tb}});
  const json events = read_events(logs, scratch_);
  EXPECT_EQ(run_files(events, "validation").size(), 2u);  // fit's and evaluate's
  const auto val = values_by_tag(events, "validation");
  ASSERT_TRUE(val.at("evaluation_loss_vs_iterations").count(8));
  // fit's last validation and this evaluate share step 8; evaluate's file is the later one
  bool found = false;
  for (const json& f : run_files(events, "validation"))
    for (const json& e : f["events"])
      if (e.contains("values") && e["step"] == 8 && e["values"][0]["tag"] == "evaluation_loss_vs_iterations" &&
          scalar_of(e["values"][0]) == static_cast<double>(static_cast<float>(result.at("loss"))))
        found = true;
  EXPECT_TRUE(found);
}

TEST_F(TensorBoardCallback, SubclassedModelsGetNoGraph) {
  class Net : public SubclassedModel {
   public:
    Net() : SubclassedModel("Net") { out_ = add_layer(layers::Dense(1, "sigmoid"), "out"); }
    std::vector<Tensor> call(const std::vector<Tensor>& x, const CallContext& ctx) override {
      return {out_(x.at(0), ctx.training)};
    }

   private:
    LayerHandle out_;
  };
  Model net(std::make_shared<Net>());
  random::set_seed(3);
  const Tensor x = random::normal({16, 4}, 0.0, 1.0, DType::f32, 5);
  const Tensor y = ops::cast(ops::greater(ops::sum(x, {1}, true), zeros({})), DType::f32);
  net.compile({.optimizer = "sgd", .loss = "binary_crossentropy"});
  const std::string logs = dir_.file("logs");
  net.fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0, .callbacks = {TensorBoard(logs)}});
  const auto train = values_by_tag(read_events(logs, scratch_), "train");
  EXPECT_FALSE(train.count("keras"));
  EXPECT_TRUE(train.count("epoch_loss"));
}

TEST(TensorBoardOptionsErrors, NameWhatIsNotAvailable) {
  using testing::expect_error;
  expect_error<UnimplementedError>([] { TensorBoard("logs", {.profile_batch = 2}); }, "profil", "profile_batch=2");
  expect_error<UnimplementedError>([] { TensorBoard("logs", {.write_images = true}); }, "write_images");
  expect_error<UnimplementedError>([] { TensorBoard("logs", {.embeddings_freq = 1}); }, "embeddings_freq");
  expect_error<ValueError>([] { TensorBoard("logs", {.histogram_freq = -1}); }, "histogram_freq", "-1");
  expect_error<ValueError>([] { TensorBoard("logs", {.update_freq = "often"}); }, "update_freq", "often");
  expect_error<ValueError>([] { TensorBoard("logs", {.update_freq = 0}); }, "update_freq", "0");
}

TEST(TensorBoardOptionsErrors, AnUnwritableLogDirIsNamed) {
  TempDir dir;
  write_bytes(dir.file("taken"), "a file, not a folder");
  testing::expect_error<Error>([&] { summary::create_file_writer(dir.file("taken") + "/train"); }, dir.file("taken"));
  random::set_seed(1);
  Sequential model({layers::Input({2}), layers::Dense(1)});
  model.compile({.optimizer = "sgd", .loss = "mse"});
  testing::expect_error<Error>(
      [&] {
        model.fit(zeros({4, 2}), zeros({4, 1}),
                  {.epochs = 1, .verbose = 0, .callbacks = {TensorBoard(dir.file("taken"))}});
      },
      dir.file("taken"));
  EXPECT_EQ(read_bytes(dir.file("taken")), "a file, not a folder");
}

}  // namespace
}  // namespace keel
