// BackupAndRestore (keras-reference §9.7): Keras's files and semantics, and Keel's exact resume — a fit
// interrupted (by an exception, or by SIGKILL in another process) and resumed must end with exactly the
// weights and History of a fit that was never interrupted, with dropout and shuffling on.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "keel/core/naming.h"
#include "keel/keel.h"
#include "io_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

namespace fs = std::filesystem;
using callbacks::BackupAndRestore;
using callbacks::BackupAndRestoreOptions;
using nlohmann::json;

constexpr int kEpochs = 5;

// A classifier with dropout, trained with shuffling: every epoch draws from the global generator.
struct Fixture {
  Tensor x, y;
  Sequential model;
  Fixture() {
    naming::reset_names();
    random::set_seed(3);
    x = random::normal({64, 4});
    y = (ops::sum(x, {1}, true) > 0.0).astype(DType::f32);
    model =
        Sequential({layers::Input({4}), layers::Dense(16, "relu"), layers::Dropout(0.3), layers::Dense(1, "sigmoid")});
    model.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
  }
  // 48 training samples in 3 shuffled batches of 16, 16 validation samples.
  History fit(std::vector<CallbackArg> callbacks, int epochs = kEpochs) {
    return model.fit(x, y,
                     {.batch_size = 16,
                      .epochs = epochs,
                      .verbose = 0,
                      .callbacks = std::move(callbacks),
                      .validation_split = 0.25,
                      .shuffle = true});
  }
  std::vector<std::vector<float>> weights() const {
    std::vector<std::vector<float>> out;
    for (const Tensor& w : model.get_weights()) out.push_back(w.to_vector<float>());
    return out;
  }
};

// The interruption: thrown at the end of epoch `at`, after BackupAndRestore (earlier in the list) saved.
struct Crash : Callback {
  int at;
  explicit Crash(int epoch) : at(epoch) {}
  void on_epoch_end(int epoch, Logs&) override {
    if (epoch == at) throw std::runtime_error("simulated crash");
  }
};

struct Uninterrupted {
  std::vector<std::vector<float>> weights;
  History history;
  std::vector<double> adam_slots;  // iteration, learning rate, slots (exact in f64)
};

