// Helpers of the reference kernels: operands read into row-major double vectors and results written
// back in the output's dtype, so each kernel body is plain arithmetic on doubles.
#pragma once
#include <cstdint>
#include <vector>

#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "keel/core/tensor.h"

namespace keel::cpu_ref {

/// The elements of t (any strides) in row-major order, as doubles.
inline std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> v(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = detail::read_as_double(t, i);
  return v;
}

/// Writes v into the contiguous tensor `out`, converting to its dtype.
inline void write_doubles(const Tensor& out, const std::vector<double>& v) {
  detail::visit_dtype(out.dtype(), [&]<class T>(detail::TypeTag<T>) {
    T* p = static_cast<T*>(out.data_ptr());
    for (size_t i = 0; i < v.size(); ++i) p[i] = detail::from_double<T>(v[i]);
  });
}

}  // namespace keel::cpu_ref
