#include "keel/distribute/strategies.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "keel/core/config.h"
#include "keel/core/error.h"
#include "keel/ops/manipulation.h"

namespace keel::distribute {

namespace {

/// The logical device `name` names, checked against tf.config's logical devices.
Device existing_device(const std::string& name, const char* strategy) {
  const Device d = Device::parse(name);
  const std::string type = d.is_cpu() ? "CPU" : "GPU";
  const auto devices = config::list_logical_devices(type);
  KEEL_CHECK(d.index >= 0 && d.index < static_cast<int>(devices.size()), ValueError, strategy, ": no device '", name,
             "'; ", devices.size(), " logical ", type, " device(s) exist",
             d.is_cpu() ? " (split the CPU with config::set_logical_device_configuration)" : "");
  return d;
}

/// A single process: every collective is the identity.
class LocalExtended : public StrategyExtended {
 public:
  LocalExtended(int replicas, std::optional<Device> device) : replicas_(replicas), device_(device) {}
  int num_replicas_in_sync() const override { return replicas_; }
  int local_replicas() const override { return replicas_; }
  std::optional<Device> variable_device() const override { return device_; }
  void all_reduce_sum(std::vector<Tensor>&) override {}
  void broadcast_from_chief(std::vector<Tensor>&) override {}
  Tensor all_gather_rows(const Tensor& local) override { return local; }

 private:
  int replicas_;
  std::optional<Device> device_;
};

/// Tensors grouped into flat buffers of one dtype and at most `cap` bytes (PyTorch DDP's 25 MiB buckets),
/// so that many small gradients cost a few collectives instead of one each.
struct Bucket {
  DType dtype;
  std::vector<size_t> members;
  int64_t elements = 0;
};

std::vector<Bucket> make_buckets(const std::vector<Tensor>& tensors, int64_t cap_bytes) {
  std::vector<Bucket> buckets;
  // Reverse order: the last layers' gradients are ready first in a backward pass.
  for (size_t k = tensors.size(); k-- > 0;) {
    const Tensor& t = tensors[k];
    const int64_t bytes = t.numel() * static_cast<int64_t>(dtype_size(t.dtype()));
    Bucket* open = nullptr;
    for (auto& b : buckets)
      if (b.dtype == t.dtype() &&
          (b.elements * static_cast<int64_t>(dtype_size(b.dtype)) + bytes <= cap_bytes || b.elements == 0))
        open = &b;
    if (!open) {
      buckets.push_back({t.dtype(), {}, 0});
      open = &buckets.back();
    }
    open->members.push_back(k);
    open->elements += t.numel();
  }
  return buckets;
}

/// One replica per process, collectives through the cluster's communicator.
class MultiWorkerExtended : public StrategyExtended {
 public:
  explicit MultiWorkerExtended(std::shared_ptr<Communicator> comm) : comm_(std::move(comm)) {}
  int num_replicas_in_sync() const override { return comm_->size(); }
  int local_replicas() const override { return 1; }
  int process_rank() const override { return comm_->rank(); }
  int process_count() const override { return comm_->size(); }

  const CollectiveStats& stats() const { return stats_; }

  void all_reduce_sum(std::vector<Tensor>& tensors) override {
    const Timer timer(stats_, tensors);
    constexpr int64_t kBucketBytes = 25ll << 20;
    for (const Bucket& bucket : make_buckets(tensors, kBucketBytes)) {
      if (bucket.members.size() == 1) {
        Tensor& t = tensors[bucket.members[0]];
        t = t.contiguous();
        comm_->all_reduce(t);
        continue;
      }
      Tensor flat = empty({bucket.elements}, bucket.dtype, Device::cpu());
      char* base = static_cast<char*>(flat.data_ptr());
      const size_t item = dtype_size(bucket.dtype);
      size_t offset = 0;
      for (size_t k : bucket.members) {
        const Tensor t = tensors[k].contiguous();
        std::memcpy(base + offset, t.data_ptr(), t.numel() * item);
        offset += t.numel() * item;
      }
      comm_->all_reduce(flat);
      offset = 0;
      for (size_t k : bucket.members) {
        Tensor& t = tensors[k];
        Tensor out = empty(t.shape(), t.dtype(), Device::cpu());
        std::memcpy(out.data_ptr(), base + offset, t.numel() * item);
        offset += t.numel() * item;
        t = out;
      }
    }
  }

  void broadcast_from_chief(std::vector<Tensor>& tensors) override {
    const Timer timer(stats_, tensors);
    for (Tensor& t : tensors) {
      t = t.contiguous();
      comm_->broadcast(t, 0);
    }
  }

