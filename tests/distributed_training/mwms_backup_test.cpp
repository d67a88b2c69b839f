// BackupAndRestore under MultiWorkerMirroredStrategy with 2 processes (issue 13): a fit whose workers are
// SIGKILLed and restarted until it finishes ends with the weights, optimizer state and History of a 2-worker
// fit that was never interrupted, bit for bit, on both workers. The chief writes the backup, both resume
// from it (Note [BackupAndRestore under a multi-worker strategy] in src/io/backup_and_restore.cpp).
//
//   mwms_backup_test                 the test: starts the workers (itself, in "worker" mode) on loopback
//   mwms_backup_test worker OUT BACKUP_DIR|- PLAN ATTEMPT   one worker (RANK, WORLD_SIZE, MASTER_PORT set)
//
// The model has Dropout and fit shuffles, with a validation split; the global batch of 16 leaves a last
// batch of 7 (4 + 3 rows), and each worker's generator is moved apart from the other's before fit, so the
// workers' generator states and metric accumulators differ: a resume that gave both the chief's state
// would not be exact. A backup every 4 batches (5 batches per epoch) lands at different places of the
// epochs. Each killed run restarts both workers on a fresh port with the same backup directory. PLAN:
//   "batch:R:N"  worker R SIGKILLs itself at the end of the N-th batch it trains; the other one fails on
//                its next collective (UnavailableError) and exits non-zero
//   "both:R:N"   the same, and the test SIGKILLs the other worker as soon as R is dead
//   "write:N"    the chief is SIGKILLed by a thread of its own the moment the N-th backup weights file of
//                this run is renamed into place (mostly before its metadata is)
//   "none"       no kill: both workers finish and write OUT.rank<R>
// KEEL_BACKUP_TEST_SEED picks other kill points (default: a fixed seed).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "keel/distribute/strategies.h"
#include "keel/keel.h"
#include "unused_port.h"

using namespace keel;
namespace fs = std::filesystem;

