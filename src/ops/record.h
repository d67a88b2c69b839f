// Recording of autograd nodes by the device-neutral op glue. A node keeps the op, its inputs (to route
// gradients), detached copies of its outputs (no reference cycle) and a copy of the attributes. The
// autograd module owns the gradient rules and the engine that walks these nodes.
#pragma once
#include <memory>
#include <vector>

#include "core/autograd_meta.h"
#include "keel/core/grad_mode.h"
#include "dispatch.h"
#include "op_id.h"

namespace keel {

struct OpNode : GradNode {
  OpId op;
  std::vector<Tensor> inputs;
  std::vector<Tensor> outputs;        // detached
  std::shared_ptr<const void> attrs;  // the op's attribute struct, or null
  std::vector<Shape> output_shapes;   // kept after release for error messages and zero seeds
  std::vector<DType> output_dtypes;
  bool released = false;              // saved tensors freed by backward()
};

/// True when `op` should record: grad mode on, op differentiable, some input requires grad.
bool should_record(OpId op, std::span<const Tensor> inputs);

/// Records a node for outputs computed from inputs (no-op when should_record is false).
/// Outputs must be freshly created tensors (they become non-leaves requiring grad).
template <class Attrs>
void record(OpId op, std::span<const Tensor> inputs, std::span<const Tensor> outputs, const Attrs& attrs);
void record(OpId op, std::span<const Tensor> inputs, std::span<const Tensor> outputs);

namespace detail {
void record_node(OpId op, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
                 std::shared_ptr<const void> attrs);
}

template <class Attrs>
void record(OpId op, std::span<const Tensor> inputs, std::span<const Tensor> outputs, const Attrs& attrs) {
  if (!should_record(op, inputs)) return;
  detail::record_node(op, inputs, outputs, std::make_shared<const Attrs>(attrs));
}

}  // namespace keel

namespace keel {
/// The usual glue ending: run the kernel, then record the node.
template <class Attrs>
void run_op(OpId op, std::span<const Tensor> inputs, std::span<const Tensor> outputs, const Attrs& attrs) {
  dispatch(op, inputs, outputs, &attrs);
  record(op, inputs, outputs, attrs);
}
inline void run_op(OpId op, std::span<const Tensor> inputs, std::span<const Tensor> outputs) {
  dispatch(op, inputs, outputs, nullptr);
  record(op, inputs, outputs);
}
}  // namespace keel
