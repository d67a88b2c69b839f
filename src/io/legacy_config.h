// The Keras 2 configuration dialect (legacy `.h5` files, tf.keras's `model.to_json()`) in Keras 3's form, so
// that one loader (model_config.h) checks and rebuilds both. See Note [Keras 2's dialect] in legacy_config.cpp.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace keel::saving::detail {

/// A legacy `model_config` ({"class_name": "Sequential" | "Functional" | "Model", "config": ...}, written by
/// Keras 2.0 onward or by Keras 3's legacy saver) as the serialized model deserialize_model reads. Only the
/// spellings Keras 2 used for what Keel has are rewritten; everything else is left for the loader's checks.
/// `where` names the file in messages.
nlohmann::json keras3_model_config(const nlohmann::json& legacy, const std::string& where);

/// A legacy `training_config` ({"loss", "metrics", "weighted_metrics", "loss_weights", "optimizer_config",
/// ...}) as the compile_config deserialize_model replays.
nlohmann::json keras3_compile_config(const nlohmann::json& training_config, const std::string& where);

}  // namespace keel::saving::detail