  Tensor all_gather_rows(const Tensor& local) override {
    const Timer timer(stats_, {local});
    // Ranks may hold different row counts (a short last batch): gather the counts, pad to the largest,
    // gather, then keep each rank's real rows.
    Tensor rows = from_vector(std::vector<int64_t>{local.ndim() ? local.dim(0) : 1}, {1}, Device::cpu());
    const std::vector<int64_t> counts = comm_->all_gather(rows).to_vector<int64_t>();
    const int64_t most = *std::max_element(counts.begin(), counts.end());
    Shape padded_shape = local.shape();
    padded_shape[0] = most;
    Tensor padded = zeros(padded_shape, local.dtype(), Device::cpu());
    if (local.numel() > 0)
      std::memcpy(padded.data_ptr(), local.contiguous().data_ptr(), local.numel() * dtype_size(local.dtype()));
    const Tensor gathered = comm_->all_gather(padded);
    std::vector<Tensor> parts;
    for (size_t r = 0; r < counts.size(); ++r)
      parts.push_back(
          ops::slice_axis(gathered, 0, static_cast<int64_t>(r) * most, static_cast<int64_t>(r) * most + counts[r]));
    return ops::concatenate(parts, 0).contiguous();
  }

 private:
  /// Adds one call's wall time and payload to the stats when it goes out of scope.
  class Timer {
   public:
    Timer(CollectiveStats& stats, const std::vector<Tensor>& tensors)
        : stats_(stats), start_(std::chrono::steady_clock::now()) {
      for (const Tensor& t : tensors) stats_.bytes += t.numel() * static_cast<int64_t>(dtype_size(t.dtype()));
    }
    ~Timer() {
      ++stats_.calls;
      stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

   private:
    CollectiveStats& stats_;
    std::chrono::steady_clock::time_point start_;
  };

  std::shared_ptr<Communicator> comm_;
  CollectiveStats stats_;
};

std::shared_ptr<StrategyExtended> one_device(const std::string& device) {
  return std::make_shared<LocalExtended>(1, existing_device(device, "OneDeviceStrategy"));
}

std::pair<std::shared_ptr<StrategyExtended>, std::vector<std::string>> mirrored(std::vector<std::string> devices) {
  if (devices.empty()) {
    for (const auto& d : config::list_logical_devices("GPU")) devices.push_back(d.name);
    if (devices.empty()) devices.push_back(Device::cpu().tf_name());
  }
  std::vector<Device> parsed;
  for (auto& name : devices) {
    parsed.push_back(existing_device(name, "MirroredStrategy"));
    name = parsed.back().tf_name();
  }
  for (size_t i = 0; i < parsed.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      KEEL_CHECK(!(parsed[i] == parsed[j]), ValueError, "MirroredStrategy: device '", devices[i], "' is listed twice");
  for (const Device& d : parsed)
    KEEL_CHECK(d.type == parsed[0].type, ValueError, "MirroredStrategy: mixes CPU and GPU devices (", devices[0], ", ",
               d.tf_name(), "); give devices of one type");
  // The replicas share the variables, which live on the first device (the CPU's logical devices share one).
  std::optional<Device> home;
  if (parsed[0].is_cuda()) home = parsed[0];
  return {std::make_shared<LocalExtended>(static_cast<int>(parsed.size()), home), devices};
}

std::shared_ptr<StrategyExtended> multi_worker(const ClusterResolver& resolver, const ConnectOptions& options) {
  return std::make_shared<MultiWorkerExtended>(connect_to_cluster(resolver, options));
}

}  // namespace

OneDeviceStrategy::OneDeviceStrategy(const std::string& device) : Strategy(one_device(device)) {}

MirroredStrategy::MirroredStrategy(const std::vector<std::string>& devices) : MirroredStrategy(mirrored(devices)) {}

MirroredStrategy::MirroredStrategy(std::pair<std::shared_ptr<StrategyExtended>, std::vector<std::string>> made)
    : Strategy(std::move(made.first)), devices_(std::move(made.second)) {}

MultiWorkerMirroredStrategy::MultiWorkerMirroredStrategy(const ClusterResolver& resolver, const ConnectOptions& options)
    : Strategy(multi_worker(resolver, options)), resolver_(resolver) {}

int MultiWorkerMirroredStrategy::worker_rank() const { return extended().process_rank(); }
int MultiWorkerMirroredStrategy::num_workers() const { return extended().process_count(); }
CollectiveStats MultiWorkerMirroredStrategy::collective_stats() const {
  return static_cast<const MultiWorkerExtended&>(extended()).stats();
}

}  // namespace keel::distribute
