// IDX parsing shared by read_idx and the dataset loaders.
#pragma once
#include <cstdint>
#include <optional>
#include <span>

#include "keel/core/tensor.h"

namespace keel::data::detail {

/// What a caller that knows the file (a dataset loader) requires of its header.
struct IdxExpectation {
  DType dtype;
  Shape shape;
};

/// Parses an IDX file's bytes (gzip or raw). Throws ValueError describing the problem and its byte offset
/// (in the uncompressed data), without the file name; callers add it. With `expected`, a header that
/// differs is an error before any data is read or allocated.
Tensor parse_idx(std::span<const uint8_t> file_bytes, std::optional<IdxExpectation> expected = std::nullopt);

}  // namespace keel::data::detail
