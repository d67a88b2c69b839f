#include "keel/core/variable.h"

#include <utility>

#include "core/tensor_internals.h"

namespace keel {

namespace {
Tensor as_leaf(const Tensor& v, bool trainable) {
  Tensor leaf = v.detach();
  if (trainable && is_floating(leaf.dtype())) leaf.requires_grad_(true);
  return leaf;
}
}  // namespace

Variable::Variable(std::string name, const Tensor& value, bool trainable) : state_(std::make_shared<State>()) {
  KEEL_CHECK(value.defined(), ValueError, "Variable '", name, "': the initial value is an undefined tensor");
  state_->path = name;
  state_->name = std::move(name);
  state_->trainable = trainable;
  state_->value = as_leaf(value, trainable);
}

const std::string& Variable::name() const { return state_->name; }
const std::string& Variable::path() const { return state_->path; }
void Variable::set_path(std::string path) const { state_->path = std::move(path); }
const Tensor& Variable::value() const { return state_->value; }
bool Variable::trainable() const { return state_->trainable; }

const Variable::ValueFn& Variable::regularizer() const { return state_->regularizer; }
void Variable::set_regularizer(ValueFn regularizer) const { state_->regularizer = std::move(regularizer); }
const Variable::ValueFn& Variable::constraint() const { return state_->constraint; }
void Variable::set_constraint(ValueFn constraint) const { state_->constraint = std::move(constraint); }

void Variable::set_trainable(bool trainable) const {
  state_->trainable = trainable;
  state_->value = as_leaf(state_->value, trainable);
}

void Variable::assign(const Tensor& v) const {
  const Tensor& old = state_->value;
  KEEL_CHECK(v.defined(), ValueError, "Variable '", state_->path, "': cannot assign an undefined tensor");
  KEEL_CHECK(v.shape() == old.shape(), ShapeError, "Variable '", state_->path, "' has shape ", shape_str(old.shape()),
             " but the assigned value has shape ", shape_str(v.shape()));
  Tensor converted = v.detach();
  if (converted.dtype() != old.dtype()) {
    // core cannot call the ops module's astype: convert on the host with the core copy loop.
    Tensor host = converted.device().is_cpu() ? converted : detail::copy_to_device(converted, Device::cpu());
    Tensor cast = empty(host.shape(), old.dtype(), Device::cpu());
    detail::copy_cpu(host, cast);
    converted = cast;
  }
  if (!(converted.device() == old.device())) converted = detail::copy_to_device(converted, old.device());
  state_->value = as_leaf(converted, state_->trainable);
}

}  // namespace keel
