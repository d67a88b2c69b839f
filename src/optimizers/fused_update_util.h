// Where a fused optimizer update (src/ops/optimizer_update.h) writes a variable's new value: into the
// variable's own storage when nothing else can see it, else into a fresh tensor that commit() assigns.
// Writing in place saves an allocation per tensor and step; the check keeps in-place writes invisible: a
// Variable built from a user's tensor shares its storage, a copy of value() shares its state, and an autograd
// graph not yet released by backward() holds the value as a saved input.
#pragma once
#include "keel/core/variable.h"

namespace keel::optimizers::detail {

class UpdateTarget {
 public:
  explicit UpdateTarget(const Variable& var) : var_(var) {
    const Tensor& value = var.value();
    in_place_ = value.impl_ptr().use_count() == 1 && value.storage().use_count() == 1;
    out_ = in_place_ ? value : empty(value.shape(), value.dtype(), value.device());
  }
  const Tensor& out() const { return out_; }
  /// Makes the written value the variable's (nothing to do when it was written in place).
  void commit() const {
    if (!in_place_) var_.assign(out_);
  }

 private:
  const Variable& var_;
  bool in_place_ = false;
  Tensor out_;
};

}  // namespace keel::optimizers::detail
