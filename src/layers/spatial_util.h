// Argument checks and shape arithmetic shared by the convolution and pooling layers: Keras's
// standardize_tuple / standardize_padding / standardize_data_format, and output extents per spatial axis.
#pragma once
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "keel/layers/layer.h"
#include "keel/ops/manipulation.h"

namespace keel::layers::detail {

/// "(3, 3)" as Python prints a tuple (one element: "(3,)").
inline std::string tuple_str(const std::vector<int64_t>& v) { return partial_shape_str(Shape(v.begin(), v.end())); }

/// `Conv2D layer "conv2d"`: how errors name a layer.
inline std::string layer_label(const Layer& layer) { return layer.class_name() + " layer \"" + layer.name() + "\""; }

/// One value for every axis or exactly `n`; every value > 0 (>= 0 with allow_zero).
inline std::vector<int64_t> standardize_tuple(const std::vector<int64_t>& value, size_t n, const char* arg,
                                              const std::string& who, bool allow_zero = false) {
  KEEL_CHECK(value.size() == 1 || value.size() == n, ValueError, who, ": the `", arg, "` argument must be a tuple of ",
             n, " integers (or one integer for every axis). Received ", arg, "=", tuple_str(value));
  for (int64_t v : value)
    KEEL_CHECK(allow_zero ? v >= 0 : v > 0, ValueError, who, ": the `", arg, "` argument must be a tuple of ", n,
               " integers. Received ", arg, "=", tuple_str(value), ", including values that do not satisfy `value ",
               allow_zero ? ">= 0" : "> 0", "`");
  return value.size() == n ? value : std::vector<int64_t>(n, value[0]);
}

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// "valid" / "same" (case-insensitive), and "causal" where allowed (Conv1D).
inline std::string standardize_padding(const std::string& padding, const std::string& who, bool allow_causal = false) {
  std::string p = lower(padding);
  KEEL_CHECK(p == "valid" || p == "same" || (allow_causal && p == "causal"), ValueError, who,
             ": the `padding` argument must be one of \"valid\", \"same\"", allow_causal ? ", \"causal\"" : "",
             ". Received: padding=\"", padding, "\"");
  return p;
}

/// An empty string is Keras's None (the channels_last default). Layers that compute channels_first by
/// transposing around their channels_last kernels pass allow_channels_first; the others refuse it.
inline std::string standardize_data_format(const std::string& data_format, const std::string& who,
                                           bool allow_channels_first = false) {
  std::string f = data_format.empty() ? "channels_last" : lower(data_format);
  KEEL_CHECK(f == "channels_last" || f == "channels_first", ValueError, who,
             ": the `data_format` argument must be one of \"channels_first\", \"channels_last\". Received: "
             "data_format=\"",
             data_format, "\"");
  KEEL_CHECK(
      f == "channels_last" || allow_channels_first, UnimplementedError, who,
      ": Keel supports data_format=\"channels_first\" on the convolution, pooling and reshaping layers; this layer "
      "takes channels_last inputs (batch, *spatial, channels)");
  return f;
}

// channels_first (batch, channels, *spatial) <-> channels_last (batch, *spatial, channels), for shapes (which
// may hold unknown extents) and tensors.
inline std::vector<int64_t> channels_last_order(size_t rank) {
  std::vector<int64_t> order{0};
  for (size_t a = 2; a < rank; ++a) order.push_back(static_cast<int64_t>(a));
  order.push_back(1);
  return order;
}
inline std::vector<int64_t> channels_first_order(size_t rank) {
  std::vector<int64_t> order{0, static_cast<int64_t>(rank) - 1};
  for (size_t a = 1; a + 1 < rank; ++a) order.push_back(static_cast<int64_t>(a));
  return order;
}
inline Shape permuted(const Shape& s, const std::vector<int64_t>& order) {
  Shape out;
  for (int64_t a : order) out.push_back(s[static_cast<size_t>(a)]);
  return out;
}
inline Shape to_channels_last(const Shape& s) { return s.size() < 3 ? s : permuted(s, channels_last_order(s.size())); }
inline Shape to_channels_first(const Shape& s) { return s.size() < 3 ? s : permuted(s, channels_first_order(s.size())); }
inline Tensor to_channels_last(const Tensor& x) {
  return x.ndim() < 3 ? x : ops::transpose(x, channels_last_order(static_cast<size_t>(x.ndim())));
}
inline Tensor to_channels_first(const Tensor& x) {
  return x.ndim() < 3 ? x : ops::transpose(x, channels_first_order(static_cast<size_t>(x.ndim())));
}

/// Output extent of a convolution or pooling window along one axis (kUnknownDim stays unknown); may be <= 0
/// for impossible geometries, which callers report.
inline int64_t window_out_extent(int64_t in, int64_t window, int64_t stride, int64_t dilation,
                                 const std::string& padding) {
  if (in == kUnknownDim) return kUnknownDim;
  if (padding != "valid") return (in + stride - 1) / stride;  // same, causal: ceil(in / stride)
  const int64_t keff = (window - 1) * dilation + 1;
  return in < keff ? 0 : (in - keff) / stride + 1;
}

/// The input must have rank `rank` + 2: (batch, *spatial, channels).
inline void check_spatial_rank(const Shape& input_shape, int rank, const std::string& who) {
  KEEL_CHECK(static_cast<int>(input_shape.size()) == rank + 2, ShapeError, who,
             " is incompatible with the input: ", "expected ndim=", rank + 2, " (batch, ",
             rank == 1 ? "steps" : "rows, cols", ", channels), found ndim=", input_shape.size(),
             ". Full shape received: ", partial_shape_str(input_shape));
}

/// A JSON int or list of ints (Keras writes tuples as lists) as a vector; `fallback` when absent or null.
inline std::vector<int64_t> ints_from(const nlohmann::json& config, const char* key, std::vector<int64_t> fallback) {
  if (!config.contains(key) || config.at(key).is_null()) return fallback;
  const auto& j = config.at(key);
  if (j.is_number_integer()) return {j.get<int64_t>()};
  return j.get<std::vector<int64_t>>();
}

inline std::string string_from(const nlohmann::json& config, const char* key, const char* fallback) {
  if (!config.contains(key) || config.at(key).is_null()) return fallback;
  return config.at(key).get<std::string>();
}

}  // namespace keel::layers::detail
