// CSVLogger (keras-reference §9.6): file content byte for byte against Python's csv module running
// Keras's row logic, append mode, a complete file after every epoch,
// rows appended and synced (no rewrite, no temporary file even when killed), and errors naming the path.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "keel/keel.h"
#include "keel/models/model.h"
#include "keel/optimizers/optimizers.h"
#include "keel/training/callbacks.h"
#include "test_util.h"

namespace keel {
namespace {

namespace fs = std::filesystem;
using callbacks::CSVLogger;

// Expected files come from this Python (Keras 3 CSVLogger.on_epoch_end, csv.excel dialect):
//   import csv, io, collections
//   def csvlog(epochs_logs, sep=",", prefix="", append_header=True):
//       f = io.StringIO(); f.write(prefix); keys = None; writer = None
//       for epoch, logs in enumerate(epochs_logs):
//           if keys is None:
//               keys = sorted(logs.keys())
//               if not any(k.startswith("val_") for k in keys) and keys:
//                   keys.extend(["val_" + k for k in keys])
//           if not writer:
//               class D(csv.excel): delimiter = sep
//               writer = csv.DictWriter(f, fieldnames=["epoch"] + keys, dialect=D)
//               if append_header: writer.writeheader()
//           row = collections.OrderedDict({"epoch": epoch})
//           row.update((k, logs.get(k, "NA")) for k in keys)
//           writer.writerow(row)
//       return f.getvalue()

class CallbacksCSVLogger : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("keel_csv_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static void write(const std::string& p, const std::string& content) { std::ofstream(p, std::ios::binary) << content; }
  /// on_train_begin, one on_epoch_end per logs entry, on_train_end.
  static void run(CSVLogger& logger, const std::vector<Logs>& epochs) {
    Logs none;
    logger.on_train_begin(none);
    for (size_t e = 0; e < epochs.size(); ++e) {
      Logs logs = epochs[e];
      logger.on_epoch_end(static_cast<int>(e), logs);
    }
    logger.on_train_end(none);
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename().string());
    return names;
  }

