// The loss base class (keras.losses.Loss) and LossArg, what compile(loss=...) accepts.
//   losses::BinaryCrossentropy bce({.from_logits = true});
//   Tensor l = bce(y_true, logits);                     // scalar, differentiable w.r.t. logits
//   Tensor per_sample = losses::MeanSquaredError({.reduction = "none"})(y, y_hat);
#pragma once
#include <concepts>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>
#include "keel/core/tensor.h"

namespace keel {

class Loss {
 public:
  /// `name` empty: the snake_case class name, made unique (keras auto_name). `reduction` is checked
  /// against the allowed ones (ValueError listing them).
  Loss(std::string class_name, std::string name, std::string reduction = "sum_over_batch_size");
  virtual ~Loss();

  /// Per-sample losses of shape y.shape[:-1]; no weighting, no reduction.
  virtual Tensor call(const Tensor& y_true, const Tensor& y_pred) const = 0;
  /// call(), then the rank alignment, sample weighting, masking and reduction of keras-reference §6.1.
  /// `y_pred_mask` is the prediction's Keras mask (true where it counts; undefined: none): masked elements
  /// are left out of the mean, together with the loss's own mask (ignore_class). Differentiable w.r.t. y_pred.
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor(),
                    const Tensor& y_pred_mask = Tensor()) const;

  const std::string& name() const { return name_; }
  const std::string& class_name() const { return class_name_; }
  const std::string& reduction() const { return reduction_; }
  /// {"name": ..., "reduction": ...} plus the options of the concrete loss.
  virtual nlohmann::json get_config() const;

  /// The reductions Keras accepts ("none" stands for None).
  static const std::vector<std::string>& allowed_reductions();

 protected:
  /// 1 for elements that count, 0 for masked ones (e.g. SCCE's ignore_class), shaped like call()'s
  /// result; undefined when nothing is masked.
  virtual Tensor mask(const Tensor& y_true, const Tensor& y_pred) const;

 private:
  std::string class_name_, name_, reduction_;
};

/// Keras's squeeze_or_expand_to_same_rank: when ranks differ by one and the bigger tensor ends in 1, it
/// is squeezed, unless the other has rank 1, which is then expanded.
std::pair<Tensor, Tensor> squeeze_or_expand_to_same_rank(const Tensor& x1, const Tensor& x2, bool expand_rank_1 = true);

/// Weighting and reduction of per-element losses `values` (keras reduce_weighted_values); `mask` (1 =
/// counts) may be undefined. Used by Loss::operator() and by the trainer for custom loss values.
Tensor reduce_weighted_values(const Tensor& values, const Tensor& sample_weight = Tensor(),
                              const Tensor& mask = Tensor(), const std::string& reduction = "sum_over_batch_size");

/// What compile(loss=...) accepts: a string, a Loss object by value (any class derived from Loss, copied
/// into a shared_ptr), or a shared_ptr<Loss>. Empty = none given.
class LossArg {
 public:
  LossArg() = default;
  LossArg(const char* identifier);  // NOLINT: implicit on purpose, as Keras accepts strings
  LossArg(std::string identifier);  // NOLINT
  template <class T>
  requires std::derived_from<T, Loss> LossArg(T loss) : loss_(std::make_shared<T>(std::move(loss))) {}  // NOLINT
  LossArg(std::shared_ptr<Loss> loss);                                                                  // NOLINT

  bool empty() const { return !loss_ && identifier_.empty(); }
  bool is_string() const { return !loss_ && !identifier_.empty(); }
  /// The string given; for an object, its name.
  const std::string& identifier() const;
  /// The loss object; strings go through losses::get (a new object each call).
  std::shared_ptr<Loss> resolve() const;

 private:
  std::string identifier_;
  std::shared_ptr<Loss> loss_;
};

}  // namespace keel
