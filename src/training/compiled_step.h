// Note [Compiled train step]
// fit's train step (forward, loss, backward; the optimizer update and the metrics stay eager) runs from a
// kernel plan (ops/kernel_plan.h) once it has been seen, and so do evaluate's (forward, loss) and
// predict's (forward; the outputs are copied out of the plan's buffers): the first step with a given input signature
// (shapes and dtypes of x, y and sample weights) runs eagerly, the second runs eagerly while recording
// its kernels, and later ones copy the batch into the recorded batch's buffers and replay, with no
// allocation, no shape inference and no autograd graph. A new signature (the last, partial batch) gets
// its own plan. Variables are read from the buffers they had when the plan was recorded: before a replay,
// a variable whose value was replaced since (an optimizer that assigns, set_weights, a callback) is
// copied into that buffer; a variable the step itself assigns (BatchNormalization's moving statistics)
// gets the plan's new value after. Plans are kept only where replay gives what eager execution gives:
// on the CPU, without a distribution strategy, unless compile(run_eagerly = true) or
// config::run_functions_eagerly(true), and only when the
// recorder accepted the step (no host reads of values, random draws only in dropout). Anything else
// runs eagerly, as before.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "keel/core/variable.h"
#include "ops/kernel_plan.h"
#include "training/epoch_data.h"

namespace keel::training_detail {

/// What forward_backward gives the rest of the train step.
struct StepTensors {
  std::vector<Tensor> outputs;     // the model's outputs
  std::vector<Tensor> output_masks;  // their Keras masks (undefined: none)
  Tensor loss;                     // the total loss (detached)
  std::vector<Tensor> per_output;  // each output's loss (detached)
  std::vector<Tensor> grads;       // one per trainable variable (undefined when it got none)
};

/// How a plan reads one variable.
struct VariableBinding {
  // A variable the step does not assign: the plan keeps no reference to its value between replays (so an
  // optimizer can still update it in place); each replay binds the current value into these operands.
  struct Use {
    KernelPlan::InputSlot slot;
    Shape shape;
    Strides strides;
    int64_t offset = 0;
  };
  std::vector<Use> uses;
  Strides strides;      // the value's layout when recorded (a replay needs the same)
  int64_t offset = 0;
  // A variable the step assigns (BatchNormalization's moving statistics): the plan reads `read` and writes
  // `written`; a replay copies the current value into `read` first.
  bool assigned = false;
  Tensor read, written;
};

struct StepPlan {
  KernelPlan plan;
  Batch batch;        // the recorded step's batch: a replay copies the new batch into these buffers
  StepTensors step;   // the recorded step's results: a replay rewrites them
  std::vector<Variable> trainable, variables;
  std::vector<VariableBinding> bindings;  // one per variable
};

struct CompiledSteps {
  std::map<std::string, int> seen;                         // signature -> eager steps run so far
  std::map<std::string, std::unique_ptr<StepPlan>> plans;  // signature -> replayable plan
  std::string last_reason;                                 // why the last recorded step was not kept
  int64_t replayed = 0, eager = 0;
};

}  // namespace keel::training_detail
