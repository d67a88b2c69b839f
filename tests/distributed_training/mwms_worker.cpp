// One worker of the multi-process training tests (run_mwms_tests.sh starts it under keel-launch, mpirun,
// TF_CONFIG or by hand). It trains a small classifier inside MultiWorkerMirroredStrategy(...).scope()
// with a fixed seed and writes its final weights and logs, so that the script can compare workers with
// each other (bitwise) and with a single process trained on the same global batch (within 1e-5).
//   mwms_worker train --global-batch 32 --epochs 2 --out DIR/name   → DIR/name.rank<R>
//   mwms_worker train ... --die-at-batch 3                          → rank 1 SIGKILLs itself there
//   mwms_worker compare FILE_A FILE_B TOLERANCE                     → exit 0 when all values agree
//   mwms_worker free-port                                           → prints a free loopback port

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "keel/distribute/strategies.h"
#include "keel/keel.h"
#include "unused_port.h"

using namespace keel;

namespace {

struct Args {
  int64_t global_batch = 32;
  int epochs = 2;
  std::string out;
  int64_t die_at_batch = -1;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--global-batch") a.global_batch = std::stoll(v);
    else if (k == "--epochs") a.epochs = std::stoi(v);
    else if (k == "--out") a.out = v;
    else if (k == "--die-at-batch") a.die_at_batch = std::stoll(v);
    else throw ValueError("mwms_worker: unknown option " + k);
  }
  return a;
}

int train(const Args& args) {
  auto resolver = distribute::ClusterResolver::from_environment();
  distribute::MultiWorkerMirroredStrategy strategy(resolver);
  const int rank = strategy.worker_rank();

  // Same seed everywhere: identical data on every worker (each takes its slice of every global batch).
  random::set_seed(42);
  const int64_t n = 200;
  Tensor x = random::normal({n, 6}, 0.0, 1.0, DType::f32, 7);
  std::vector<float> xs = x.to_vector<float>(), ys;
  for (int64_t i = 0; i < n; ++i) ys.push_back(xs[i * 6] - 0.7f * xs[i * 6 + 2] > 0.1f ? 1.0f : 0.0f);
  Tensor y = from_vector(ys, {n, 1});

  Sequential model = [&] {
    auto scope = strategy.scope();
    Sequential m({layers::Input({6}), layers::Dense(16, "relu"), layers::Dense(1, "sigmoid")});
    m.compile({.optimizer = optimizers::Adam({.learning_rate = 0.01}), .loss = "binary_crossentropy", .metrics = {"accuracy"}});
    return m;
  }();

  std::vector<CallbackArg> callbacks;
  if (args.die_at_batch >= 0 && rank == 1) {
    callbacks.push_back(callbacks::LambdaCallback({.on_train_batch_end = [&](int64_t batch, Logs&) {
      if (batch == args.die_at_batch) std::raise(SIGKILL);
    }}));
  }
  History h = model.fit(x, y, {.batch_size = args.global_batch, .epochs = args.epochs, .verbose = 0,
                               .callbacks = callbacks});
  auto eval = model.evaluate(x, y, {.batch_size = 48, .verbose = 0});
  std::vector<float> pred = model.predict(x, {.batch_size = 64, .verbose = 0}).to_vector<float>();

  // Hex floats: exact, so equal files mean bitwise-equal weights.
  std::ofstream f(args.out + ".rank" + std::to_string(rank));
  for (const Tensor& w : model.get_weights())
    for (float v : w.to_vector<float>()) f << std::hexfloat << v << "\n";
  for (const auto& [k, v] : h.history) f << std::hexfloat << v.back() << "  # fit " << k << "\n";
  for (const auto& [k, v] : eval) f << std::hexfloat << v << "  # evaluate " << k << "\n";
  f << std::hexfloat << static_cast<double>(pred.size()) << "  # predictions\n";
  for (float v : pred) f << std::hexfloat << v << "\n";
  std::printf("rank %d of %d: loss %.6f accuracy %.4f (replicas %d, backend %s)\n", rank, strategy.num_workers(),
              h.history.at("loss").back(), h.history.at("accuracy").back(), strategy.num_replicas_in_sync(),
              distribute::cluster_communicator()->backend().c_str());
  return 0;
}

std::vector<double> read_values(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw NotFoundError("mwms_worker compare: cannot open " + path);
  std::vector<double> out;
  std::string line;
  while (std::getline(f, line)) out.push_back(std::strtod(line.c_str(), nullptr));
  return out;
}

int compare(const std::string& a, const std::string& b, double tolerance) {
  const std::vector<double> va = read_values(a), vb = read_values(b);
  if (va.size() != vb.size()) {
    std::fprintf(stderr, "%s has %zu values, %s has %zu\n", a.c_str(), va.size(), b.c_str(), vb.size());
    return 1;
  }
  double worst = 0;
  for (size_t i = 0; i < va.size(); ++i) worst = std::max(worst, std::abs(va[i] - vb[i]));
  std::printf("%zu values, largest difference %.3g (tolerance %.3g)\n", va.size(), worst, tolerance);
  return worst <= tolerance ? 0 : 1;
}

int free_port() {
  const int port = keel::testing::unused_loopback_port();
  if (port == 0) return 1;
  std::printf("%d\n", port);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "train") return train(parse(argc, argv));
    if (mode == "compare" && argc == 5) return compare(argv[2], argv[3], std::stod(argv[4]));
    if (mode == "free-port") return free_port();
    std::fprintf(stderr, "usage: mwms_worker train|compare|free-port ...\n");
    return 2;
  } catch (const UnavailableError& e) {
    std::fprintf(stderr, "mwms_worker: UnavailableError: %s\n", e.what());
  } catch (const DeadlineExceededError& e) {
    std::fprintf(stderr, "mwms_worker: DeadlineExceededError: %s\n", e.what());
  } catch (const Error& e) {
    std::fprintf(stderr, "mwms_worker: %s\n", e.what());
  }
  return 1;
}
