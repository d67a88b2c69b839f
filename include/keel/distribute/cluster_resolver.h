// Who this process is in its cluster, read from the environment a launcher left
// (TensorFlow's TFConfigClusterResolver / SlurmClusterResolver, torchrun's variables, Open MPI's):
//   auto resolver = distribute::ClusterResolver::from_environment();
//   resolver.rank();  resolver.world_size();  resolver.master();   // "10.0.0.1:29500"
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace keel::distribute {

/// The most processes a job may have: every rank is named in the rendezvous, so a larger world size from a
/// mistyped or hostile variable would cost memory before anything could check it.
inline constexpr int kMaxWorldSize = 65536;

/// Where the cluster description came from, in the order from_environment() tries them.
enum class ClusterSource { kExplicit, kTfConfig, kTorchrun, kOpenMpi, kSlurm, kSingleProcess };

/// "explicit", "TF_CONFIG", "torchrun", "Open MPI", "Slurm", "single process".
const char* to_string(ClusterSource source);

/// Explicit configuration: wins over every environment variable when given to from_environment().
struct ClusterConfig {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string master_address = "127.0.0.1";
  int master_port = 29500;
};

class ClusterResolver {
 public:
  /// A single process: rank 0 of 1, master 127.0.0.1:29500.
  ClusterResolver();
  /// The given configuration (ValueError when rank is outside [0, world_size) or the port outside 1..65535).
  explicit ClusterResolver(const ClusterConfig& config);

  /// The first that applies: `config`; TF_CONFIG; RANK + WORLD_SIZE (+ LOCAL_RANK, LOCAL_WORLD_SIZE,
  /// MASTER_ADDR, MASTER_PORT); OMPI_COMM_WORLD_RANK + OMPI_COMM_WORLD_SIZE (+ _LOCAL_RANK, _LOCAL_SIZE);
  /// SLURM_PROCID + SLURM_NTASKS (+ SLURM_LOCALID, SLURM_NTASKS_PER_NODE, master = first host of
  /// SLURM_JOB_NODELIST, port = MASTER_PORT or 20000 + SLURM_JOB_ID % 10000); else a single process.
  /// Malformed values raise ValueError naming the variable, its value and what was expected.
  static ClusterResolver from_environment(const std::optional<ClusterConfig>& config = std::nullopt);
  /// The same, reading variables from `env` instead of the process environment (for tests).
  static ClusterResolver from_environment(const std::map<std::string, std::string>& env,
                                          const std::optional<ClusterConfig>& config = std::nullopt);

  ClusterSource source() const { return source_; }
  /// This process's rank in the collectives (0 = the chief), or -1 for a TF_CONFIG evaluator, which
  /// takes no part in them.
  int rank() const { return rank_; }
  /// Processes taking part in the collectives.
  int world_size() const { return world_size_; }
  int local_rank() const { return local_rank_; }
  int local_world_size() const { return local_world_size_; }
  /// Where rank 0 serves the rendezvous.
  const std::string& master_address() const { return master_address_; }
  int master_port() const { return master_port_; }
  /// "host:port" (tf ClusterResolver.master()).
  std::string master() const;
  /// TF_CONFIG's task type ("chief", "worker", "evaluator"); "worker" for the other sources (is_chief()
  /// tells rank 0 apart).
  const std::string& task_type() const { return task_type_; }
  int task_id() const { return task_id_; }
  bool is_chief() const { return rank_ == 0; }
  /// job name -> addresses (TF_CONFIG's "cluster"; empty for the other sources).
  const std::map<std::string, std::vector<std::string>>& cluster_spec() const { return cluster_spec_; }

 private:
  ClusterSource source_ = ClusterSource::kSingleProcess;
  int rank_ = 0, world_size_ = 1, local_rank_ = 0, local_world_size_ = 1;
  std::string master_address_ = "127.0.0.1";
  int master_port_ = 29500;
  std::string task_type_ = "worker";
  int task_id_ = 0;
  std::map<std::string, std::vector<std::string>> cluster_spec_;
};

}  // namespace keel::distribute