Uninterrupted uninterrupted() {
  Fixture f;
  Uninterrupted u;
  u.history = f.fit({});
  u.weights = f.weights();
  for (const Variable& v : f.model.optimizer().variables())
    for (double value : v.value().astype(DType::f64).to_vector<double>()) u.adam_slots.push_back(value);
  return u;
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Trains with BackupAndRestore(dir) until Crash(crash_at) throws.
void train_and_crash(const std::string& dir, int crash_at, BackupAndRestoreOptions options = {}) {
  Fixture f;
  EXPECT_THROW(f.fit({BackupAndRestore(dir, options), Crash(crash_at)}), std::runtime_error);
}

// A fresh model (as a restarted program builds it, its generator wherever that left it), resumed.
struct Resumed {
  std::shared_ptr<BackupAndRestore> callback;
  History history;
  std::vector<std::vector<float>> weights;
  std::vector<double> adam_slots;  // iteration, learning rate, slots (exact in f64)
};

Resumed resume(const std::string& dir, BackupAndRestoreOptions options = {}) {
  Fixture f;
  random::normal({1000});  // the restarted program drew other numbers meanwhile
  Resumed r;
  r.callback = std::make_shared<BackupAndRestore>(dir, options);
  r.history = f.fit({r.callback});
  r.weights = f.weights();
  for (const Variable& v : f.model.optimizer().variables())
    for (double value : v.value().astype(DType::f64).to_vector<double>()) r.adam_slots.push_back(value);
  return r;
}

void expect_same_run(const Resumed& r, const Uninterrupted& u) {
  EXPECT_EQ(r.weights, u.weights);  // bitwise: float vectors compared element by element with ==
  EXPECT_EQ(r.adam_slots, u.adam_slots);
  EXPECT_EQ(r.history.epoch, u.history.epoch);
  EXPECT_EQ(r.history.history, u.history.history);
}

TEST(GeneratorState, SetStateRepeatsTheDraws) {
  random::set_seed(11);
  random::uniform({10});
  const random::GeneratorState state = random::get_state();
  EXPECT_EQ(state.seed, 11u);
  EXPECT_GT(state.offset, 0u);
  const std::vector<float> first = random::normal({37}).to_vector<float>();
  random::set_seed(99);
  random::set_state(state);
  EXPECT_EQ(random::get_state(), state);
  EXPECT_EQ(random::normal({37}).to_vector<float>(), first);
}

TEST(BackupAndRestore, ResumedFitEqualsTheUninterruptedOneBitwise) {
  const Uninterrupted u = uninterrupted();
  TempDir tmp;
  const std::string dir = tmp.file("backup");
  train_and_crash(dir, 2);
  // Keras's two files; the metadata says where to resume.
  ASSERT_TRUE(fs::exists(dir + "/latest.weights.h5"));
  const json metadata = read_json(dir + "/training_metadata.json");
  EXPECT_EQ(metadata.at("epoch"), 3);
  EXPECT_EQ(metadata.at("batch"), 0);
  EXPECT_EQ(metadata.at("keel").at("history").at("epoch"), json::array({0, 1, 2}));

  const Resumed r = resume(dir);
  EXPECT_EQ(r.callback->restored_epoch(), std::optional<int>(3));
  EXPECT_FALSE(r.callback->restored_from_previous());
  expect_same_run(r, u);
  ASSERT_EQ(r.history.epoch, (std::vector<int>{0, 1, 2, 3, 4}));  // the History continues
  EXPECT_FALSE(fs::exists(dir));                                  // delete_checkpoint
}

TEST(BackupAndRestore, KerasMetadataAloneResumesTheEpochButNotTheRandomState) {
  // A backup without Keel's fields (as Keras writes it) resumes at its epoch, as in Keras, but the shuffle
  // order and dropout masks then differ from the uninterrupted run's: what the "keel" fields are for.
  const Uninterrupted u = uninterrupted();
  TempDir tmp;
  const std::string dir = tmp.file("backup");
  train_and_crash(dir, 2);
  write_text(dir + "/training_metadata.json", R"({"epoch": 3, "batch": 0})");
  const Resumed r = resume(dir);
  EXPECT_EQ(r.callback->restored_epoch(), std::optional<int>(3));
  EXPECT_EQ(r.history.epoch, (std::vector<int>{3, 4}));  // Keras's History: the epochs run after the restart
  EXPECT_NE(r.weights, u.weights);
}

TEST(BackupAndRestore, NoBackupTrainsFromTheStart) {
  const Uninterrupted u = uninterrupted();
  TempDir tmp;
  Fixture f;
  auto callback = std::make_shared<BackupAndRestore>(tmp.file("backup"));
  History h = f.fit({callback});
  EXPECT_FALSE(callback->restored_epoch().has_value());
  EXPECT_EQ(callback->backups_written(), kEpochs);
  EXPECT_EQ(f.weights(), u.weights);  // backing up changes nothing in the run
  EXPECT_EQ(h.history, u.history.history);
}

TEST(BackupAndRestore, ResumesADatasetBitwise) {
  // The dropout masks come from the global generator. (Dataset::shuffle keeps its pass count in the
  // dataset object, so a shuffled Dataset is not resumed exactly: see docs/saving.md.)
  auto run = [](const std::string& dir, std::optional<int> crash_at) {
    Fixture f;
    data::Dataset ds = data::Dataset::from_tensor_slices({f.x, f.y}).batch(16);
    std::vector<CallbackArg> cbs;
    if (!dir.empty()) cbs.push_back(BackupAndRestore(dir));
    if (crash_at) cbs.push_back(Crash(*crash_at));
    random::normal({1000});
    History h = f.model.fit(ds, {.epochs = kEpochs, .verbose = 0, .callbacks = cbs});
    return std::make_pair(f.weights(), h);
  };
  const auto [expected_weights, expected_history] = run("", std::nullopt);
  TempDir tmp;
  const std::string dir = tmp.file("backup");
  EXPECT_THROW(run(dir, 1), std::runtime_error);
  const auto [weights, history] = run(dir, std::nullopt);
  EXPECT_EQ(weights, expected_weights);
  EXPECT_EQ(history.epoch, expected_history.epoch);
  EXPECT_EQ(history.history, expected_history.history);
}

// --- a real kill -9: the test binary runs itself as the child, which SIGKILLs itself mid-epoch ---

TEST(BackupAndRestoreChild, DISABLED_TrainUntilKilled) {
  const char* dir = std::getenv("KEEL_BACKUP_TEST_DIR");
  const char* kill_epoch = std::getenv("KEEL_BACKUP_TEST_KILL_EPOCH");
  if (dir == nullptr || kill_epoch == nullptr) GTEST_SKIP() << "run by BackupAndRestore.SurvivesKill9";
  struct Kill : Callback {
    int epoch = 0, at;
    explicit Kill(int at) : at(at) {}
    void on_epoch_begin(int e, Logs&) override { epoch = e; }
    void on_train_batch_end(int64_t batch, Logs&) override {
      if (epoch == at && batch == 1) ::raise(SIGKILL);  // in the middle of an epoch, between backups
    }
  };
  Fixture f;
  f.fit({BackupAndRestore(dir), Kill(std::atoi(kill_epoch))});
  ADD_FAILURE() << "not killed";
}

TEST(BackupAndRestore, SurvivesKill9) {
  const Uninterrupted u = uninterrupted();
  TempDir tmp;
  const std::string dir = tmp.file("backup");
  std::string env_dir = "KEEL_BACKUP_TEST_DIR=" + dir, env_kill = "KEEL_BACKUP_TEST_KILL_EPOCH=3";
  std::string filter = "--gtest_filter=BackupAndRestoreChild.DISABLED_TrainUntilKilled";
  std::string also = "--gtest_also_run_disabled_tests";
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::vector<char*> argv = {self.data(), filter.data(), also.data(), nullptr};
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  envp.push_back(env_dir.data());
  envp.push_back(env_kill.data());
  envp.push_back(nullptr);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execve(self.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  // Killed during epoch 3: the last backup is epoch 2's end.
  EXPECT_EQ(read_json(dir + "/training_metadata.json").at("epoch"), 3);
  const Resumed r = resume(dir);
  EXPECT_EQ(r.callback->restored_epoch(), std::optional<int>(3));
  expect_same_run(r, u);
}

// --- double_checkpoint ---

TEST(BackupAndRestore, DoubleCheckpointFallsBackWhenTheLatestWeightsAreCorrupt) {
  const Uninterrupted u = uninterrupted();
  TempDir tmp;
  const std::string dir = tmp.file("backup");
  train_and_crash(dir, 2, {.double_checkpoint = true});
  EXPECT_EQ(read_json(dir + "/training_metadata.json.bkp").at("epoch"), 2);  // the backup before the latest
  ASSERT_TRUE(fs::exists(dir + "/latest.weights.h5.bkp"));
  write_text(dir + "/latest.weights.h5", "not an HDF5 file");
  const Resumed r = resume(dir, {.double_checkpoint = true});
  EXPECT_EQ(r.callback->restored_epoch(), std::optional<int>(2));
  EXPECT_TRUE(r.callback->restored_from_previous());
  expect_same_run(r, u);  // the previous pair resumes exactly too (one epoch more to run)
}

TEST(BackupAndRestore, DoubleCheckpointFallsBackOnAPairFromTwoBackups) {
  // A crash between the two writes leaves the new weights with the old metadata: detected by the
  // optimizer's iteration count, and the previous pair is used.
  const Uninterrupted u = uninterrupted();
  TempDir tmp;
  const std::string dir = tmp.file("backup");
  train_and_crash(dir, 2, {.double_checkpoint = true});
  fs::copy_file(dir + "/training_metadata.json.bkp", dir + "/training_metadata.json",
                fs::copy_options::overwrite_existing);
  const Resumed r = resume(dir, {.double_checkpoint = true});
  EXPECT_EQ(r.callback->restored_epoch(), std::optional<int>(2));
  EXPECT_TRUE(r.callback->restored_from_previous());
  expect_same_run(r, u);
}

TEST(BackupAndRestore, WithoutDoubleCheckpointACorruptBackupIsAnError) {
  TempDir tmp;
  const std::string dir = tmp.file("backup");
  train_and_crash(dir, 1);
  EXPECT_FALSE(fs::exists(dir + "/latest.weights.h5.bkp"));
  EXPECT_FALSE(fs::exists(dir + "/training_metadata.json.bkp"));
  write_text(dir + "/latest.weights.h5", "not an HDF5 file");
  Fixture f;
  testing::expect_error<ValueError>([&] { f.fit({BackupAndRestore(dir)}); }, dir + "/latest.weights.h5");
}

TEST(BackupAndRestore, APairFromTwoBackupsIsAnErrorWithoutAPreviousOne) {
  TempDir tmp;
  const std::string dir = tmp.file("backup");
  train_and_crash(dir, 2, {.double_checkpoint = true});
  fs::copy_file(dir + "/training_metadata.json.bkp", dir + "/training_metadata.json",
                fs::copy_options::overwrite_existing);
  fs::remove(dir + "/latest.weights.h5.bkp");
  Fixture f;
  testing::expect_error<ValueError>([&] { f.fit({BackupAndRestore(dir)}); }, "come from different backups",
                                    "training_metadata.json");
}

// --- delete_checkpoint ---

TEST(BackupAndRestore, DeleteCheckpointRemovesTheDirectoryAfterTraining) {
  TempDir tmp;
  const std::string kept = tmp.file("kept"), deleted = tmp.file("deleted");
  Fixture f;
  f.fit({BackupAndRestore(kept, {.delete_checkpoint = false}), BackupAndRestore(deleted)}, 2);
  EXPECT_FALSE(fs::exists(deleted));
  ASSERT_TRUE(fs::exists(kept));
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kept)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"latest.weights.h5", "training_metadata.json"}));
  EXPECT_EQ(read_json(kept + "/training_metadata.json").at("epoch"), 2);
  // A kept backup of a finished run: the next fit resumes at its end and runs nothing more.
  Fixture g;
  auto again = std::make_shared<BackupAndRestore>(kept, BackupAndRestoreOptions{.delete_checkpoint = false});
  History h = g.fit({again}, 2);
  EXPECT_EQ(again->restored_epoch(), std::optional<int>(2));
  EXPECT_EQ(again->backups_written(), 0);
  EXPECT_EQ(h.epoch, (std::vector<int>{0, 1}));
  EXPECT_EQ(g.weights(), f.weights());
}