namespace {

constexpr int kEpochs = 6;

// --- one worker ---

struct KillAtBatch : Callback {
  int at, seen = 0;
  explicit KillAtBatch(int at) : at(at) {}
  void on_train_batch_end(int64_t, Logs&) override {
    if (++seen == at) ::raise(SIGKILL);
  }
};

// Appends where the fit resumed to LOG (after BackupAndRestore's on_train_begin, which restored it).
struct ReportRestore : Callback {
  std::shared_ptr<callbacks::BackupAndRestore> backup;
  std::string log;
  int rank = 0;
  void on_train_begin(Logs&) override {
    if (!backup->restored_epoch()) return;
    std::ofstream(log, std::ios::app) << rank << " " << *backup->restored_epoch() << " " << backup->restored_batch()
                                      << "\n";
  }
};

int worker(const std::string& out, const std::string& backup_dir, const std::string& plan, int attempt) {
  distribute::MultiWorkerMirroredStrategy strategy;
  const int rank = strategy.worker_rank();

  random::set_seed(42);
  const int64_t n = 89;  // 71 to train on: 4 batches of 16 and one of 7; 18 to validate on
  Tensor x = random::normal({n, 6}, 0.0, 1.0, DType::f32, 7);
  std::vector<float> xs = x.to_vector<float>(), ys;
  for (int64_t i = 0; i < n; ++i) ys.push_back(xs[i * 6] - 0.7f * xs[i * 6 + 2] > 0.1f ? 1.0f : 0.0f);
  Tensor y = from_vector(ys, {n, 1});
  Sequential model = [&] {
    auto scope = strategy.scope();
    Sequential m({layers::Input({6}), layers::Dense(16, "relu"), layers::Dropout(0.3), layers::Dense(1, "sigmoid")});
    m.compile({.optimizer = optimizers::Adam({.learning_rate = 0.01}), .loss = "binary_crossentropy",
               .metrics = {"accuracy"}});
    return m;
  }();
  // The workers' generators part ways, and a program restarted from a backup draws other numbers again
  // (the backup restores the generators; a program that finds none starts as the uninterrupted one did).
  const bool has_backup = backup_dir != "-" && fs::exists(backup_dir);
  random::normal({1 + 5 * rank + (has_backup ? 3 * attempt : 0)});

  std::vector<CallbackArg> cbs;
  std::shared_ptr<callbacks::BackupAndRestore> backup;
  if (backup_dir != "-") {
    backup = std::make_shared<callbacks::BackupAndRestore>(backup_dir, callbacks::BackupAndRestoreOptions{.save_freq = 4});
    auto report = std::make_shared<ReportRestore>();
    report->backup = backup;
    report->log = out + ".restores";
    report->rank = rank;
    cbs.push_back(backup);
    cbs.push_back(report);
  }
  std::atomic<bool> done{false};
  std::thread watcher;
  if (plan.rfind("batch:", 0) == 0 || plan.rfind("both:", 0) == 0) {
    const size_t colon = plan.find(':');
    const int victim = std::stoi(plan.substr(colon + 1));
    if (victim == rank) cbs.push_back(KillAtBatch(std::stoi(plan.substr(plan.find(':', colon + 1) + 1))));
  } else if (plan.rfind("write:", 0) == 0 && rank == 0) {
    const int nth = std::stoi(plan.substr(6));
    const std::string weights = backup_dir + "/latest.weights.h5";
    struct stat st {};
    const ino_t before = ::stat(weights.c_str(), &st) == 0 ? st.st_ino : 0;  // the last run's backup
    watcher = std::thread([&done, nth, weights, before] {
      ino_t last = before;
      int renames = 0;
      while (!done.load()) {
        struct stat now {};
        if (::stat(weights.c_str(), &now) == 0 && now.st_ino != last) {  // a new file renamed into place
          last = now.st_ino;
          if (++renames == nth) ::raise(SIGKILL);
        }
        std::this_thread::yield();
      }
    });
  }
  const History h = model.fit(x, y, {.batch_size = 16, .epochs = kEpochs, .verbose = 0, .callbacks = cbs,
                                     .validation_split = 0.2, .shuffle = true});
  done = true;
  if (watcher.joinable()) watcher.join();

  // Hex floats: equal files mean bitwise-equal values.
  std::ostringstream s;
  for (const Tensor& w : model.get_weights())
    for (float v : w.to_vector<float>()) s << std::hexfloat << v << "\n";
  for (const Variable& v : model.optimizer().variables())
    for (double d : v.value().astype(DType::f64).to_vector<double>()) s << std::hexfloat << d << "  # optimizer\n";
  for (int e : h.epoch) s << e << "  # epoch\n";
  for (const auto& [key, values] : h.history)
    for (double v : values) s << std::hexfloat << v << "  # " << key << "\n";
  std::ofstream(out + ".rank" + std::to_string(rank)) << s.str();
  return 0;
}

// --- the test ---

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string g_tmp;  // the test's directory, kept when it fails

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "FAIL: %s%s\n", why.c_str(), g_tmp.empty() ? "" : (" (files kept in " + g_tmp + ")").c_str());
  std::exit(1);
}

struct Exit {
  bool signaled = false;
  int code = 0;  // exit status, or the signal
  std::string str() const { return signaled ? "killed by signal " + std::to_string(code) : "exit " + std::to_string(code); }
};

