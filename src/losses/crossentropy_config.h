// The crossentropy keywords of a Keras config, written once for the crossentropy losses (classes.cpp) and
// the crossentropy metrics (src/metrics/loss_metrics.cpp), whose configs carry the same keys.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>

namespace keel::losses::detail {

/// `config` plus the crossentropy options `o` has, under Keras's names: apply_class_balancing, alpha,
/// gamma (focal), from_logits, label_smoothing, ignore_class (null when unset), axis. An options struct
/// without a field (the BinaryCrossentropy metric has no axis) writes no key for it.
template <class Options>
nlohmann::json with_crossentropy_config(nlohmann::json config, const Options& o) {
  if constexpr (requires { o.apply_class_balancing; }) config["apply_class_balancing"] = o.apply_class_balancing;
  if constexpr (requires { o.alpha; }) config["alpha"] = o.alpha;
  if constexpr (requires { o.gamma; }) config["gamma"] = o.gamma;
  config["from_logits"] = o.from_logits;
  if constexpr (requires { o.label_smoothing; }) config["label_smoothing"] = o.label_smoothing;
  if constexpr (requires { o.ignore_class; })
    config["ignore_class"] = o.ignore_class ? nlohmann::json(*o.ignore_class) : nlohmann::json(nullptr);
  if constexpr (requires { o.axis; }) config["axis"] = o.axis;
  return config;
}

}  // namespace keel::losses::detail