// --- save_freq in batches ---

// After each batch, what the latest backup says, when a new one was written, and whether its weights
// file holds the model's weights of that moment.
struct BackupWatcher : Callback {
  std::shared_ptr<BackupAndRestore> backup;
  int epoch = 0;
  int64_t seen = 0;
  std::vector<std::pair<int, int64_t>> saves;     // (epoch running, batch) when written
  std::vector<std::pair<int, int64_t>> metadata;  // (epoch, batch) the file says
  std::vector<bool> weights_match;
  void on_epoch_begin(int e, Logs&) override { epoch = e; }
  void on_train_batch_end(int64_t batch, Logs&) override {
    if (backup->backups_written() == seen) return;
    seen = backup->backups_written();
    saves.emplace_back(epoch, batch);
    const json m = read_json(backup->backup_dir() + "/training_metadata.json");
    metadata.emplace_back(m.at("epoch").get<int>(), m.at("batch").get<int64_t>());
    Sequential other(
        {layers::Input({4}), layers::Dense(16, "relu"), layers::Dropout(0.3), layers::Dense(1, "sigmoid")});
    other.load_weights(backup->backup_dir() + "/latest.weights.h5");
    const auto a = other.get_weights(), b = model().get_weights();
    bool same = a.size() == b.size();
    for (size_t i = 0; same && i < a.size(); ++i) same = a[i].to_vector<float>() == b[i].to_vector<float>();
    weights_match.push_back(same);
  }
};

