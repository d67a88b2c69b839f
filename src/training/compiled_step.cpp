// The train step's forward, loss and backward from a kernel plan (Note [Compiled train step] in
// compiled_step.h).
#include "training/compiled_step.h"

#include <functional>
#include <optional>
#include <sstream>

#include "core/tensor_internals.h"
#include "keel/core/config.h"
#include "keel/training/trainer.h"

namespace keel {

using training_detail::Batch;
using training_detail::CompiledSteps;
using training_detail::StepPlan;
using training_detail::StepTensors;
using training_detail::VariableBinding;

namespace {

std::string signature_of(const Batch& b) {
  std::ostringstream os;
  auto add = [&os](const Tensor& t) {
    if (t.defined()) os << dtype_name(t.dtype()) << shape_str(t.shape()) << t.device().str();
    os << ';';
  };
  for (const Tensor& t : b.x) add(t);
  os << '|';
  for (const Tensor& t : b.y) add(t);
  os << '|';
  add(b.sample_weight);
  return os.str();
}

bool on_cpu(const Batch& b) {
  auto cpu = [](const Tensor& t) { return !t.defined() || t.device().is_cpu(); };
  for (const Tensor& t : b.x)
    if (!cpu(t)) return false;
  for (const Tensor& t : b.y)
    if (!cpu(t)) return false;
  return cpu(b.sample_weight);
}

bool same_variables(const std::vector<Variable>& a, const std::vector<Variable>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!a[i].is_same(b[i])) return false;
  return true;
}

bool same_buffer(const Tensor& a, const Tensor& b) { return a.storage() == b.storage() && a.offset() == b.offset(); }

// The plan's own copy of a batch: replays write new batches into it, never into the user's arrays.
Batch private_copy(const Batch& b) {
  Batch c;
  for (const Tensor& t : b.x) c.x.push_back(t.detach().clone());
  for (const Tensor& t : b.y) c.y.push_back(t.detach().clone());
  if (b.sample_weight.defined()) c.sample_weight = b.sample_weight.detach().clone();
  c.size = b.size;
  return c;
}

void copy_batch(const Batch& from, const Batch& to) {
  for (size_t i = 0; i < from.x.size(); ++i) detail::copy_cpu(from.x[i], to.x[i]);
  for (size_t i = 0; i < from.y.size(); ++i) detail::copy_cpu(from.y[i], to.y[i]);
  if (from.sample_weight.defined()) detail::copy_cpu(from.sample_weight, to.sample_weight);
}

// Binds each variable the step does not assign into the operands that read it; false when a value's
// layout changed since recording.
bool bind_variables(StepPlan& p, const std::vector<Variable>& variables) {
  for (size_t i = 0; i < variables.size(); ++i) {
    const VariableBinding& b = p.bindings[i];
    if (b.assigned || b.uses.empty()) continue;
    const Tensor& now = variables[i].value();
    if (now.strides() != b.strides || now.offset() != b.offset) return false;
    for (const VariableBinding::Use& u : b.uses) {
      const bool whole = u.shape == now.shape() && u.strides == now.strides() && u.offset == now.offset();
      p.plan.set_input(u.slot, whole ? now : detail::make_view(now, u.shape, u.strides, u.offset));
    }
  }
  return true;
}

void unbind_variables(StepPlan& p) {
  for (const VariableBinding& b : p.bindings)
    for (const VariableBinding::Use& u : b.uses) p.plan.set_input(u.slot, Tensor());
}

// Replays `p` on `batch`; nullopt when the model's variables are no longer the ones the plan was made for.
std::optional<StepTensors> replay(StepPlan& p, const Batch& batch, const std::vector<Variable>& trainable,
                                  const std::vector<Variable>& variables) {
  if (!same_variables(trainable, p.trainable) || !same_variables(variables, p.variables)) return std::nullopt;
  if (!bind_variables(p, variables)) {
    unbind_variables(p);
    return std::nullopt;
  }
  for (size_t i = 0; i < variables.size(); ++i) {
    const VariableBinding& b = p.bindings[i];
    if (b.assigned && !same_buffer(variables[i].value(), b.read)) detail::copy_cpu(variables[i].value(), b.read);
  }
  copy_batch(batch, p.batch);
  try {
    p.plan.replay();
  } catch (...) {
    unbind_variables(p);
    throw;
  }
  unbind_variables(p);
  for (size_t i = 0; i < variables.size(); ++i) {  // the step assigned these: give them the new values
    const VariableBinding& b = p.bindings[i];
    if (b.assigned && !same_buffer(variables[i].value(), b.written)) variables[i].assign(b.written);
  }
  return p.step;
}

// How the recorded plan reads each variable; releases its references to values it does not assign.
std::vector<VariableBinding> bindings_of(KernelPlan& plan, const std::vector<Variable>& variables,
                                         const std::vector<Tensor>& read) {
  std::vector<VariableBinding> bindings(variables.size());
  for (size_t i = 0; i < variables.size(); ++i) {
    VariableBinding& b = bindings[i];
    const Tensor& after = variables[i].value();
    if (!same_buffer(after, read[i])) {
      b.assigned = true;
      b.read = read[i];
      b.written = after;
      continue;
    }
    b.strides = after.strides();
    b.offset = after.offset();
    for (KernelPlan::InputSlot slot : plan.inputs_reading(after.storage().get())) {
      const Tensor& t = plan.input(slot);
      b.uses.push_back({slot, t.shape(), t.strides(), t.offset()});
    }
  }
  for (const VariableBinding& b : bindings)
    for (const VariableBinding::Use& u : b.uses) plan.set_input(u.slot, Tensor());
  return bindings;
}

// Runs `eager` on `batch` as the Note describes: op by op for a new signature, recorded the second time,
// replayed after (or op by op for good when the recorder refused the step).
StepTensors run_planned(CompiledSteps& steps, const Batch& batch, const std::vector<Variable>& trainable,
                        const std::vector<Variable>& variables, const std::function<StepTensors(const Batch&)>& eager) {
  const std::string key = signature_of(batch);
  if (auto it = steps.plans.find(key); it != steps.plans.end()) {
    if (std::optional<StepTensors> step = replay(*it->second, batch, trainable, variables)) {
      ++steps.replayed;
      return *step;
    }
    steps.plans.erase(it);  // the model's variables changed: run eagerly, then record again
    steps.seen[key] = 0;
  }
  ++steps.eager;
  int& seen = steps.seen[key];
  // The first step of a signature runs as it is (it may build layers, drawing their initial weights);
  // the second is recorded; a step the recorder refused (seen < 0) always runs eagerly.
  if (seen <= 0) {
    if (seen == 0) seen = 1;
    return eager(batch);
  }
  auto plan = std::make_unique<StepPlan>();
  plan->trainable = trainable;
  plan->variables = variables;
  std::vector<Tensor> read;
  for (const Variable& v : variables) read.push_back(v.value());
  plan->batch = private_copy(batch);
  {
    KernelPlanRecorder recorder;
    plan->step = eager(plan->batch);
    plan->plan = recorder.finish();
  }
  if (!plan->plan.replayable()) {
    steps.last_reason = plan->plan.not_replayable_because();
    seen = -1;
    return plan->step;
  }
  std::vector<Tensor> results = plan->step.outputs;  // read after each replay: never shared
  results.insert(results.end(), plan->step.output_masks.begin(), plan->step.output_masks.end());
  results.push_back(plan->step.loss);
  results.insert(results.end(), plan->step.per_output.begin(), plan->step.per_output.end());
  results.insert(results.end(), plan->step.grads.begin(), plan->step.grads.end());
  for (const Variable& v : variables) results.push_back(v.value());  // values the step assigned
  plan->plan.share_buffers(results);
  plan->bindings = bindings_of(plan->plan, variables, read);
  read.clear();  // no reference to the values: the optimizer may update them in place
  StepTensors step = plan->step;
  steps.plans[key] = std::move(plan);
  return step;
}

}  // namespace