// Starts the `world` workers of one run and waits for them (SIGKILLing the survivor at once with
// `kill_survivor`, and everyone after `limit`). With `errors`, worker R's stderr goes to ERRORS.rank<R>.
std::vector<Exit> run_workers(int world, const std::string& out, const std::string& backup, const std::string& plan,
                              int attempt, bool kill_survivor, const std::string& errors = "",
                              std::chrono::seconds limit = std::chrono::seconds(60)) {
  const int port = keel::testing::unused_loopback_port();
  if (port == 0) fail("no free loopback port");
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  std::vector<pid_t> pids;
  for (int rank = 0; rank < world; ++rank) {
    const pid_t pid = ::fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::setenv("KEEL_COLLECTIVE_TIMEOUT_S", "30", 1);
      ::setenv("OMP_NUM_THREADS", "1", 1);
      if (!errors.empty()) {
        const std::string path = errors + ".rank" + std::to_string(rank);
        if (std::freopen(path.c_str(), "w", stderr) == nullptr) ::_exit(126);
      }
      const std::string attempt_s = std::to_string(attempt);
      std::vector<const char*> argv = {self.c_str(), "worker", out.c_str(), backup.c_str(), plan.c_str(),
                                       attempt_s.c_str(), nullptr};
      ::execv(self.c_str(), const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
    pids.push_back(pid);
  }
  std::vector<Exit> exits(world);
  std::vector<bool> running(world, true);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::find(running.begin(), running.end(), true) != running.end()) {
    bool progressed = false;
    for (int r = 0; r < world; ++r) {
      if (!running[r]) continue;
      int status = 0;
      if (::waitpid(pids[r], &status, WNOHANG) != pids[r]) continue;
      running[r] = false;
      progressed = true;
      exits[r] = WIFSIGNALED(status) ? Exit{true, WTERMSIG(status)} : Exit{false, WEXITSTATUS(status)};
      if (kill_survivor && exits[r].signaled)
        for (int other = 0; other < world; ++other)
          if (running[other]) ::kill(pids[other], SIGKILL);
    }
    if (!progressed && std::chrono::steady_clock::now() > deadline) {
      for (int r = 0; r < world; ++r)
        if (running[r]) ::kill(pids[r], SIGKILL);
      for (int r = 0; r < world; ++r)
        if (running[r]) ::waitpid(pids[r], nullptr, 0);
      fail("plan " + plan + ": the workers did not finish within " + std::to_string(limit.count()) + " s");
    }
    if (!progressed) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return exits;
}

int test() {
  const auto start = std::chrono::steady_clock::now();
  char pattern[] = "/tmp/keel_mwms_backup_XXXXXX";
  if (::mkdtemp(pattern) == nullptr) fail("mkdtemp");
  const std::string tmp = pattern;
  g_tmp = tmp;

  // The uninterrupted 2-worker fit, without BackupAndRestore.
  for (const Exit& e : run_workers(2, tmp + "/plain", "-", "none", 0, false))
    if (e.signaled || e.code != 0) fail("the uninterrupted run: a worker's " + e.str());
  const std::string expected = read_text(tmp + "/plain.rank0");
  if (expected.empty() || read_text(tmp + "/plain.rank1") != expected) fail("the uninterrupted workers differ");

  // Killed and restarted until it finishes: 6 epochs of 5 batches, a backup every 4.
  const char* seed_env = std::getenv("KEEL_BACKUP_TEST_SEED");
  std::mt19937 rng(seed_env ? static_cast<unsigned>(std::stoul(seed_env)) : 20261207u);
  auto at = [&] { return std::to_string(std::uniform_int_distribution<int>(2, 7)(rng)); };
  const std::vector<std::string> plans = {"batch:1:" + at(), "both:0:" + at(), "write:1", "batch:0:" + at(),
                                          "both:1:" + at(), "write:2", "none"};
  const std::string backup = tmp + "/backup", out = tmp + "/resumed";
  int killed_runs = 0, attempt = 0, killed_between_writes = 0;
  bool finished = false;
  for (const std::string& plan : plans) {
    ++attempt;
    const bool both = plan.rfind("both:", 0) == 0;
    const std::vector<Exit> exits = run_workers(2, out, backup, plan, attempt, both);
    // A kill after the new weights' rename and before their metadata's leaves the .next file for the restart.
    const bool between_writes = fs::exists(backup + "/training_metadata.json.next");
    killed_between_writes += between_writes;
    std::printf("run %d, plan %-9s rank 0: %-18s rank 1: %s%s\n", attempt, plan.c_str(), exits[0].str().c_str(),
                exits[1].str().c_str(), between_writes ? " (between the backup's two writes)" : "");
    const bool ok0 = !exits[0].signaled && exits[0].code == 0, ok1 = !exits[1].signaled && exits[1].code == 0;
    if (ok0 && ok1) {  // finished (a plan that came too late kills nobody)
      finished = true;
      break;
    }
    if (plan == "none") fail("the run without a kill failed");
    if (ok0 || ok1) fail("plan " + plan + ": one worker finished and the other did not");
    // The victim died by SIGKILL; the other one failed on its own (a non-zero exit) or was killed.
    const int victim = plan.rfind("write:", 0) == 0 ? 0 : plan[plan.find(':') + 1] - '0';
    if (!exits[victim].signaled || exits[victim].code != SIGKILL)
      fail("plan " + plan + ": worker " + std::to_string(victim) + " was meant to die by SIGKILL (" +
           exits[victim].str() + ")");
    if (!both && exits[1 - victim].signaled)
      fail("plan " + plan + ": the surviving worker was meant to fail on its own (" + exits[1 - victim].str() + ")");
    ++killed_runs;
  }
  if (!finished) fail("the training did not finish");

  const std::string r0 = read_text(out + ".rank0"), r1 = read_text(out + ".rank1");
  if (r0 != r1) fail("the resumed workers' weights differ from each other");
  if (r0 != expected) {
    std::fprintf(stderr, "uninterrupted:\n%s\nresumed:\n%s\n", expected.c_str(), r0.c_str());
    fail("the resumed fit differs from the uninterrupted one");
  }
  if (fs::exists(backup)) fail("the chief did not delete the backup directory at the end");
  // Both workers resumed from the same points, some of them in the middle of an epoch.
  std::ifstream log(out + ".restores");
  std::vector<std::string> by_rank[2];
  int rank = 0, epoch = 0, mid_epoch = 0;
  int64_t batch = 0;
  while (log >> rank >> epoch >> batch) {
    by_rank[rank & 1].push_back(std::to_string(epoch) + ":" + std::to_string(batch));
    if (rank == 0 && batch > 0) ++mid_epoch;
  }
  if (by_rank[0] != by_rank[1]) fail("the workers resumed from different points");
  if (killed_runs < 3 || by_rank[0].size() < 3 || mid_epoch < 1)
    fail("too few kills and resumes to test anything: " + std::to_string(killed_runs) + " kills, " +
         std::to_string(by_rank[0].size()) + " resumes, " + std::to_string(mid_epoch) + " mid-epoch");

  // A backup is resumed by as many workers as wrote it; a chief that cannot restore fails every worker.
  const std::string kept = tmp + "/kept";
  run_workers(2, tmp + "/k", kept, "batch:1:6", 1, false);
  if (!fs::exists(kept + "/training_metadata.json")) fail("no backup after a killed run");
  const std::vector<Exit> alone = run_workers(1, tmp + "/k", kept, "none", 2, false, tmp + "/alone");
  const std::string alone_error = read_text(tmp + "/alone.rank0");
  if (alone[0].signaled || alone[0].code == 0 || alone_error.find("written by a fit of 2 worker(s)") == std::string::npos)
    fail("one process resumed a 2-worker backup (" + alone[0].str() + "): " + alone_error);
  std::ofstream(kept + "/training_metadata.json", std::ios::trunc) << "{\"epoch\": 1, ";
  const std::vector<Exit> broken = run_workers(2, tmp + "/k", kept, "none", 3, false, tmp + "/broken");
  const std::string chief_error = read_text(tmp + "/broken.rank0"), other_error = read_text(tmp + "/broken.rank1");
  if (broken[0].signaled || broken[0].code == 0 || chief_error.find("malformed JSON") == std::string::npos)
    fail("the chief restored a malformed backup (" + broken[0].str() + "): " + chief_error);
  if (broken[1].signaled || broken[1].code == 0 ||
      other_error.find("the chief (worker 0) could not restore the backup") == std::string::npos ||
      other_error.find("malformed JSON") == std::string::npos)
    fail("worker 1 did not fail with the chief's error (" + broken[1].str() + "): " + other_error);

  std::printf("PASS: %d killed runs (%d between a backup's two writes), resumed at", killed_runs,
              killed_between_writes);
  for (const std::string& p : by_rank[0]) std::printf(" %s", p.c_str());
  std::printf(" (epoch:batch), both workers bitwise equal to the uninterrupted fit, %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  fs::remove_all(tmp);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 1) return test();
    if (argc == 6 && std::string(argv[1]) == "worker") return worker(argv[2], argv[3], argv[4], std::atoi(argv[5]));
    std::fprintf(stderr, "usage: mwms_backup_test [worker OUT BACKUP_DIR|- PLAN ATTEMPT]\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mwms_backup_test: %s\n", e.what());
  }
  return 1;
}
