// Legacy Keras HDF5 files (`.h5`/`.hdf5`): whole models as Keras 2 (and Keras 3's legacy saver) write them,
// and weight files in the same layout. See legacy_h5.cpp.
#pragma once
#include <string>

#include "keel/io/model_file.h"
#include "keel/models/model.h"

namespace keel::saving::detail {

/// Whether `path` names a legacy HDF5 file: ends in `.h5` or `.hdf5`, but not `.weights.h5`.
bool is_legacy_h5_path(const std::string& path);

/// model.save("x.h5"): root attributes keras_version, backend, model_config and (once compiled)
/// training_config, groups model_weights and optimizer_weights; replaced atomically.
void save_legacy_model(const ModelImpl& model, const std::string& path);

/// load_model("x.h5"): the model from model_config (Keras 2's dialect or Keras 3's), its weights by position
/// from model_weights and, with options.compile, its compile arguments from training_config and the
/// optimizer's state from optimizer_weights when it fits.
Model load_legacy_model(const std::string& path, const LoadOptions& options);

/// model.load_weights("x.h5"): weights from a legacy file (a weights file, or a model file's model_weights)
/// by position, or by layer name with options.by_name.
void load_legacy_weights(const ModelImpl& model, const std::string& path, LoadWeightsOptions options);

}  // namespace keel::saving::detail
