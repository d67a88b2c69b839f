// CUDA against CPU over the whole op table (tests/ops/op_cases.h): every case runs on the CPU and with its
// inputs copied to GPU:0; forward results and the gradients of sum(fn(x) * w) must agree within float32
// tolerance. TF32 stays off (the default), so float32 matmul and convolution are full float32 on the GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "gpu/gpu_test_util.h"
#include "ops/dispatch.h"
#include "ops/op_cases.h"

namespace keel::testing {
namespace {

// Both sides are float32, but cuBLAS, cuDNN and the CUDA reductions sum in other orders than oneDNN and
// the CPU loops, which moves results by a few ulps of the accumulated magnitudes: looser than the 1e-5
// that CPU-vs-reference allows for the same loops, still far below any real error.
constexpr double kRtol = 1e-4, kAtol = 1e-5;

class GpuOpParity : public ::testing::TestWithParam<size_t> {
 protected:
  const OpCase& c() const { return op_cases()[GetParam()]; }
  double fwd_rtol() const { return std::max(kRtol, c().fwd_rtol); }
  double fwd_atol() const { return std::max(kAtol, c().fwd_atol); }
  // As CPU-vs-reference does for gradients: ten times the forward tolerance.
  double grad_rtol() const { return std::max(kRtol, 10 * c().fwd_rtol); }
  double grad_atol() const { return std::max(kAtol, 10 * c().fwd_atol); }
};

std::string case_label(const ::testing::TestParamInfo<size_t>& info) {
  std::string s = op_cases()[info.param].name;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

const Device kCpu = Device::cpu(), kGpu = Device::cuda(0);

/// The case's float32 inputs, made on the CPU (the table's helpers are CPU code).
std::vector<Tensor> cpu_inputs(const OpCase& c) {
  DeviceScope on_cpu(kCpu);
  return c.make_inputs(DType::f32);
}

/// A copy of `t` on the GPU with the same layout where the table made a transposed view
/// (non_contiguous()), so the CUDA kernels see strided inputs too; otherwise contiguous.
Tensor to_gpu(const Tensor& t) {
  if (!t.is_contiguous() && t.ndim() >= 2) {
    Tensor base = ops::transpose(t);  // non_contiguous() = transpose(contiguous)
    if (base.is_contiguous()) return ops::transpose(base.to(kGpu));
  }
  return t.to(kGpu);
}

std::vector<Tensor> gpu_inputs(const OpCase& c) {
  std::vector<Tensor> in;
  for (const Tensor& t : cpu_inputs(c)) in.push_back(to_gpu(t));
  return in;
}

/// A GPU result as a contiguous CPU tensor (outputs may be views).
Tensor to_host(const Tensor& t) {
  if (!t.defined() || t.device().is_cpu()) return t;
  DeviceScope on_gpu(t.device());
  return t.contiguous().to(kCpu);
}

/// Gradients of sum(fn(in) * w) for the case's grad_inputs, computed on `device` (where `in` lives). The
/// upstream w is the one op_suite.cpp uses, made on the CPU and copied over.
std::vector<Tensor> gradients(const OpCase& c, std::vector<Tensor> in, Device device) {
  DeviceScope scope(device);
  for (size_t k : c.grad_inputs) in[k].requires_grad_();
  Tensor y = c.fn(in);
  Tensor w;
  {
    DeviceScope on_cpu(kCpu);
    w = rand_uniform(y.shape(), y.dtype(), 424242, 0.5, 1.5);
  }
  ops::sum(ops::multiply(y, w.to(device))).backward();
  std::vector<Tensor> g;
  for (size_t k : c.grad_inputs) g.push_back(in[k].grad());
  return g;
}

TEST_P(GpuOpParity, ForwardMatchesCpu) {
  KEEL_REQUIRE_GPU();
  Tensor expected;
  {
    DeviceScope on_cpu(kCpu);
    expected = c().fn(cpu_inputs(c()));
  }
  Tensor actual;
  {
    DeviceScope on_gpu(kGpu);
    actual = c().fn(gpu_inputs(c()));
  }
  EXPECT_EQ(actual.device(), kGpu) << c().name;
  EXPECT_EQ(actual.dtype(), expected.dtype()) << c().name;
  EXPECT_TRUE(all_close(to_host(actual), expected, fwd_rtol(), fwd_atol())) << c().name;
}

TEST_P(GpuOpParity, GradientsMatchCpu) {
  KEEL_REQUIRE_GPU();
  if (c().grad_inputs.empty()) GTEST_SKIP() << "forward-only case";
  std::vector<Tensor> expected = gradients(c(), cpu_inputs(c()), kCpu);
  std::vector<Tensor> actual = gradients(c(), gpu_inputs(c()), kGpu);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    ASSERT_TRUE(actual[i].defined()) << c().name << ": no gradient reached GPU input " << c().grad_inputs[i];
    EXPECT_EQ(actual[i].device(), kGpu) << c().name << ": gradient of input " << c().grad_inputs[i];
    EXPECT_TRUE(all_close(to_host(actual[i]), expected[i], grad_rtol(), grad_atol()))
        << c().name << ": gradient of input " << c().grad_inputs[i];
  }
}

std::vector<size_t> all_case_indices() {
  std::vector<size_t> idx(op_cases().size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  return idx;
}

INSTANTIATE_TEST_SUITE_P(Ops, GpuOpParity, ::testing::ValuesIn(all_case_indices()), case_label);

// Kernels register when the library loads, so this runs without a GPU too: the CUDA build misses no op
// that the CPU has.
TEST(GpuOpTable, EveryOpWithACpuKernelHasACudaKernel) {
  int checked = 0;
  for (int i = 0; i < kNumOps; ++i) {
    const OpId op = static_cast<OpId>(i);
    if (!has_kernel(op, Backend::kCpu)) continue;
    ++checked;
    EXPECT_TRUE(has_kernel(op, Backend::kCuda)) << "op '" << op_name(op) << "' has a CPU kernel but no CUDA kernel";
  }
  EXPECT_GT(checked, 70);
}

}  // namespace
}  // namespace keel::testing
