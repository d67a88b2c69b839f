// Variable: a named, trainable-or-not tensor owned by a layer, an optimizer or a metric (keras.Variable).
// Copies share one state, so a layer, its model and the optimizer all see the same value; assign()
// replaces the value in place of every holder.
//   Variable w("kernel", zeros({784, 64}));
//   w.assign(w.value() - 0.1 * grad);
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include "keel/core/tensor.h"

namespace keel {

class Variable {
 public:
  Variable() = default;
  /// `value` becomes a leaf (detached); trainable variables require gradients.
  Variable(std::string name, const Tensor& value, bool trainable = true);

  bool defined() const { return state_ != nullptr; }
  const std::string& name() const;
  /// "<layer path>/<name>", e.g. "sequential/dense/kernel"; the name until a layer sets it.
  const std::string& path() const;
  void set_path(std::string path) const;
  const Tensor& value() const;
  const Shape& shape() const { return value().shape(); }
  DType dtype() const { return value().dtype(); }
  int64_t numel() const { return value().numel(); }
  bool trainable() const;
  /// Also switches the value's requires_grad flag.
  void set_trainable(bool trainable) const;
  /// Replaces the value; `v` must have the same shape (ShapeError naming the variable otherwise). It is
  /// converted to the variable's dtype and device and detached from any graph.
  void assign(const Tensor& v) const;
  /// A function of the value: what Keras's `variable.regularizer` and `variable.constraint` hold. The
  /// regularizer gives a scalar penalty that Layer::losses() adds to the training loss; the constraint is
  /// applied by the optimizer after each update (`w <- constraint(w)`). Empty when unset. Layers set them
  /// from keel::Regularizer and keel::Constraint values (keel/regularizers, keel/constraints).
  using ValueFn = std::function<Tensor(const Tensor&)>;
  const ValueFn& regularizer() const;
  void set_regularizer(ValueFn regularizer) const;
  const ValueFn& constraint() const;
  void set_constraint(ValueFn constraint) const;
  /// True when both handles refer to the same variable.
  bool is_same(const Variable& other) const { return state_ == other.state_; }

 private:
  struct State {
    std::string name, path;
    Tensor value;
    bool trainable = true;
    ValueFn regularizer, constraint;
  };
  std::shared_ptr<State> state_;
};

}  // namespace keel
