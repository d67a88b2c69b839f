// IDX parsing shared by read_idx and the dataset loaders.
#pragma once
#include <cstdint>
#include <span>

#include "keel/core/tensor.h"

namespace keel::data::detail {

/// Parses an IDX file's bytes (gzip or raw). Throws ValueError describing the problem and its byte offset
/// (in the uncompressed data), without the file name; callers add it.
Tensor parse_idx(std::span<const uint8_t> file_bytes);

}  // namespace keel::data::detail
