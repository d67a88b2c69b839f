// Recording of autograd nodes (see record.h).
#include "record.h"

namespace keel {

bool should_record(OpId op, std::span<const Tensor> inputs) {
  if (!grad_mode_enabled() || !op_differentiable(op)) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(OpId op, std::span<const Tensor> inputs, std::span<const Tensor> outputs) {
  if (!should_record(op, inputs)) return;
  detail::record_node(op, inputs, outputs, nullptr);
}

namespace detail {
void record_node(OpId op, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
                 std::shared_ptr<const void> attrs) {
  auto node = std::make_shared<OpNode>();
  node->op = op;
  node->inputs.assign(inputs.begin(), inputs.end());
  node->attrs = std::move(attrs);
  for (const Tensor& out : outputs) {
    node->outputs.push_back(out.detach());
    node->output_shapes.push_back(out.shape());
    node->output_dtypes.push_back(out.dtype());
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    auto& im = outputs[i].impl();
    if (!is_floating(im.dtype)) continue;  // integer outputs (e.g. indices) carry no gradient
    if (!im.autograd) im.autograd = std::make_unique<AutogradMeta>();
    im.autograd->requires_grad = true;
    im.autograd->grad_fn = node;
    im.autograd->output_index = static_cast<int>(i);
  }
}
}  // namespace detail

}  // namespace keel
