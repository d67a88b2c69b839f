// Joining the cluster a resolver describes (TensorFlow's experimental_connect_to_cluster and
// initialize_tpu_system, for clusters of CPU/GPU processes):
//   auto resolver = distribute::ClusterResolver::from_environment();
//   distribute::connect_to_cluster(resolver);   // rendezvous at resolver.master(), communicator, barrier
//   distribute::initialize_system();            // a barrier: every worker is up
// The connection is process-wide; MultiWorkerMirroredStrategy uses it (and makes it if none exists).
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "keel/distribute/cluster_resolver.h"
#include "keel/distribute/communicator.h"

namespace keel::distribute {

struct ConnectOptions {
  /// "auto": MPI when the resolver's source is Open MPI (and the build has MPI), else Gloo.
  /// "gloo" or "mpi" to choose.
  std::string backend = "auto";
  /// For the rendezvous and every later collective; KEEL_COLLECTIVE_TIMEOUT_S overrides the default.
  std::chrono::milliseconds timeout{std::chrono::seconds(300)};
};

/// Connects this process to its peers and keeps the connection for the life of the process. A second
/// call with the same resolver returns the existing connection; with a different cluster, RuntimeError.
/// A single-process resolver connects to nobody (a communicator of size 1). An evaluator (rank -1)
/// gets a ValueError: it takes no part in the collectives.
std::shared_ptr<Communicator> connect_to_cluster(const ClusterResolver& resolver, const ConnectOptions& options = {});

/// Waits until every worker has connected (connects from the environment first if needed); returns the
/// number of workers.
int initialize_system();

/// The process-wide connection, or nullptr before connect_to_cluster.
std::shared_ptr<Communicator> cluster_communicator();

}  // namespace keel::distribute