namespace {
Trainer::StepStats stats_of(const std::unique_ptr<CompiledSteps>& steps) {
  if (!steps) return {};
  return {steps->replayed, steps->eager, steps->last_reason};
}
}  // namespace

Trainer::StepStats Trainer::train_step_stats() const { return stats_of(compiled_steps_); }
Trainer::StepStats Trainer::test_step_stats() const { return stats_of(compiled_tests_); }
Trainer::StepStats Trainer::predict_step_stats() const { return stats_of(compiled_predicts_); }

bool Trainer::may_replay(const Batch& batch) const {
  return !compile_options_.run_eagerly && !config::functions_run_eagerly() && !strategy_ && on_cpu(batch);
}

StepTensors Trainer::train_forward_backward(const Batch& batch, const std::vector<Variable>& vars) {
  if (!compiled_steps_) compiled_steps_ = std::make_unique<CompiledSteps>();
  if (!may_replay(batch) || vars.empty()) {
    ++compiled_steps_->eager;
    return forward_backward(batch, vars);
  }
  return run_planned(*compiled_steps_, batch, vars, all_variables(),
                     [&](const Batch& b) { return forward_backward(b, vars); });
}

StepTensors Trainer::test_forward(const Batch& batch) {
  auto eager = [this](const Batch& b) {
    StepTensors step;
    ForwardResult f = forward(b.x, /*training=*/false);
    step.outputs = std::move(f.outputs);
    step.output_masks = std::move(f.masks);
    last_per_output_.clear();  // an overriding compute_loss gives none
    step.loss = compute_loss(StepData{b.x, b.y, b.sample_weight}, {step.outputs, step.output_masks});
    step.per_output = last_per_output_;
    return step;
  };
  if (!compiled_tests_) compiled_tests_ = std::make_unique<CompiledSteps>();
  if (!may_replay(batch)) {
    ++compiled_tests_->eager;
    return eager(batch);
  }
  return run_planned(*compiled_tests_, batch, {}, all_variables(), eager);
}

std::vector<Tensor> Trainer::predict_forward(const Batch& batch) {
  auto eager = [this](const Batch& b) {
    StepTensors step;
    step.outputs = forward(b.x, /*training=*/false).outputs;
    return step;
  };
  if (!compiled_predicts_) compiled_predicts_ = std::make_unique<CompiledSteps>();
  if (!may_replay(batch)) {
    ++compiled_predicts_->eager;
    return eager(batch).outputs;
  }
  std::vector<Tensor> outputs = run_planned(*compiled_predicts_, batch, {}, all_variables(), eager).outputs;
  for (Tensor& o : outputs) o = o.clone();  // a replay rewrites the plan's buffers
  return outputs;
}

}  // namespace keel
