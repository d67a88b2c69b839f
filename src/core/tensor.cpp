// Tensor basics that need no kernels: storage, views, host copies with dtype conversion, creation,
// printing and the autograd fields.
#include "keel/core/tensor.h"

#include <cmath>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "core/autograd_meta.h"
#include "core/dtype_dispatch.h"
#include "core/strided.h"
#include "core/tensor_internals.h"
#include "core/thread_observer.h"
#include "keel/core/grad_mode.h"

namespace keel {

Storage::Storage(size_t n, Device dev) : nbytes(n), device(dev) {
  allocator = dev.is_cpu() ? &cpu_allocator() : &device_backend(dev).allocator(dev.index);
  data = allocator->allocate(n);
}
Storage::~Storage() { allocator->deallocate(data, nbytes); }

TensorImpl::~TensorImpl() = default;

TensorImpl& Tensor::impl() const {
  KEEL_CHECK(impl_ != nullptr, ValueError, "Use of an undefined Tensor (default-constructed or moved from)");
  return *impl_;
}

int64_t Tensor::dim(int64_t axis) const { return shape()[normalize_axis(axis, ndim(), "Tensor::dim")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  const auto& s = shape();
  const auto& st = strides();
  for (size_t i = s.size(); i-- > 0;) {
    if (s[i] != 1 && st[i] != expected) return false;
    expected *= s[i];
  }
  return true;
}

void* Tensor::data_ptr() const {
  auto& im = impl();
  return static_cast<char*>(im.storage->data) + im.offset * static_cast<int64_t>(dtype_size(im.dtype));
}

// --- autograd fields ---
Tensor& Tensor::requires_grad_(bool flag) {
  KEEL_CHECK(!flag || is_floating(dtype()), DTypeError, "requires_grad_: only floating-point tensors can require ",
             "gradients, got ", dtype_name(dtype()));
  auto& im = impl();
  KEEL_CHECK(flag || !im.autograd || !im.autograd->grad_fn, RuntimeError,
             "requires_grad_(false) on a non-leaf tensor; use detach() instead");
  if (!im.autograd) im.autograd = std::make_unique<AutogradMeta>();
  im.autograd->requires_grad = flag;
  return *this;
}
bool Tensor::requires_grad() const { return impl().autograd && impl().autograd->requires_grad; }
Tensor Tensor::grad() const { return impl().autograd ? impl().autograd->grad : Tensor(); }
void Tensor::set_grad(const Tensor& g) const {
  auto& im = impl();
  if (!im.autograd) im.autograd = std::make_unique<AutogradMeta>();
  im.autograd->grad = g;
}
void Tensor::zero_grad() const {
  if (impl().autograd) impl().autograd->grad = Tensor();
}
bool Tensor::is_leaf() const { return !impl().autograd || !impl().autograd->grad_fn; }
const std::shared_ptr<GradNode>& Tensor::grad_fn() const {
  static const std::shared_ptr<GradNode> none;
  return impl().autograd ? impl().autograd->grad_fn : none;
}
Tensor Tensor::detach() const {
  auto& im = impl();
  return detail::make_view(*this, im.shape, im.strides, im.offset);
}

// --- views and copies ---
namespace detail {

Tensor make_view(const Tensor& base, Shape shape, Strides strides, int64_t offset) {
  auto im = std::make_shared<TensorImpl>();
  im->storage = base.storage();
  im->shape = std::move(shape);
  im->strides = std::move(strides);
  im->offset = offset;
  im->dtype = base.dtype();
  return Tensor(std::move(im));
}

void copy_cpu(const Tensor& src, const Tensor& dst) {
  KEEL_CHECK(src.shape() == dst.shape(), ShapeError, "copy: source shape ", shape_str(src.shape()),
             " differs from destination shape ", shape_str(dst.shape()));
  KEEL_CHECK(src.device().is_cpu() && dst.device().is_cpu(), ValueError, "copy_cpu: both tensors must be on the CPU");
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {
    if (src.numel()) std::memcpy(dst.data_ptr(), src.data_ptr(), src.numel() * dtype_size(src.dtype()));
    return;
  }
  visit_dtype(src.dtype(), [&]<class S>(TypeTag<S>) {
    visit_dtype(dst.dtype(), [&]<class D>(TypeTag<D>) {
      const S* s = static_cast<const S*>(src.storage()->data);
      D* d = static_cast<D*>(dst.storage()->data);
      for_each_strided<2>(src.shape(), {&src.strides(), &dst.strides()}, {src.offset(), dst.offset()},
                          [&](const std::array<int64_t, 2>& o) {
                            if constexpr (std::is_same_v<S, D>) d[o[1]] = s[o[0]];
                            else d[o[1]] = from_double<D>(to_double(s[o[0]]));
                          });
    });
  });
}

Tensor contiguous_cpu(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor c = empty(t.shape(), t.dtype(), Device::cpu());
  copy_cpu(t, c);
  return c;
}

Tensor copy_to_device(const Tensor& t, Device device) {
  if (t.numel() == 0) return empty(t.shape(), t.dtype(), device);  // nothing to copy, whatever the strides
  Tensor src = t;
  if (!t.is_contiguous()) {
    KEEL_CHECK(t.device().is_cpu(), UnimplementedError, "copy_to_device: non-contiguous ", t.device().str(),
               " tensors must be made contiguous on their device first");
    src = empty(t.shape(), t.dtype(), Device::cpu());
    copy_cpu(t, src);
  }
  Tensor dst = empty(t.shape(), t.dtype(), device);
  DeviceBackend& b = device_backend(device.is_cpu() ? src.device() : device);
  b.copy(dst.data_ptr(), device, src.data_ptr(), src.device(), src.numel() * dtype_size(src.dtype()));
  return dst;
}

namespace {
thread_local bool tls_validation_reads = false;
}  // namespace

void note_host_read() {
  if (tls_validation_reads) return;
  if (ThreadObserver* o = thread_observer()) o->host_read();
}
ValidationReadScope::ValidationReadScope() : previous_(tls_validation_reads) { tls_validation_reads = true; }
ValidationReadScope::~ValidationReadScope() { tls_validation_reads = previous_; }

double read_as_double(const Tensor& t, int64_t i) {
  int64_t off = t.offset();
  for (int64_t d = t.ndim() - 1; d >= 0; --d) {
    off += (i % t.shape()[d]) * t.strides()[d];
    i /= t.shape()[d];
  }
  return visit_dtype(t.dtype(), [&]<class T>(TypeTag<T>) { return to_double(static_cast<const T*>(t.storage()->data)[off]); });
}

}  // namespace detail

// --- creation ---
Tensor empty(const Shape& shape, DType dtype, Device device) {
  const int64_t nbytes = checked_shape_bytes(shape, dtype_size(dtype), "empty");
  auto im = std::make_shared<TensorImpl>();
  im->storage = std::make_shared<Storage>(static_cast<size_t>(nbytes), device);
  im->shape = shape;
  im->strides = contiguous_strides(shape);
  im->dtype = dtype;
  return Tensor(std::move(im));
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, Device::cpu());
  detail::visit_dtype(dtype, [&]<class T>(detail::TypeTag<T>) {
    T v = detail::from_double<T>(value);
    T* p = static_cast<T*>(t.data_ptr());
    std::fill(p, p + t.numel(), v);
  });
  return device.is_cpu() ? t : detail::copy_to_device(t, device);
}
Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor scalar_tensor(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor arange(double start, double stop, double step, DType dtype) {
  KEEL_CHECK(step != 0.0, ValueError, "arange: step must not be zero");
  int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((stop - start) / step)));
  Tensor t = empty({n}, dtype, Device::cpu());
  detail::visit_dtype(dtype, [&]<class T>(detail::TypeTag<T>) {
    T* p = static_cast<T*>(t.data_ptr());
    for (int64_t i = 0; i < n; ++i) p[i] = detail::from_double<T>(start + static_cast<double>(i) * step);
  });
  return t;
}
Tensor arange(double stop) { return arange(0.0, stop, 1.0); }

