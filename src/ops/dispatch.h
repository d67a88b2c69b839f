// Kernel dispatch: a table of kernels indexed by (op, backend). Backends fill it at load time with
// KEEL_REGISTER_KERNEL; the device-neutral glue in src/ops validates operands, allocates outputs and
// calls dispatch(). A missing kernel is an UnimplementedError naming the op and the backend.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "keel/core/tensor.h"
#include "op_id.h"

namespace keel {

/// Kernel providers. kCpuRef holds the naive reference kernels used only as the test oracle.
enum class Backend : uint8_t { kCpu, kCpuRef, kCuda, kCount };
std::string_view backend_name(Backend b);

/// What a kernel receives: validated inputs, preallocated outputs (shapes and dtypes already set),
/// and the op's attribute struct (see the op family's *_attrs.h).
struct KernelArgs {
  OpId op;
  std::span<const Tensor> in;
  std::span<const Tensor> out;
  const void* attrs = nullptr;
  template <class A> const A& get() const { return *static_cast<const A*>(attrs); }
};
using KernelFn = void (*)(const KernelArgs&);

void register_kernel(OpId op, Backend backend, KernelFn fn);
bool has_kernel(OpId op, Backend backend);

/// A backend's execution context: runs body(ctx) in the thread state its kernels need (the CPU backend's
/// flushes denormals). The dispatcher and KernelPlan::replay enter it; the ops module knows no backend's policy.
using BackendContext = void (*)(void (*body)(void*), void* ctx);
void register_backend_context(Backend backend, BackendContext context);
/// Runs f() inside `backend`'s context (directly when the backend registered none).
void run_in_backend_context(Backend backend, void (*body)(void*), void* ctx);
template <class F> void run_in_backend_context(Backend backend, F&& f) {
  run_in_backend_context(backend, [](void* p) { (*static_cast<std::remove_reference_t<F>*>(p))(); }, &f);
}
/// The backend that runs ops on `device` on this thread (kCpuRef inside a ReferenceKernelsScope).
Backend backend_for(Device device);

namespace detail {
using AttrsCopier = std::shared_ptr<void> (*)(const void*);
template <class A>
std::shared_ptr<void> copy_attrs(const void* p) {
  return std::make_shared<A>(*static_cast<const A*>(p));
}
void dispatch_kernel(OpId op, std::span<const Tensor> inputs, std::span<const Tensor> outputs, const void* attrs,
                     AttrsCopier copy_attrs);
}  // namespace detail

/// Runs the kernel of `op` for the device of the outputs (or of the first input when there are none).
/// Pass the attributes typed (`&attrs`), so that a KernelPlanRecorder can keep a copy (kernel_plan.h).
template <class A>
void dispatch(OpId op, std::span<const Tensor> inputs, std::span<const Tensor> outputs, const A* attrs) {
  detail::dispatch_kernel(op, inputs, outputs, attrs, &detail::copy_attrs<A>);
}
inline void dispatch(OpId op, std::span<const Tensor> inputs, std::span<const Tensor> outputs) {
  detail::dispatch_kernel(op, inputs, outputs, nullptr, nullptr);
}
inline void dispatch(OpId op, std::span<const Tensor> inputs, std::span<const Tensor> outputs, std::nullptr_t) {
  detail::dispatch_kernel(op, inputs, outputs, nullptr, nullptr);
}

/// RAII: CPU ops on this thread run the reference kernels (tests compare against them).
class ReferenceKernelsScope {
 public:
  ReferenceKernelsScope();
  ~ReferenceKernelsScope();
  ReferenceKernelsScope(const ReferenceKernelsScope&) = delete;
  ReferenceKernelsScope& operator=(const ReferenceKernelsScope&) = delete;

 private:
  bool prev_;
};

namespace detail {
struct KernelRegistrar {
  KernelRegistrar(OpId op, Backend backend, KernelFn fn) { register_kernel(op, backend, fn); }
};
}  // namespace detail

}  // namespace keel

#define KEEL_CONCAT_INNER(a, b) a##b
#define KEEL_CONCAT(a, b) KEEL_CONCAT_INNER(a, b)
/// Registers `fn` as the kernel of OpId::op on Backend::backend at load time. The registrar's name holds
/// the op, so that an X-macro list may register several ops from one line.
#define KEEL_REGISTER_KERNEL(op, backend, fn)                                                             \
  static ::keel::detail::KernelRegistrar KEEL_CONCAT(keel_kernel_reg_##op##_, __LINE__)(::keel::OpId::op, \
                                                                                        ::keel::Backend::backend, fn)