TEST(BackupAndRestore, SaveFreqInBatchesCountsAcrossEpochs) {
  TempDir tmp;
  const std::string dir = tmp.file("backup");
  Fixture f;
  auto backup =
      std::make_shared<BackupAndRestore>(dir, BackupAndRestoreOptions{.save_freq = 2, .delete_checkpoint = false});
  auto watcher = std::make_shared<BackupWatcher>();
  watcher->backup = backup;
  f.fit({backup, watcher}, 3);  // 3 batches per epoch: 9 batches, a backup after every second one
  const std::vector<std::pair<int, int64_t>> expected = {{0, 1}, {1, 0}, {1, 2}, {2, 1}};
  EXPECT_EQ(watcher->saves, expected);
  EXPECT_EQ(watcher->metadata, expected);  // Keras's metadata: the epoch in progress and the last batch
  EXPECT_EQ(watcher->weights_match, std::vector<bool>(4, true));
  EXPECT_EQ(backup->backups_written(), 4);
  // No epoch-end backup with save_freq in batches: the last one is from batch 1 of epoch 2, which a
  // resumed fit runs again from its first batch, with the History of epochs 0 and 1.
  Fixture g;
  auto resumed = std::make_shared<BackupAndRestore>(dir, BackupAndRestoreOptions{.save_freq = 2});
  History h = g.fit({resumed}, 3);
  EXPECT_EQ(resumed->restored_epoch(), std::optional<int>(2));
  EXPECT_EQ(h.epoch, (std::vector<int>{0, 1, 2}));
}

