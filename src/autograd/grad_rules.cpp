// The table of gradient rules, and helpers shared by the rules.
#include "autograd/grad_rules.h"

#include <array>

#include "keel/ops/manipulation.h"
#include "keel/ops/reduction.h"

namespace keel {
namespace {
std::array<GradRule, kNumOps>& rules() {
  static std::array<GradRule, kNumOps> table{};
  return table;
}
}  // namespace

void register_grad(OpId op, GradRule rule) { rules()[static_cast<int>(op)] = rule; }
GradRule find_grad(OpId op) { return rules()[static_cast<int>(op)]; }

Tensor GradCtx::grad(size_t i) const {
  if (grad_outputs[i].defined()) return grad_outputs[i];
  return zeros(node.output_shapes[i], node.output_dtypes[i], node.outputs.empty() ? Device::cpu() : node.outputs[i].device());
}

bool GradCtx::needs_grad(size_t i) const { return node.inputs[i].defined() && node.inputs[i].requires_grad(); }

Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int64_t lead = g.ndim() - static_cast<int64_t>(shape.size());
  std::vector<int64_t> axes;
  for (int64_t i = 0; i < g.ndim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) axes.push_back(i);
  Tensor s = axes.empty() ? g : ops::sum(g, axes, /*keepdims=*/true);
  return ops::reshape(s, shape);
}

}  // namespace keel
