// Gradient rules: one function per differentiable primitive op, written with Keel ops so it runs on
// every backend. The engine calls a rule with the gradients of the node's outputs and expects one
// gradient per input (an undefined Tensor where the input needs none).
#pragma once
#include <vector>

#include "ops/record.h"

namespace keel {

struct GradCtx {
  const OpNode& node;
  const std::vector<Tensor>& grad_outputs;  // one per output; undefined where no gradient arrived

  const Tensor& input(size_t i) const { return node.inputs[i]; }
  const Tensor& output(size_t i) const { return node.outputs[i]; }
  /// Gradient of output i (zeros of its shape when none arrived).
  Tensor grad(size_t i = 0) const;
  template <class A> const A& attrs() const { return *static_cast<const A*>(node.attrs.get()); }
  /// Whether input i needs a gradient (rules may skip work for the others).
  bool needs_grad(size_t i) const;
};

using GradRule = std::vector<Tensor> (*)(const GradCtx&);
void register_grad(OpId op, GradRule rule);
GradRule find_grad(OpId op);  // nullptr when none

/// Sums a broadcast gradient back down to `shape` (the inverse of NumPy broadcasting).
Tensor sum_to_shape(const Tensor& g, const Shape& shape);

namespace detail {
struct GradRegistrar {
  GradRegistrar(OpId op, GradRule rule) { register_grad(op, rule); }
};
}  // namespace detail

}  // namespace keel

#define KEEL_REGISTER_GRAD(op, rule) \
  static ::keel::detail::GradRegistrar KEEL_CONCAT(keel_grad_reg_, __LINE__)(::keel::OpId::op, rule)
