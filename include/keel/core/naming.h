// Keras's automatic object names: class name to snake_case, made unique per process with a counter per
// prefix ("dense", "dense_1", ...). Shared by layers, models, optimizers and metrics.
#pragma once
#include <string>

namespace keel::naming {

/// "BatchNormalization" -> "batch_normalization", "Conv2D" -> "conv2d", "RMSprop" -> "rm_sprop".
std::string to_snake_case(const std::string& class_name);
/// The first call for a prefix returns it unchanged, later ones append _1, _2, ...
std::string unique_name(const std::string& prefix);
/// Forgets all counters (keras.backend.clear_session / tests).
void reset_names();

}  // namespace keel::naming