  fs::path dir_;
};

TEST_F(CallbacksCSVLogger, AddsValColumnsWhenTheFirstEpochHasNone) {
  CSVLogger logger(path("log.csv"));
  run(logger, {{{"loss", 0.5}, {"mae", 0.25}}, {{"loss", 0.125}, {"mae", 1e-05}}});
  // csvlog([{"loss": 0.5, "mae": 0.25}, {"loss": 0.125, "mae": 1e-05}])
  EXPECT_EQ(read(path("log.csv")), "epoch,loss,mae,val_loss,val_mae\r\n0,0.5,0.25,NA,NA\r\n1,0.125,1e-05,NA,NA\r\n");
  EXPECT_EQ(entries(), std::vector<std::string>{"log.csv"});  // no .tmp left behind
}

TEST_F(CallbacksCSVLogger, SeparatorMissingValuesAndPythonFloatText) {
  CSVLogger logger(path("log.csv"), {.separator = ";"});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  run(logger, {{{"loss", 0.1}, {"val_loss", 0.2}}, {{"loss", 0.1 + 0.2}, {"val_loss", nan}}, {{"loss", 1e16}}});
  // csvlog([{"loss": 0.1, "val_loss": 0.2}, {"loss": 0.1 + 0.2, "val_loss": float("nan")}, {"loss": 1e16}], sep=";")
  EXPECT_EQ(read(path("log.csv")), "epoch;loss;val_loss\r\n0;0.1;0.2\r\n1;0.30000000000000004;nan\r\n2;1e+16;NA\r\n");

  CSVLogger more(path("more.csv"));
  run(more, {{{"loss", 0.0001}, {"val_loss", -0.0}},
             {{"loss", 123456789012345678.0}, {"val_loss", std::numeric_limits<double>::infinity()}},
             {{"loss", 1.0 / 3}, {"val_loss", 2.5e-300}}});
  // csvlog([{"loss": 0.0001, "val_loss": -0.0}, {"loss": 123456789012345678.0, "val_loss": float("inf")},
  //         {"loss": 1/3, "val_loss": 2.5e-300}])
  EXPECT_EQ(
      read(path("more.csv")),
      "epoch,loss,val_loss\r\n0,0.0001,-0.0\r\n1,1.2345678901234568e+17,inf\r\n2,0.3333333333333333,2.5e-300\r\n");
}

TEST_F(CallbacksCSVLogger, QuotesFieldsHoldingTheSeparator) {
  CSVLogger logger(path("log.csv"));
  run(logger, {{{"a,b", 1.5}, {"loss", 100.0}}});
  // csvlog([{"a,b": 1.5, "loss": 100.0}])
  EXPECT_EQ(read(path("log.csv")), "epoch,\"a,b\",loss,\"val_a,b\",val_loss\r\n0,1.5,100.0,NA,NA\r\n");
}

TEST_F(CallbacksCSVLogger, AppendKeepsExistingRowsAndSkipsTheHeader) {
  write(path("log.csv"), "epoch,loss\r\n0,1.0\r\n");
  CSVLogger logger(path("log.csv"), {.append = true});
  run(logger, {{{"loss", 2.0}}});
  // csvlog([{"loss": 2.0}], prefix="epoch,loss\r\n0,1.0\r\n", append_header=False)
  EXPECT_EQ(read(path("log.csv")), "epoch,loss\r\n0,1.0\r\n0,2.0,NA\r\n");
  // A missing or empty file gets the header.
  CSVLogger fresh(path("new.csv"), {.append = true});
  run(fresh, {{{"loss", 2.0}}});
  EXPECT_EQ(read(path("new.csv")), "epoch,loss,val_loss\r\n0,2.0,NA\r\n");
  write(path("empty.csv"), "");
  CSVLogger empty(path("empty.csv"), {.append = true});
  run(empty, {{{"loss", 2.0}}});
  EXPECT_EQ(read(path("empty.csv")), "epoch,loss,val_loss\r\n0,2.0,NA\r\n");
}

TEST_F(CallbacksCSVLogger, OverwritesWithoutAppendAndTheFileIsCompleteAfterEachEpoch) {
  write(path("log.csv"), "old content\n");
  CSVLogger logger(path("log.csv"));
  Logs none;
  logger.on_train_begin(none);
  EXPECT_EQ(read(path("log.csv")), "");  // truncated at train begin, as open(..., "w") does
  Logs e0{{"loss", 0.5}, {"val_loss", 0.75}};
  logger.on_epoch_end(0, e0);
  EXPECT_EQ(read(path("log.csv")), "epoch,loss,val_loss\r\n0,0.5,0.75\r\n");
  Logs e1{{"loss", 0.25}, {"val_loss", 0.5}};
  logger.on_epoch_end(1, e1);
  EXPECT_EQ(read(path("log.csv")), "epoch,loss,val_loss\r\n0,0.5,0.75\r\n1,0.25,0.5\r\n");
  logger.on_train_end(none);
  // A second fit with the same logger starts the file again.
  run(logger, {{{"loss", 1.0}, {"val_loss", 2.0}}});
  EXPECT_EQ(read(path("log.csv")), "epoch,loss,val_loss\r\n0,1.0,2.0\r\n");
  EXPECT_EQ(entries(), std::vector<std::string>{"log.csv"});
}

// Issue 20: an epoch appends its row; it does not rewrite the file (cost growing with the epochs).
TEST_F(CallbacksCSVLogger, EachEpochAppendsToTheSameFileWithoutRewritingIt) {
  CSVLogger logger(path("log.csv"));
  Logs none;
  logger.on_train_begin(none);
  Logs e0{{"loss", 0.5}, {"val_loss", 0.75}};
  logger.on_epoch_end(0, e0);
  struct stat before {};
  ASSERT_EQ(::stat(path("log.csv").c_str(), &before), 0);
  // Change a byte in place: a rewrite from memory would undo it, an append leaves it.
  {
    std::fstream f(path("log.csv"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f.put('E');
  }
  Logs e1{{"loss", 0.25}, {"val_loss", 0.5}};
  logger.on_epoch_end(1, e1);
  logger.on_train_end(none);
  struct stat after {};
  ASSERT_EQ(::stat(path("log.csv").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // no rename over it
  EXPECT_EQ(read(path("log.csv")), "Epoch,loss,val_loss\r\n0,0.5,0.75\r\n1,0.25,0.5\r\n");
}

// A run killed at any moment leaves complete rows and no temporary file (there used to be a stale .tmp).
TEST_F(CallbacksCSVLogger, KilledRunLeavesCompleteRowsAndNoTemporaryFile) {
  for (int attempt = 0; attempt < 30; ++attempt) {
    fs::remove(path("log.csv"));
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      CSVLogger logger(path("log.csv"));
      Logs none;
      logger.on_train_begin(none);
      for (int e = 0;; ++e) {
        Logs logs{{"loss", 1.0 / (e + 1)}};
        logger.on_epoch_end(e, logs);
      }
    }
    ::usleep(10000 + 3000 * attempt);
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    // On a loaded machine the child may not have reached the logger yet: then there is nothing at all.
    const std::vector<std::string> left = entries();
    if (left.empty()) continue;
    EXPECT_EQ(left, std::vector<std::string>{"log.csv"});
    const std::string text = read(path("log.csv"));
    if (text.empty()) continue;  // killed before the first row
    EXPECT_EQ(text.rfind("epoch,loss,val_loss\r\n", 0), 0u) << text.substr(0, 100);
    EXPECT_EQ(text.substr(text.size() - 2), "\r\n");  // the last row is whole
    std::istringstream lines(text);
    std::string line;
    std::getline(lines, line);
    for (int e = 0; std::getline(lines, line); ++e)
      ASSERT_EQ(line.rfind(std::to_string(e) + ",", 0), 0u) << "row " << e << ": " << line;
  }
}

TEST_F(CallbacksCSVLogger, AppendingEndsAnUnterminatedLastLineFirst) {
  write(path("log.csv"), "epoch,loss\r\n0,1.0");
  CSVLogger logger(path("log.csv"), {.append = true});
  run(logger, {{{"loss", 2.0}}});
  EXPECT_EQ(read(path("log.csv")), "epoch,loss\r\n0,1.0\r\n0,2.0,NA\r\n");
}

TEST_F(CallbacksCSVLogger, ErrorsNameThePath) {
  const std::string missing_dir = path("no/such/dir/log.csv");
  CSVLogger logger(missing_dir);
  Logs none;
  testing::expect_error<Error>([&] { logger.on_train_begin(none); }, "CSVLogger", missing_dir);
  testing::expect_error<ValueError>([] { CSVLogger("x.csv", {.separator = ", "}); }, "1-character", "\", \"");
}

TEST_F(CallbacksCSVLogger, InsideFitLogsEveryEpochOfHistory) {
  random::set_seed(2);
  Sequential model({layers::Input({4}), layers::Dense(1)});
  model.compile({.optimizer = optimizers::SGD({.learning_rate = 0.1}), .loss = {"mse"}});
  Tensor x = random::normal({16, 4}, 0.0, 1.0, DType::f32, 4);
  Tensor y = ops::sum(x, {1}, true);
  History h = model.fit(x, y,
                        {.batch_size = 4,
                         .epochs = 3,
                         .verbose = 0,
                         .callbacks = {CSVLogger(path("fit.csv"))},
                         .validation_split = 0.25});
  std::istringstream lines(read(path("fit.csv")));
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "epoch,loss,val_loss\r");
  for (int e = 0; e < 3; ++e) {
    ASSERT_TRUE(std::getline(lines, line));
    ASSERT_EQ(line.back(), '\r');
    std::istringstream fields(line.substr(0, line.size() - 1));
    std::string epoch, loss, val_loss;
    std::getline(fields, epoch, ',');
    std::getline(fields, loss, ',');
    std::getline(fields, val_loss, ',');
    EXPECT_EQ(epoch, std::to_string(e));
    // Shortest round-trip text: parsing gives back the exact logged double.
    EXPECT_EQ(std::strtod(loss.c_str(), nullptr), h.history.at("loss")[e]);
    EXPECT_EQ(std::strtod(val_loss.c_str(), nullptr), h.history.at("val_loss")[e]);
  }
  EXPECT_FALSE(std::getline(lines, line));
}

}  // namespace
}  // namespace keel
