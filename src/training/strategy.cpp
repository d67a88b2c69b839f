#include "keel/training/strategy.h"

#include "keel/core/error.h"

namespace keel {

namespace {
thread_local std::shared_ptr<StrategyExtended> t_current_strategy;
}  // namespace

std::vector<std::pair<int64_t, int64_t>> StrategyExtended::local_shards(int64_t rows) const {
  // Split as evenly as possible, the first `rows % replicas` replicas taking one row more (TF's split of a
  // global batch: 5 over 2 → 3 + 2).
  const int64_t replicas = num_replicas_in_sync();
  const int64_t base = rows / replicas, extra = rows % replicas;
  auto start_of = [&](int64_t r) { return r * base + std::min(r, extra); };
  std::vector<std::pair<int64_t, int64_t>> shards;
  for (int64_t i = 0; i < local_replicas(); ++i) {
    const int64_t r = first_local_replica() + i;
    shards.emplace_back(start_of(r), start_of(r + 1));
  }
  return shards;
}

Strategy::Strategy(std::shared_ptr<StrategyExtended> extended) : extended_(std::move(extended)) {
  KEEL_CHECK(extended_ != nullptr, ValueError, "Strategy: no implementation given");
}

StrategyScope Strategy::scope() const { return StrategyScope(extended_); }

StrategyScope::StrategyScope(std::shared_ptr<StrategyExtended> strategy)
    : strategy_(std::move(strategy)), outer_(t_current_strategy) {
  if (auto device = strategy_->variable_device()) device_scope_.emplace(*device);
  t_current_strategy = strategy_;
}

StrategyScope::~StrategyScope() {
  device_scope_.reset();
  t_current_strategy = outer_;
}

std::shared_ptr<StrategyExtended> current_strategy() { return t_current_strategy; }

}  // namespace keel
