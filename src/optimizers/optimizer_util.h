// Helpers shared by the optimizer implementations: the base options out of an options aggregate, and
// optional values as JSON.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>

#include "keel/optimizers/optimizer.h"

namespace keel::optimizers::detail {

/// The common fields every *Options aggregate carries (KEEL_OPTIMIZER_COMMON_FIELDS), in Keras's base keyword
/// order. A field added to that macro is copied here, read in options_from (registry.cpp) and written by
/// Optimizer::get_config (optimizer.cpp), the one reader and the one writer of the common config keys.
template <class Options>
OptimizerBaseOptions base_options_of(const Options& o) {
  return OptimizerBaseOptions{.weight_decay = o.weight_decay,
                              .clipnorm = o.clipnorm,
                              .clipvalue = o.clipvalue,
                              .global_clipnorm = o.global_clipnorm,
                              .use_ema = o.use_ema,
                              .ema_momentum = o.ema_momentum,
                              .ema_overwrite_frequency = o.ema_overwrite_frequency,
                              .name = o.name};
}

template <class T>
nlohmann::json optional_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace keel::optimizers::detail