template <TensorElement T>
Tensor from_vector(const std::vector<T>& data, const Shape& shape, Device device) {
  KEEL_CHECK(static_cast<int64_t>(data.size()) == shape_numel(shape), ShapeError, "from_vector: ", data.size(),
             " values cannot fill shape ", shape_str(shape), " (", shape_numel(shape), " elements)");
  Tensor t = empty(shape, dtype_of_v<T>, Device::cpu());
  if (!data.empty()) std::memcpy(t.data_ptr(), data.data(), data.size() * sizeof(T));
  return device.is_cpu() ? t : detail::copy_to_device(t, device);
}

template <TensorElement T>
std::vector<T> Tensor::to_vector() const {
  detail::note_host_read();
  Tensor host = empty(shape(), dtype_of_v<T>, Device::cpu());
  Tensor src = device().is_cpu() ? *this : detail::copy_to_device(*this, Device::cpu());
  detail::copy_cpu(src, host);
  const T* p = host.data<T>();
  return std::vector<T>(p, p + host.numel());
}

#define KEEL_INSTANTIATE_HOST_COPIES(T)                                                           \
  template Tensor from_vector<T>(const std::vector<T>& data, const Shape& shape, Device device); \
  template std::vector<T> Tensor::to_vector<T>() const;
KEEL_INSTANTIATE_HOST_COPIES(float)
KEEL_INSTANTIATE_HOST_COPIES(double)
KEEL_INSTANTIATE_HOST_COPIES(Half)
KEEL_INSTANTIATE_HOST_COPIES(BFloat16)
KEEL_INSTANTIATE_HOST_COPIES(int32_t)
KEEL_INSTANTIATE_HOST_COPIES(int64_t)
KEEL_INSTANTIATE_HOST_COPIES(uint8_t)
#undef KEEL_INSTANTIATE_HOST_COPIES

