// What a Trainer needs from a distribution strategy (tf.distribute.Strategy as Keras's fit uses it).
// training declares it; keel::distribute implements OneDevice, Mirrored and MultiWorkerMirrored.
//   distribute::MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
//   {
//     auto scope = strategy.scope();   // models created or compiled here train on every replica
//     Sequential model(...);  model.compile(...);
//   }
//   model.fit(x, y, {.batch_size = 64});   // 64 is the global batch: 32 per replica
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "keel/core/device.h"
#include "keel/core/tensor.h"

namespace keel {

/// The mechanics of a strategy (tf.distribute.StrategyExtended). Every process of a cluster runs the
/// same calls in the same order; a collective call returns the same values on every process.
class StrategyExtended {
 public:
  virtual ~StrategyExtended() = default;

  /// Replicas over all processes (Strategy.num_replicas_in_sync).
  virtual int num_replicas_in_sync() const = 0;
  /// The replicas this process runs.
  virtual int local_replicas() const = 0;
  /// This process's rank (0 = the chief) and the number of processes.
  virtual int process_rank() const { return 0; }
  virtual int process_count() const { return 1; }
  /// Where variables created in the scope are placed (OneDeviceStrategy's device); nullopt: the default.
  virtual std::optional<Device> variable_device() const { return std::nullopt; }

  /// Rows [begin, end) of a global batch of `rows` for each replica of this process, in replica order: the
  /// batch split as evenly as possible over all replicas in global replica order (16 over 2 → 8 + 8,
  /// 5 over 2 → 3 + 2); a replica may get an empty range.
  std::vector<std::pair<int64_t, int64_t>> local_shards(int64_t rows) const;

  /// Sums each tensor (contiguous, on the CPU) over all processes in place; gradients go in buckets.
  virtual void all_reduce_sum(std::vector<Tensor>& tensors) = 0;
  /// Overwrites each tensor (contiguous, on the CPU) with process 0's.
  virtual void broadcast_from_chief(std::vector<Tensor>& tensors) = 0;
  /// Every process's `local` (on the CPU; same shape but axis 0) concatenated along axis 0 in rank order.
  virtual Tensor all_gather_rows(const Tensor& local) = 0;

 protected:
  /// Index of this process's first replica among all replicas.
  virtual int first_local_replica() const { return process_rank() * local_replicas(); }
};

class StrategyScope;

/// A handle: copies share one strategy. Concrete strategies live in keel::distribute.
class Strategy {
 public:
  explicit Strategy(std::shared_ptr<StrategyExtended> extended);
  int num_replicas_in_sync() const { return extended_->num_replicas_in_sync(); }
  StrategyExtended& extended() const { return *extended_; }
  const std::shared_ptr<StrategyExtended>& extended_ptr() const { return extended_; }
  /// RAII (`with strategy.scope():`): models created or compiled inside train with this strategy.
  StrategyScope scope() const;

 private:
  std::shared_ptr<StrategyExtended> extended_;
};

class StrategyScope {
 public:
  explicit StrategyScope(std::shared_ptr<StrategyExtended> strategy);
  ~StrategyScope();
  StrategyScope(const StrategyScope&) = delete;
  StrategyScope& operator=(const StrategyScope&) = delete;

 private:
  std::shared_ptr<StrategyExtended> strategy_;
  std::shared_ptr<StrategyExtended> outer_;
  std::optional<DeviceScope> device_scope_;
};

/// The innermost strategy scope's strategy on this thread, or nullptr (the default strategy).
std::shared_ptr<StrategyExtended> current_strategy();

}  // namespace keel
