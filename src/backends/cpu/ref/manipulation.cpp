// Reference SliceBackward, Pad, Concatenate, Take, TakeBackward and OneHot: one loop over output (or
// gradient) elements, coordinates decoded from the row-major index, values moved through double.
#include <vector>

#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "ops/dispatch.h"
#include "ops/manipulation_attrs.h"

namespace keel::cpu_ref {
namespace {

// Row-major coordinates of flat index i in shape.
std::vector<int64_t> coords_of(int64_t i, const Shape& shape) {
  std::vector<int64_t> c(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    c[d] = i % shape[d];
    i /= shape[d];
  }
  return c;
}

int64_t flat_of(const std::vector<int64_t>& c, const Shape& shape) {
  int64_t i = 0;
  for (size_t d = 0; d < shape.size(); ++d) i = i * shape[d] + c[d];
  return i;
}

// Writes value into element i of a fresh contiguous output.
void write(const Tensor& out, int64_t i, double value) {
  detail::visit_dtype(out.dtype(), [&]<class T>(detail::TypeTag<T>) {
    static_cast<T*>(out.data_ptr())[i] = detail::from_double<T>(value);
  });
}

void fill(const Tensor& out, double value) {
  for (int64_t i = 0; i < out.numel(); ++i) write(out, i, value);
}

void slice_backward_ref(const KernelArgs& a) {
  const Tensor& g = a.in[0];
  const Tensor& out = a.out[0];
  const auto& attrs = a.get<SliceAttrs>();
  fill(out, 0.0);
  for (int64_t i = 0; i < g.numel(); ++i) {
    std::vector<int64_t> c = coords_of(i, g.shape());
    for (size_t d = 0; d < c.size(); ++d) c[d] = attrs.start[d] + c[d] * attrs.step[d];
    write(out, flat_of(c, out.shape()), detail::read_as_double(g, i));
  }
}

void pad_ref(const KernelArgs& a) {
  const Tensor& x = a.in[0];
  const Tensor& out = a.out[0];
  const auto& attrs = a.get<PadAttrs>();
  for (int64_t i = 0; i < out.numel(); ++i) {
    std::vector<int64_t> c = coords_of(i, out.shape());
    bool inside = true;
    for (size_t d = 0; d < c.size(); ++d) {
      c[d] -= attrs.before[d];
      inside = inside && c[d] >= 0 && c[d] < x.shape()[d];
    }
    write(out, i, inside ? detail::read_as_double(x, flat_of(c, x.shape())) : attrs.value);
  }
}

void concatenate_ref(const KernelArgs& a) {
  const Tensor& out = a.out[0];
  const size_t axis = static_cast<size_t>(a.get<ConcatAttrs>().axis);
  for (int64_t i = 0; i < out.numel(); ++i) {
    std::vector<int64_t> c = coords_of(i, out.shape());
    size_t k = 0;
    while (c[axis] >= a.in[k].shape()[axis]) c[axis] -= a.in[k++].shape()[axis];
    write(out, i, detail::read_as_double(a.in[k], flat_of(c, a.in[k].shape())));
  }
}

// All indices, range-checked and wrapped, before anything is written.
std::vector<int64_t> checked_indices(const Tensor& idx, int64_t n, int64_t axis, const char* op) {
  std::vector<int64_t> out(idx.numel());
  for (int64_t i = 0; i < idx.numel(); ++i) {
    int64_t v = static_cast<int64_t>(detail::read_as_double(idx, i));
    KEEL_CHECK(v >= -n && v < n, IndexError, op, ": index ", v, " is out of bounds for axis ", axis, " with size ", n);
    out[i] = v < 0 ? v + n : v;
  }
  return out;
}

// The flat index into x (of x_shape) that output coordinates c, split as (x.shape[:axis], indices.shape,
// x.shape[axis+1:]), gather from.
int64_t gathered_source(const std::vector<int64_t>& c, const std::vector<int64_t>& idx, const Shape& idx_shape,
                        const Shape& x_shape, int64_t axis) {
  const size_t ni = idx_shape.size();
  std::vector<int64_t> ic(c.begin() + axis, c.begin() + axis + ni);
  std::vector<int64_t> xc(c.begin(), c.begin() + axis);
  xc.push_back(idx[flat_of(ic, idx_shape)]);
  xc.insert(xc.end(), c.begin() + axis + ni, c.end());
  return flat_of(xc, x_shape);
}

void take_ref(const KernelArgs& a) {
  const Tensor& x = a.in[0];
  const Tensor& out = a.out[0];
  const int64_t axis = a.get<TakeAttrs>().axis;
  std::vector<int64_t> idx = checked_indices(a.in[1], x.shape()[axis], axis, "take");
  for (int64_t i = 0; i < out.numel(); ++i) {
    int64_t src = gathered_source(coords_of(i, out.shape()), idx, a.in[1].shape(), x.shape(), axis);
    write(out, i, detail::read_as_double(x, src));
  }
}

void take_backward_ref(const KernelArgs& a) {
  const Tensor& g = a.in[0];
  const Tensor& out = a.out[0];
  const int64_t axis = a.get<TakeAttrs>().axis;
  std::vector<int64_t> idx = checked_indices(a.in[1], out.shape()[axis], axis, "take_backward");
  std::vector<double> acc(out.numel(), 0.0);
  for (int64_t i = 0; i < g.numel(); ++i)
    acc[gathered_source(coords_of(i, g.shape()), idx, a.in[1].shape(), out.shape(), axis)] +=
        detail::read_as_double(g, i);
  for (int64_t i = 0; i < out.numel(); ++i) write(out, i, acc[i]);
}

void one_hot_ref(const KernelArgs& a) {
  const Tensor& idx = a.in[0];
  const Tensor& out = a.out[0];
  const auto& attrs = a.get<OneHotAttrs>();
  for (int64_t i = 0; i < out.numel(); ++i) {
    std::vector<int64_t> c = coords_of(i, out.shape());
    const int64_t cls = c[attrs.axis];
    c.erase(c.begin() + attrs.axis);
    const double v = detail::read_as_double(idx, flat_of(c, idx.shape()));
    write(out, i, v == static_cast<double>(cls) ? 1.0 : 0.0);
  }
}

KEEL_REGISTER_KERNEL(SliceBackward, kCpuRef, slice_backward_ref);
KEEL_REGISTER_KERNEL(Pad, kCpuRef, pad_ref);
KEEL_REGISTER_KERNEL(Concatenate, kCpuRef, concatenate_ref);
KEEL_REGISTER_KERNEL(Take, kCpuRef, take_ref);
KEEL_REGISTER_KERNEL(TakeBackward, kCpuRef, take_backward_ref);
KEEL_REGISTER_KERNEL(OneHot, kCpuRef, one_hot_ref);

}  // namespace
}  // namespace keel::cpu_ref
