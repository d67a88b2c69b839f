// TensorFlow's distribution strategies for Keel models (keras-reference §11):
//   distribute::MultiWorkerMirroredStrategy strategy;      // the cluster from the environment
//   {
//     auto scope = strategy.scope();
//     Sequential model(...);  model.compile(...);
//   }
//   model.fit(x, y, {.batch_size = 64});   // global batch 64, split over strategy.num_replicas_in_sync()
// Models created or compiled inside scope() split each global batch over the replicas, sum the scaled
// gradients over all of them, and keep every replica's variables identical.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "keel/distribute/cluster.h"
#include "keel/distribute/cluster_resolver.h"
#include "keel/training/strategy.h"

namespace keel::distribute {

/// One replica on one device (tf.distribute.OneDeviceStrategy): variables created in the scope go there.
class OneDeviceStrategy : public Strategy {
 public:
  /// "/CPU:0", "/GPU:0", "cuda:1", ...; ValueError for a device that does not exist.
  explicit OneDeviceStrategy(const std::string& device);
};

/// Replicas on several devices of this process (tf.distribute.MirroredStrategy): the given logical devices,
/// by default every logical GPU, else the CPU. The replicas share one copy of the variables, on the first
/// device, and run their slices of each batch on it in turn; gradients are summed over them.
class MirroredStrategy : public Strategy {
 public:
  explicit MirroredStrategy(const std::vector<std::string>& devices = {});
  /// The replicas' devices, as TensorFlow names them ("/device:CPU:0", ...).
  const std::vector<std::string>& devices() const { return devices_; }

 private:
  explicit MirroredStrategy(std::pair<std::shared_ptr<StrategyExtended>, std::vector<std::string>> made);
  std::vector<std::string> devices_;
};

/// Collectives a strategy ran since it was made: what a benchmark or a log needs to show the share of step
/// time spent communicating.
struct CollectiveStats {
  int64_t calls = 0;
  int64_t bytes = 0;  // payload reduced, broadcast or gathered by this process
  double seconds = 0;
};

/// One replica per process over the processes of a cluster (tf.distribute.MultiWorkerMirroredStrategy):
/// connects to the cluster (connect_to_cluster) unless already connected; gradients go through the
/// communicator's all-reduce in buckets of about 25 MiB, in reverse layer order.
class MultiWorkerMirroredStrategy : public Strategy {
 public:
  explicit MultiWorkerMirroredStrategy(const ClusterResolver& resolver = ClusterResolver::from_environment(),
                                       const ConnectOptions& options = {});
  const ClusterResolver& cluster_resolver() const { return resolver_; }
  /// This process's rank (0 = chief) and the number of workers.
  int worker_rank() const;
  int num_workers() const;
  CollectiveStats collective_stats() const;

 private:
  ClusterResolver resolver_;
};

}  // namespace keel::distribute
