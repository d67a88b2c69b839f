// Shape and Strides: plain vectors of extents/element strides, with printing and the helpers every
// op uses (element count, row-major strides, axis normalisation).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace keel {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;  // in elements, not bytes

int64_t shape_numel(const Shape& s);
/// The bytes a tensor of `s` with `element_size`-byte elements needs, for shapes that come from outside
/// (files, configs, user calls): ShapeError naming `what` and the shape when an extent is negative or the
/// element count or the byte count does not fit in int64 (where shape_numel would wrap around).
int64_t checked_shape_bytes(const Shape& s, size_t element_size, std::string_view what);
Strides contiguous_strides(const Shape& s);
/// "(2, 3)" as Keras prints shapes; "()" for a scalar.
std::string shape_str(const Shape& s);
/// A shape seen as (outer, n, inner) around one axis: row-major element (o, k, i) is at (o·n + k)·inner + i.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
  int64_t at(int64_t o, int64_t k, int64_t i) const { return (o * n + k) * inner + i; }
};
/// `axis` must already be normalised.
AxisSplit split_at_axis(const Shape& s, int64_t axis);
/// Maps a possibly negative axis into [0, ndim); throws IndexError naming `op`, the axis and the rank.
int64_t normalize_axis(int64_t axis, int64_t ndim, std::string_view op);
/// Normalises, sorts and de-duplicates axes (empty input means all axes when `empty_means_all`).
std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t ndim, std::string_view op,
                                    bool empty_means_all = true);

}  // namespace keel
