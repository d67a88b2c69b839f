// The reference program trained by several processes, as the Keras guide trains it on a TPU cluster:
// resolve the cluster, connect to it, initialise it, then build, compile and fit inside the strategy's scope.
//
//   Keras (TPU)                                             Keel (CPU/GPU processes)
//   resolver = TPUClusterResolver(tpu=...)                  auto resolver = distribute::ClusterResolver::
//                                                               from_environment();
//   tf.config.experimental_connect_to_cluster(resolver)     distribute::connect_to_cluster(resolver);
//   tf.tpu.experimental.initialize_tpu_system(resolver)     distribute::initialize_system();
//   strategy = TPUStrategy(resolver)                        distribute::MultiWorkerMirroredStrategy strategy(resolver);
//   with strategy.scope():                                  { auto scope = strategy.scope();
//       model = ...; model.compile(...)                       model = ...; model.compile(...); }
//   model.fit(x_train, y_train, epochs=10, batch_size=64)   model.fit(x_train, y_train, {.batch_size = 64, ...});
//
// Run it with 2 processes on this machine:  keel-launch --nproc 2 build/examples/reference_binary_classifier_multiworker
// or under mpirun, Slurm's srun, or with TF_CONFIG set per process (docs/distribute.md). The batch of 64 is
// global: each of N workers trains on 64/N rows of it, and all of them end with the same weights.
#include <keel/keel.h>

#include <cstdio>

#include "mnist_odd_even.h"

using namespace keel;
using mnist_odd_even::flatten_pixels;
using mnist_odd_even::is_odd;

int main() try {
  auto resolver = distribute::ClusterResolver::from_environment();
  distribute::connect_to_cluster(resolver);
  const int workers = distribute::initialize_system();
  distribute::MultiWorkerMirroredStrategy strategy(resolver);
  const bool chief = resolver.is_chief();
  if (chief)
    std::printf("Cluster from %s: %d worker(s), %d replica(s) in sync\n", distribute::to_string(resolver.source()),
                workers, strategy.num_replicas_in_sync());

  random::set_seed(42);
  auto [train, test] = datasets::mnist::load_data();
  Tensor x_train = flatten_pixels(train.x), y_train = is_odd(train.y);
  Tensor x_test = flatten_pixels(test.x), y_test = is_odd(test.y);

  Sequential model = [&] {
    auto scope = strategy.scope();
    Sequential m({layers::Input({784}), layers::Dense(64, "relu"), layers::Dense(1, "sigmoid")});
    m.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
    return m;
  }();
  // Every worker logs the same global numbers; only the chief shows them.
  model.fit(x_train, y_train, {.batch_size = 64, .epochs = 10, .verbose = chief ? Verbose("auto") : Verbose(0)});

  auto scores = model.evaluate(x_test, y_test, {.verbose = 0});
  if (chief) std::printf("Test loss: %.4f\nTest accuracy: %.4f\n", scores.at("loss"), scores.at("accuracy"));
  return 0;
} catch (const keel::Error& e) {
  std::fprintf(stderr, "reference_binary_classifier_multiworker: %s\n", e.what());
  return 1;
}