// std::vector<bool> is bit-packed: specialised.
template <>
Tensor from_vector<bool>(const std::vector<bool>& data, const Shape& shape, Device device) {
  KEEL_CHECK(static_cast<int64_t>(data.size()) == shape_numel(shape), ShapeError, "from_vector: ", data.size(),
             " values cannot fill shape ", shape_str(shape));
  Tensor t = empty(shape, DType::b8, Device::cpu());
  bool* p = static_cast<bool*>(t.data_ptr());
  for (size_t i = 0; i < data.size(); ++i) p[i] = data[i];
  return device.is_cpu() ? t : detail::copy_to_device(t, device);
}

template <>
std::vector<bool> Tensor::to_vector<bool>() const {
  detail::note_host_read();
  Tensor src = device().is_cpu() ? *this : detail::copy_to_device(*this, Device::cpu());
  std::vector<bool> out(numel());
  for (int64_t i = 0; i < numel(); ++i) out[i] = detail::read_as_double(src, i) != 0.0;
  return out;
}

// --- printing ---
namespace {
void print_rec(std::ostream& os, const Tensor& t, int64_t dim, int64_t& flat, int indent) {
  const int64_t n = t.shape()[dim];
  const bool last = dim == t.ndim() - 1;
  const int64_t kEdge = 3;  // like NumPy, elide the middle of long axes
  const bool elide = t.numel() > 1000 && n > 2 * kEdge;  // NumPy summarises above 1000 elements
  os << '[';
  for (int64_t i = 0; i < n; ++i) {
    if (elide && i == kEdge) {
      os << (last ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      int64_t skip = (n - 2 * kEdge) * (last ? 1 : shape_numel(Shape(t.shape().begin() + dim + 1, t.shape().end())));
      flat += skip;
      i = n - kEdge - 1;
      continue;
    }
    if (last) {
      double v = detail::read_as_double(t, flat++);
      if (t.dtype() == DType::b8) os << (v != 0 ? "True" : "False");
      else if (is_floating(t.dtype())) os << std::setprecision(6) << v;
      else os << static_cast<int64_t>(v);
      if (i + 1 < n) os << ", ";
    } else {
      print_rec(os, t, dim + 1, flat, indent + 1);
      if (i + 1 < n) os << ",\n" << std::string(indent + 1, ' ');
    }
  }
  os << ']';
}
}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "Tensor(undefined)";
  Tensor host = t.device().is_cpu() ? t : detail::copy_to_device(t, Device::cpu());
  std::ostringstream os;
  os << "Tensor(";
  if (host.ndim() == 0) {
    double v = detail::read_as_double(host, 0);
    if (host.dtype() == DType::b8) os << (v != 0 ? "True" : "False");
    else if (is_floating(host.dtype())) os << std::setprecision(6) << v;
    else os << static_cast<int64_t>(v);
  } else if (host.numel() == 0) {
    os << "[]";
  } else {
    int64_t flat = 0;
    print_rec(os, host, 0, flat, 7);
  }
  os << ", shape=" << shape_str(t.shape()) << ", dtype=" << dtype_name(t.dtype());
  if (!t.device().is_cpu()) os << ", device=" << t.device().str();
  os << ')';
  return os.str();
}
std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }

// --- grad mode ---
namespace {
thread_local bool tls_grad_mode = true;
}
bool grad_mode_enabled() { return tls_grad_mode; }
void set_grad_mode(bool enabled) { tls_grad_mode = enabled; }

}  // namespace keel
