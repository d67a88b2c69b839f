// Weight files as Keras 3 writes them (`model.save_weights("x.weights.h5")`, and the `model.weights.h5`
// inside a `.keras` archive): an HDF5 file holding, for every object reached from the model, a group
// `<path>/vars` with attribute `name` and one dataset per variable, "0", "1", ... Files written here load
// in Keras and Keras's files load here.
//   model.save_weights("model.weights.h5");
//   other.load_weights("model.weights.h5");                            // same architecture
//   other.load_weights("model.weights.h5", {.skip_mismatch = true});   // skip layers that differ
//
// Paths follow Keras's object walk: the model's own group is `/vars`; a Sequential or functional model's
// layers sit under `layers/`, each named by its snake-cased class name made unique in order (`dense`,
// `dense_1`, ...; a functional model lists its InputLayers, a Sequential model does not); a layer's
// sub-layers sit under the Keras attribute that holds them (`cell`, `forward_layer`, `query_dense`, ...,
// sorted by name, private `_...` ones last); then `optimizer/vars` (iteration, learning_rate, slots),
// once the model is compiled. Each object is written once, under the first path that reaches it.
#pragma once
#include <string>

#include "keel/models/model.h"

namespace keel::saving {

/// model.save_weights(path): ValueError unless `path` ends in `.weights.h5` and the model is built. The
/// file is written to a temporary file beside `path`, flushed to disk and renamed over it, so a crash
/// leaves either the old file or the new one. Failed writes raise keel::Error naming the file.
void save_weights(const Model& model, const std::string& path);

/// model.load_weights(path, options): reads a `.weights.h5` file, or the `model.weights.h5` entry of a
/// `.keras` archive (keel/io/model_file.h). The model must be built. Per object, the saved variable count and
/// each shape must match (ValueError naming the layer, the counts and expected variable names, or the
/// variable and both shapes), unless options.skip_mismatch, which skips those objects with a warning on
/// stderr. Nothing is assigned when loading fails. The optimizer loads only when it has as many variables
/// as the file (build it first, e.g. model.optimizer().build(model.trainable_weights())); otherwise it is
/// skipped with a warning, as in Keras. Missing files raise NotFoundError; files that are not HDF5,
/// truncated, or laid out or typed wrongly raise ValueError naming the file and what was wrong.
void load_weights(const Model& model, const std::string& path, LoadWeightsOptions options = {});

}  // namespace keel::saving
