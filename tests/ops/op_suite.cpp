// Generic suites run over every OpCase: forward vs reference kernels, float64 gradients vs finite
// differences, float32 CPU gradients vs the reference backward, and coverage of op_list.def.
#include <gtest/gtest.h>

#include <set>

#include "core/tensor_internals.h"
#include "ops/dispatch.h"
#include "ops/op_cases.h"

namespace keel::testing {
namespace {

class OpCaseTest : public ::testing::TestWithParam<size_t> {
 protected:
  const OpCase& c() const { return op_cases()[GetParam()]; }
};

std::string case_label(const ::testing::TestParamInfo<size_t>& info) {
  std::string s = op_cases()[info.param].name;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

// A fixed upstream gradient: the scalar checked is sum(fn(x) * w).
Tensor upstream_for(const Tensor& y) { return rand_uniform(y.shape(), y.dtype(), 424242, 0.5, 1.5); }

// Writes value into logical element i of t (any strides; t must not be a broadcast view).
void set_element(const Tensor& t, int64_t i, double value) {
  int64_t off = t.offset();
  for (int64_t d = t.ndim() - 1; d >= 0; --d) {
    off += (i % t.shape()[d]) * t.strides()[d];
    i /= t.shape()[d];
  }
  static_cast<double*>(t.storage()->data)[off] = value;
}

std::vector<Tensor> autograd_grads(const OpCase& c, std::vector<Tensor> in) {
  for (size_t k : c.grad_inputs) in[k].requires_grad_();
  Tensor y = c.fn(in);
  ops::sum(ops::multiply(y, upstream_for(y).astype(y.dtype()))).backward();
  std::vector<Tensor> g;
  for (size_t k : c.grad_inputs) g.push_back(in[k].grad());
  return g;
}

TEST_P(OpCaseTest, ForwardMatchesReferenceKernels) {
  for (DType dt : {DType::f32, DType::f64}) {
    if (dt == DType::f64) {
      // float64 runs where the CPU backend supports it; oneDNN-backed ops are float32-only there.
      bool ok = true;
      try { c().fn(c().make_inputs(dt)); } catch (const DTypeError&) { ok = false; }
      if (!ok) continue;
    }
    Tensor fast = c().fn(c().make_inputs(dt));
    Tensor ref;
    {
      ReferenceKernelsScope reference;
      ref = c().fn(c().make_inputs(dt));
    }
    EXPECT_EQ(fast.dtype(), ref.dtype()) << c().name;
    EXPECT_TRUE(all_close(fast, ref, c().fwd_rtol, c().fwd_atol)) << c().name << " (" << dtype_name(dt) << ")";
  }
}

TEST_P(OpCaseTest, GradientMatchesFiniteDifferences) {
  if (c().grad_inputs.empty()) GTEST_SKIP() << "forward-only case";
  ReferenceKernelsScope reference;  // float64 throughout
  std::vector<Tensor> analytic = autograd_grads(c(), c().make_inputs(DType::f64));
  std::vector<Tensor> in = c().make_inputs(DType::f64);
  Tensor w;
  auto loss = [&]() {
    NoGradGuard no_grad;
    Tensor y = c().fn(in);
    if (!w.defined()) w = upstream_for(y).astype(DType::f64);
    return ops::sum(ops::multiply(y, w)).item<double>();
  };
  for (size_t gi = 0; gi < c().grad_inputs.size(); ++gi) {
    const Tensor& x = in[c().grad_inputs[gi]];
    ASSERT_EQ(x.dtype(), DType::f64) << c().name << ": differentiable input " << gi << " must be floating";
    ASSERT_TRUE(analytic[gi].defined()) << c().name << ": no gradient reached input " << c().grad_inputs[gi];
    std::vector<double> numeric(x.numel());
    for (int64_t i = 0; i < x.numel(); ++i) {
      double x0 = detail::read_as_double(x, i);
      set_element(x, i, x0 + c().fd_step);
      double up = loss();
      set_element(x, i, x0 - c().fd_step);
      double down = loss();
      set_element(x, i, x0);
      numeric[i] = (up - down) / (2 * c().fd_step);
    }
    EXPECT_TRUE(all_close(analytic[gi], from_vector(numeric, x.shape()), c().grad_rtol, c().grad_atol))
        << c().name << ": gradient of input " << c().grad_inputs[gi];
  }
}

TEST_P(OpCaseTest, CpuGradientMatchesReferenceBackward) {
  if (c().grad_inputs.empty()) GTEST_SKIP() << "forward-only case";
  std::vector<Tensor> fast = autograd_grads(c(), c().make_inputs(DType::f32));
  std::vector<Tensor> ref;
  {
    ReferenceKernelsScope reference;
    ref = autograd_grads(c(), c().make_inputs(DType::f32));
  }
  for (size_t i = 0; i < fast.size(); ++i) {
    EXPECT_TRUE(all_close(fast[i], ref[i], 10 * c().fwd_rtol, 10 * c().fwd_atol))
        << c().name << ": gradient of input " << c().grad_inputs[i];
  }
}

std::vector<size_t> all_case_indices() {
  std::vector<size_t> idx(op_cases().size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  return idx;
}

INSTANTIATE_TEST_SUITE_P(Ops, OpCaseTest, ::testing::ValuesIn(all_case_indices()), case_label);

TEST(OpTable, EveryOpHasACaseAndEveryDifferentiableOpAGradientCheck) {
  std::set<OpId> covered, grad_checked;
  std::set<std::string> names;
  for (const OpCase& c : op_cases()) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate case name " << c.name;
    for (OpId op : c.covers) {
      covered.insert(op);
      if (!c.grad_inputs.empty()) grad_checked.insert(op);
    }
  }
  for (int i = 0; i < kNumOps; ++i) {
    OpId op = static_cast<OpId>(i);
    EXPECT_TRUE(covered.count(op)) << "op '" << op_name(op) << "' has no entry in the op test table";
    if (op_differentiable(op)) {
      EXPECT_TRUE(grad_checked.count(op)) << "differentiable op '" << op_name(op) << "' has no gradient check";
    }
  }
}

TEST(OpTable, EveryOpHasCpuAndReferenceKernels) {
  for (int i = 0; i < kNumOps; ++i) {
    OpId op = static_cast<OpId>(i);
    if (op == OpId::Reshape || op == OpId::Transpose || op == OpId::BroadcastTo || op == OpId::Slice) continue;  // views
    EXPECT_TRUE(has_kernel(op, Backend::kCpu)) << "op '" << op_name(op) << "' has no CPU kernel";
    EXPECT_TRUE(has_kernel(op, Backend::kCpuRef)) << "op '" << op_name(op) << "' has no reference kernel";
  }
}

}  // namespace
}  // namespace keel::testing
