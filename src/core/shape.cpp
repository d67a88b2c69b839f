// Shape helpers shared by every op.
#include "keel/core/shape.h"

#include <algorithm>
#include <sstream>

#include "keel/core/error.h"

namespace keel {

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

int64_t checked_shape_bytes(const Shape& s, size_t element_size, std::string_view what) {
  for (int64_t d : s) KEEL_CHECK(d >= 0, ShapeError, what, ": negative dimension in shape ", shape_str(s));
  // A zero extent makes an empty tensor, whatever the other extents are.
  if (std::find(s.begin(), s.end(), 0) != s.end()) return 0;
  int64_t n = static_cast<int64_t>(element_size);
  for (int64_t d : s)
    KEEL_CHECK(!__builtin_mul_overflow(n, d, &n), ShapeError, what, ": shape ", shape_str(s), " of ", element_size,
               "-byte elements needs more than 2^63 bytes");
  return n;
}

Strides contiguous_strides(const Shape& s) {
  Strides st(s.size());
  // Unsigned: the extents of an empty tensor may multiply past int64 (its strides are never used to
  // address anything); a tensor with elements cannot, checked_shape_bytes saw to that.
  uint64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = static_cast<int64_t>(acc);
    acc *= static_cast<uint64_t>(std::max<int64_t>(s[i], 1));
  }
  return st;
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '(';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  if (s.size() == 1) os << ',';
  os << ')';
  return os.str();
}

AxisSplit split_at_axis(const Shape& s, int64_t axis) {
  AxisSplit sp;
  sp.n = s[axis];
  for (int64_t d = 0; d < axis; ++d) sp.outer *= s[d];
  for (int64_t d = axis + 1; d < static_cast<int64_t>(s.size()); ++d) sp.inner *= s[d];
  return sp;
}

int64_t normalize_axis(int64_t axis, int64_t ndim, std::string_view op) {
  KEEL_CHECK(axis >= -ndim && axis < ndim, IndexError, op, ": axis ", axis, " is out of bounds for a tensor of rank ",
             ndim);
  return axis < 0 ? axis + ndim : axis;
}

std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t ndim, std::string_view op,
                                    bool empty_means_all) {
  std::vector<int64_t> out;
  if (axes.empty() && empty_means_all) {
    for (int64_t i = 0; i < ndim; ++i) out.push_back(i);
    return out;
  }
  for (int64_t a : axes) out.push_back(normalize_axis(a, ndim, op));
  std::sort(out.begin(), out.end());
  KEEL_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), ValueError, op, ": repeated axis in ",
             shape_str(axes));
  return out;
}

}  // namespace keel
