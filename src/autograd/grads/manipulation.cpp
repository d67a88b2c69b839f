// Gradient rules of the shape and indexing ops: views map the gradient back (reshape back, inverse
// transpose, sum over broadcast axes, scatter into zeros), copies slice or scatter-add it.
#include "autograd/grad_rules.h"
#include "keel/ops/manipulation.h"
#include "ops/manipulation_attrs.h"

namespace keel {
namespace {

std::vector<Tensor> reshape_grad(const GradCtx& c) { return {ops::reshape(c.grad(), c.input(0).shape())}; }

std::vector<Tensor> transpose_grad(const GradCtx& c) {
  const auto& perm = c.attrs<TransposeAttrs>().perm;
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int64_t>(i);
  return {ops::transpose(c.grad(), inverse)};
}

std::vector<Tensor> broadcast_to_grad(const GradCtx& c) { return {sum_to_shape(c.grad(), c.input(0).shape())}; }

std::vector<Tensor> slice_grad(const GradCtx& c) {
  return {detail::slice_backward(c.grad(), c.input(0).shape(), c.attrs<SliceAttrs>())};
}

// SliceBackward is linear in its input: its gradient reads back the sliced positions.
std::vector<Tensor> slice_backward_grad(const GradCtx& c) {
  return {detail::slice_view(c.grad(), c.attrs<SliceAttrs>())};
}

std::vector<Tensor> pad_grad(const GradCtx& c) {
  const auto& p = c.attrs<PadAttrs>();
  const Shape& shape = c.input(0).shape();
  SliceAttrs s{p.before, shape, std::vector<int64_t>(shape.size(), 1)};
  return {detail::slice_view(c.grad(), s)};
}

std::vector<Tensor> concatenate_grad(const GradCtx& c) {
  const int64_t axis = c.attrs<ConcatAttrs>().axis;
  Tensor g = c.grad();
  std::vector<Tensor> out;
  int64_t at = 0;
  for (size_t i = 0; i < c.node.inputs.size(); ++i) {
    const int64_t n = c.input(i).shape()[axis];
    out.push_back(c.needs_grad(i) ? ops::slice_axis(g, axis, at, at + n) : Tensor());
    at += n;
  }
  return out;
}

std::vector<Tensor> take_grad(const GradCtx& c) {
  const auto& a = c.attrs<TakeAttrs>();
  return {detail::take_backward(c.grad(), c.input(1), a.x_shape, a.axis), Tensor()};
}

// TakeBackward is linear in the gradient it scatters: its own gradient gathers again.
std::vector<Tensor> take_backward_grad(const GradCtx& c) {
  return {ops::take(c.grad(), c.input(1), c.attrs<TakeAttrs>().axis), Tensor()};
}

KEEL_REGISTER_GRAD(Reshape, reshape_grad);
KEEL_REGISTER_GRAD(Transpose, transpose_grad);
KEEL_REGISTER_GRAD(BroadcastTo, broadcast_to_grad);
KEEL_REGISTER_GRAD(Slice, slice_grad);
KEEL_REGISTER_GRAD(SliceBackward, slice_backward_grad);
KEEL_REGISTER_GRAD(Pad, pad_grad);
KEEL_REGISTER_GRAD(Concatenate, concatenate_grad);
KEEL_REGISTER_GRAD(Take, take_grad);
KEEL_REGISTER_GRAD(TakeBackward, take_backward_grad);

}  // namespace
}  // namespace keel
