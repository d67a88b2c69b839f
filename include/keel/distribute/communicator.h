// Collectives between the processes (or in-process replicas) of a cluster: one interface, several engines.
//   auto comm = distribute::connect_gloo({.rank = r, .world_size = n, .master_address = "127.0.0.1",
//                                         .master_port = 29500});
//   comm->all_reduce(grad);            // summed over every rank, in place, identical bits on every rank
//   comm->broadcast(weights, /*root=*/0);
// Every call takes the communicator's timeout; a lost peer raises UnavailableError, a wait past the
// timeout DeadlineExceededError, both naming the rank and the operation. After abort() every call fails.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::distribute {

enum class ReduceOp { kSum, kMin, kMax };

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// "gloo", "mpi", "in_process" or "nccl".
  virtual std::string backend() const = 0;

  /// Reduces `tensor` over all ranks in place. Every rank passes a contiguous tensor of the same shape and
  /// dtype (f32, f64, i32 or i64) on the device the engine serves (the CPU for gloo, mpi and in_process).
  virtual void all_reduce(Tensor& tensor, ReduceOp op = ReduceOp::kSum) = 0;
  /// Overwrites `tensor` on every rank with root's (same shape and dtype everywhere).
  virtual void broadcast(Tensor& tensor, int root = 0) = 0;
  /// Every rank's `tensor` (same shape and dtype everywhere) concatenated along axis 0 in rank order;
  /// a scalar becomes a vector of size().
  virtual Tensor all_gather(const Tensor& tensor) = 0;
  /// Returns once every rank has called it.
  virtual void barrier() = 0;
  /// Makes this rank's pending and later calls fail with UnavailableError; peers see this rank as lost.
  virtual void abort() = 0;

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 protected:
  /// Default for every call: long enough for a slow step on a loaded machine, short enough that a
  /// silent peer never hangs a job for good. KEEL_COLLECTIVE_TIMEOUT_S overrides it at connection.
  std::chrono::milliseconds timeout_{std::chrono::seconds(300)};
};

/// Where a multi-process communicator meets its peers: rank 0 serves a small key-value store at
/// master_address:master_port, the others connect to it (retrying until `timeout`). Rank 0 stops serving
/// it once every rank is connected.
struct RendezvousOptions {
  int rank = 0;
  int world_size = 1;
  std::string master_address = "127.0.0.1";
  int master_port = 29500;
  /// For the rendezvous and for every later call.
  std::chrono::milliseconds timeout{std::chrono::seconds(300)};
  /// Keys of several communicators created over one store stay apart under this prefix.
  std::string prefix = "keel";
  /// The job secret every rank proves it knows before the store answers it (docs/distribute.md, Security).
  /// Empty: KEEL_CLUSTER_SECRET. Required, at least 16 characters, unless master_address is a loopback
  /// address; ValueError naming the variable when it is missing.
  std::string secret;
};

/// Gloo over TCP (CPU tensors). Throws DeadlineExceededError naming the address when the peers do not
/// all arrive within the timeout, UnavailableError when the address cannot be served or reached.
std::unique_ptr<Communicator> connect_gloo(const RendezvousOptions& options);

/// Open MPI's MPI_COMM_WORLD (the process must have been started by mpirun; MPI is initialised on the
/// first call and finalised at exit). Absent (UnimplementedError) in a build without MPI.
std::unique_ptr<Communicator> connect_mpi();

/// `world_size` communicators of one process, one per replica, for replicas that run on their own threads:
/// each collective returns once every replica's thread has called it.
std::vector<std::unique_ptr<Communicator>> make_in_process_group(int world_size);

}  // namespace keel::distribute
