// NumPy broadcasting rules.
#include "broadcast.h"

namespace keel {

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    KEEL_CHECK(da == db || da == 1 || db == 1, ShapeError, op, ": shapes ", shape_str(a), " and ", shape_str(b),
               " cannot be broadcast together (axis ", static_cast<int64_t>(i) - static_cast<int64_t>(n), ": ", da,
               " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Strides broadcast_strides(const Tensor& t, const Shape& shape) {
  const size_t n = shape.size(), k = t.shape().size();
  Strides st(n, 0);
  for (size_t i = 0; i < k; ++i) {
    size_t j = n - k + i;
    st[j] = t.shape()[i] == 1 && shape[j] != 1 ? 0 : t.strides()[i];
  }
  return st;
}

}  // namespace keel
