// Whole-model files: Keras 3's `.keras` archives (keras.saving.save_model / load_model).
//   model.save("model.keras");
//   Model m = saving::load_model("model.keras");                         // rebuilt, weights loaded, compiled
//   Model m = saving::load_model("model.keras", {.compile = false});     // without the optimizer
//
// The archive is a zip file with no compression holding, in this order, `metadata.json`
// ({"keras_version", "date_saved"}), `config.json` (the model, its layers and its compile arguments in
// Keras 3's serialization format) and `model.weights.h5` (keel/io/weights.h's layout). Archives Keras 3
// writes load here and archives written here load in Keras 3, for the layers Keel has.
//
// `.h5`/`.hdf5` paths are legacy HDF5 files (Keras 2's format, which Keras 3 still reads and writes):
//   model.save("model.h5");  Model m = saving::load_model("model.h5");    // Keras 2's files load too
#pragma once
#include <string>

#include "keel/io/serialization.h"
#include "keel/models/model.h"

namespace keel::saving {

/// load_model's options (keras.saving.load_model's arguments).
struct LoadOptions {
  /// Replay the saved compile arguments (optimizer, losses, metrics) and load the optimizer's state.
  bool compile = true;
  /// Refuse configs that would run code (Keras's `Lambda` layers and `__lambda__` payloads). Keel never
  /// runs code from a file: with safe_mode = false such configs are still an error.
  bool safe_mode = true;
  /// Keras's custom_objects: class names or registered names ("package>Name") -> layer factories, consulted
  /// before the classes registered with register_serializable and Keel's own (keel/io/serialization.h).
  CustomObjects custom_objects = {};
};

/// model.save(path): a `.keras` archive, or for `.h5`/`.hdf5` a legacy HDF5 file (with Keras's warning that
/// the format is legacy); anything else: ValueError. The file is replaced atomically. ValueError if the model
/// is not built.
void save_model(const Model& model, const std::string& path);

/// Reads a `.keras` archive: rebuilds the model from config.json, loads model.weights.h5 and, with
/// options.compile, compiles it as it was (optimizer state included). NotFoundError for a missing file;
/// ValueError naming the archive (and entry) for a file that is not a zip, is truncated, lacks an entry
/// or holds malformed JSON; UnimplementedError naming the layer, key and value for configuration Keel
/// cannot honour; ValueError for unknown classes and for code payloads (see LoadOptions::safe_mode).
/// `.h5`/`.hdf5`: a legacy HDF5 file, its model_config read in Keras 2's dialect or Keras 3's, its weights
/// by position (docs/saving.md, "Legacy HDF5 files").
Model load_model(const std::string& path, LoadOptions options = {});

}  // namespace keel::saving

namespace keel::models {
using saving::load_model;
using saving::LoadOptions;
}  // namespace keel::models
