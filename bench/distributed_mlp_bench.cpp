// The benchmark suite's MLP (784-512-512-10 relu/softmax, Adam, sparse categorical cross-entropy, batch 128
// per replica) trained through model.fit under MultiWorkerMirroredStrategy, on the bundled MNIST. Run it as one
// process or under keel-launch; bench/run_distributed_bench runs both and prints the comparison.
//   distributed_mlp_bench [--steps 50] [--repeats 5]
// Rank 0 prints one line: processes, global samples/s (median of the repeats) and the share of the step time
// spent in collectives (gradient all-reduce, metric-state all-reduce).
#include <keel/keel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace keel;

int main(int argc, char** argv) try {
  int64_t steps = 50;
  int repeats = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--steps") steps = std::stoll(argv[i + 1]);
    else if (k == "--repeats") repeats = std::stoi(argv[i + 1]);
  }
  distribute::MultiWorkerMirroredStrategy strategy;
  const int workers = strategy.num_workers();
  const int64_t per_replica_batch = 128, global_batch = per_replica_batch * workers;

  random::set_seed(1);
  auto [train, test] = datasets::mnist::load_data();
  Tensor x = train.x.astype(DType::f32).reshape({-1, 784}) / 255.0;
  Tensor y = train.y.astype(DType::i64);

  Sequential model = [&] {
    auto scope = strategy.scope();
    Sequential m({layers::Input({784}), layers::Dense(512, "relu"), layers::Dense(512, "relu"),
                  layers::Dense(10, "softmax")});
    m.compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
    return m;
  }();

  const FitOptions options{.batch_size = global_batch, .epochs = 1, .verbose = 0, .steps_per_epoch = steps};
  model.fit(x, y, options);  // warm-up: primitives created, optimizer built, pages touched
  std::vector<double> rates, comm_shares;
  for (int r = 0; r < repeats; ++r) {
    const auto before = strategy.collective_stats();
    const auto start = std::chrono::steady_clock::now();
    model.fit(x, y, options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto after = strategy.collective_stats();
    rates.push_back(static_cast<double>(steps * global_batch) / seconds);
    comm_shares.push_back((after.seconds - before.seconds) / seconds);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  if (strategy.worker_rank() == 0)
    std::printf("processes %d  threads/process %d  global batch %lld  samples/s %.0f  communication %.1f%%\n", workers,
                config::get_num_threads(), static_cast<long long>(global_batch), median(rates),
                100.0 * median(comm_shares));
  return 0;
} catch (const keel::Error& e) {
  std::fprintf(stderr, "distributed_mlp_bench: %s\n", e.what());
  return 1;
}
