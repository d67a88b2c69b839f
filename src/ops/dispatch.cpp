// The kernel table and dispatch by device.
#include "dispatch.h"

#include <array>

#include "kernel_plan.h"

namespace keel {
namespace {
using Table = std::array<std::array<KernelFn, static_cast<int>(Backend::kCount)>, kNumOps>;
Table& table() {
  static Table t{};  // function-local: backends register from their own static initialisers
  return t;
}
std::array<BackendContext, static_cast<int>(Backend::kCount)>& contexts() {
  static std::array<BackendContext, static_cast<int>(Backend::kCount)> c{};
  return c;
}
thread_local bool tls_reference = false;
thread_local int tls_kernel_depth = 0;  // > 0 while a kernel runs
}  // namespace

std::string_view backend_name(Backend b) {
  switch (b) {
    case Backend::kCpu: return "cpu";
    case Backend::kCpuRef: return "cpu-reference";
    case Backend::kCuda: return "cuda";
    default: return "unknown";
  }
}

void register_kernel(OpId op, Backend backend, KernelFn fn) {
  table()[static_cast<int>(op)][static_cast<int>(backend)] = fn;
}
void register_backend_context(Backend backend, BackendContext context) {
  contexts()[static_cast<int>(backend)] = context;
}
void run_in_backend_context(Backend backend, void (*body)(void*), void* ctx) {
  if (BackendContext c = contexts()[static_cast<int>(backend)]) return c(body, ctx);
  body(ctx);
}
bool has_kernel(OpId op, Backend backend) { return table()[static_cast<int>(op)][static_cast<int>(backend)] != nullptr; }

Backend backend_for(Device device) {
  if (device.is_cuda()) return Backend::kCuda;
  return tls_reference ? Backend::kCpuRef : Backend::kCpu;
}

namespace detail {
void dispatch_kernel(OpId op, std::span<const Tensor> inputs, std::span<const Tensor> outputs, const void* attrs,
                     AttrsCopier copy_attrs) {
  Device dev = !outputs.empty() ? outputs[0].device() : inputs[0].device();
  for (const Tensor& t : inputs)
    KEEL_CHECK(!t.defined() || t.device() == dev, ValueError, op_name(op), ": operands are on different devices (",
               t.device().str(), " and ", dev.str(), "); move them with Tensor::to first");
  Backend b = backend_for(dev);
  KernelFn fn = table()[static_cast<int>(op)][static_cast<int>(b)];
  KEEL_CHECK(fn != nullptr, UnimplementedError, "Op '", op_name(op), "' has no kernel for backend '",
             backend_name(b), "'");
  // Kernels that dispatch kernels inside themselves are recorded once, as the outer kernel.
  if (tls_kernel_depth == 0)
    if (KernelPlanRecorder* r = KernelPlanRecorder::active()) r->add(fn, op, b, inputs, outputs, attrs, copy_attrs);
  struct Depth {
    Depth() { ++tls_kernel_depth; }
    ~Depth() { --tls_kernel_depth; }
  } depth;
  run_in_backend_context(b, [&] { fn(KernelArgs{op, inputs, outputs, attrs}); });
}
}  // namespace detail

ReferenceKernelsScope::ReferenceKernelsScope() : prev_(tls_reference) { tls_reference = true; }
ReferenceKernelsScope::~ReferenceKernelsScope() { tls_reference = prev_; }

}  // namespace keel
