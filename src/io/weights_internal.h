// The weights file as bytes, for `.keras` archives (their `model.weights.h5` entry) and save_weights.
#pragma once
#include <functional>
#include <string>

#include "io/hdf5.h"
#include "keel/models/model.h"

namespace keel::saving::detail {

/// A shape as Python prints a tuple, for Keras's messages: "(4, 5)", "(3,)", "()".
std::string shape_tuple(const Shape& shape);
/// The variable's value on the host, contiguous (what HDF5 writes).
Tensor host_value(const Variable& v);
/// Whether values stored as `a` can load into a variable of `b` (both floating, both integral, or equal).
bool same_kind(DType a, DType b);

/// The `.weights.h5` file of `model` (Keras's layout, see keel/io/weights.h) as bytes, built in memory.
/// ValueError if the model is not built. `display_path` names the file in messages.
std::string weights_image(const ModelImpl& model, const std::string& display_path);

/// load_weights from the HDF5 file `open()` returns (a file on disk or an image in memory), checked as
/// load_weights checks; `path` names it in messages.
void load_weights_from(const ModelImpl& model, const std::function<h5::File()>& open, const std::string& path,
                       LoadWeightsOptions options);

/// The bytes of the `model.weights.h5` entry of the `.keras` archive at `path` (errors as load_model's).
std::string archive_weights(const std::string& path);

}  // namespace keel::saving::detail