// --- errors ---

TEST(BackupAndRestore, Errors) {
  testing::expect_error<ValueError>([] { BackupAndRestore(""); }, "Empty `backup_dir` argument passed");
  testing::expect_error<ValueError>([] { BackupAndRestore("dir", {.save_freq = 0}); }, "Unrecognized save_freq");

  TempDir tmp;
  Sequential unbuilt({layers::Dense(1)});
  unbuilt.compile({.optimizer = "sgd", .loss = "mse"});
  testing::expect_error<ValueError>(
      [&] {
        unbuilt.fit(random::normal({4, 2}), random::normal({4, 1}),
                    {.verbose = 0, .callbacks = {BackupAndRestore(tmp.file("b"))}});
      },
      "To use the BackupAndRestore callback, you model must be built before you call `fit()`", "is unbuilt");

  const std::string dir = tmp.file("backup");
  fs::create_directories(dir);
  write_text(dir + "/training_metadata.json", "{\"epoch\": 3, ");
  Fixture f;
  testing::expect_error<ValueError>([&] { f.fit({BackupAndRestore(dir)}); }, "malformed JSON",
                                    dir + "/training_metadata.json");
  write_text(dir + "/training_metadata.json", "{\"batch\": 0}");
  testing::expect_error<ValueError>([&] { f.fit({BackupAndRestore(dir)}); }, dir + "/training_metadata.json",
                                    "no integer \"epoch\"");
  write_text(dir + "/training_metadata.json", R"({"epoch": 1, "batch": 0, "keel": {"random_seed": 1}})");
  testing::expect_error<ValueError>([&] { f.fit({BackupAndRestore(dir)}); }, dir + "/training_metadata.json",
                                    "\"keel\"");
}

}  // namespace
}  // namespace keel
