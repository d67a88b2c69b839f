// A model's `config.json` in Keras 3's serialization format (keras/src/saving/serialization_lib.py), and
// the model rebuilt from one. See the Note [Refuse, never silently change] in model_config.cpp.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "keel/io/model_file.h"
#include "keel/models/model.h"

namespace keel::saving::detail {

/// {"module", "class_name", "config", "registered_name", "build_config"?, "compile_config"?} for a
/// Sequential or functional model, as Keras 3 writes it (nested models and classes registered with
/// register_serializable named as Keras names them).
nlohmann::json serialize_model(const ModelImpl& model);

/// Rebuilds (and builds) the model that `serialized` describes, nested models included; compiles it from its
/// compile_config when options.compile (the optimizer is built, so its variables can load). `where` names
/// the archive and entry in messages. UnimplementedError for what Keel cannot honour, ValueError for a bad
/// config, and with require_built for a model without an input shape (whose weights could not load).
Model deserialize_model(const nlohmann::json& serialized, const LoadOptions& options, const std::string& where,
                        bool require_built = true);

}  // namespace keel::saving::detail
