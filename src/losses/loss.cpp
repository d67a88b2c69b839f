// Loss base class: rank alignment, sample weighting, masking and reduction (keras/src/losses/loss.py).
#include "keel/losses/loss.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "keel/core/naming.h"
#include "keel/losses/losses.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/reduction.h"

namespace keel {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& item : items) s += (s.empty() ? "\"" : ", \"") + item + "\"";
  return s;
}

const std::string& checked_reduction(const std::string& reduction) {
  const auto& allowed = Loss::allowed_reductions();
  KEEL_CHECK(std::find(allowed.begin(), allowed.end(), reduction) != allowed.end(), ValueError,
             "Invalid value for argument `reduction`. Expected one of {", join(allowed), "}. Received: reduction=\"",
             reduction, "\"");
  return reduction;
}

Tensor as_f32(const Tensor& t) { return t.dtype() == DType::f32 ? t : t.astype(DType::f32); }

}  // namespace

const std::vector<std::string>& Loss::allowed_reductions() {
  static const std::vector<std::string> allowed = {"sum_over_batch_size", "sum", "none", "mean",
                                                   "mean_with_sample_weight"};
  return allowed;
}

Loss::Loss(std::string class_name, std::string name, std::string reduction)
    : class_name_(std::move(class_name)),
      name_(name.empty() ? naming::unique_name(naming::to_snake_case(class_name_)) : std::move(name)),
      reduction_(checked_reduction(reduction)) {}

Loss::~Loss() = default;

Tensor Loss::mask(const Tensor&, const Tensor&) const { return Tensor(); }

Tensor Loss::operator()(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
                        const Tensor& y_pred_mask) const {
  KEEL_CHECK(y_true.defined() && y_pred.defined(), ValueError, "Loss \"", name_,
             "\": y_true and y_pred must both be defined tensors");
  KEEL_CHECK(is_floating(y_pred.dtype()), DTypeError, "Loss \"", name_, "\": y_pred must be floating point, got ",
             dtype_name(y_pred.dtype()));
  const Tensor pred = as_f32(y_pred);
  Tensor values = call(y_true, pred);
  // Keras ANDs the prediction's mask with the loss's own (in_mask & out_mask).
  Tensor m = mask(y_true, pred);
  if (y_pred_mask.defined()) {
    const Tensor in = ops::cast(y_pred_mask.detach(), DType::f32);
    KEEL_CHECK(in.shape() == values.shape(), ShapeError, "Loss \"", name_, "\": the prediction's mask has shape ",
               shape_str(in.shape()), " but the per-element losses have shape ", shape_str(values.shape()),
               " (a mask covers the prediction's axes but its last)");
    m = m.defined() ? m * in : in;
  }
  return reduce_weighted_values(values, sample_weight, m, reduction_);
}

nlohmann::json Loss::get_config() const { return {{"name", name_}, {"reduction", reduction_}}; }

std::pair<Tensor, Tensor> squeeze_or_expand_to_same_rank(const Tensor& x1, const Tensor& x2, bool expand_rank_1) {
  Tensor a = x1, b = x2;
  const int64_t r1 = a.ndim(), r2 = b.ndim();
  if (r1 == r2) return {a, b};
  if (r1 == r2 + 1 && a.shape().back() == 1) {
    if (r2 == 1 && expand_rank_1)
      b = ops::expand_dims(b, -1);
    else
      a = ops::squeeze(a, {-1});
  }
  if (r2 == r1 + 1 && b.shape().back() == 1) {
    if (r1 == 1 && expand_rank_1)
      a = ops::expand_dims(a, -1);
    else
      b = ops::squeeze(b, {-1});
  }
  return {a, b};
}

Tensor reduce_weighted_values(const Tensor& values, const Tensor& sample_weight, const Tensor& mask,
                              const std::string& reduction) {
  checked_reduction(reduction);
  Tensor v = as_f32(values);
  Tensor w = sample_weight.defined() ? as_f32(sample_weight) : Tensor();
  if (mask.defined()) {
    // Valid entries get weight total/valid and masked ones 0, so means run over valid entries only.
    Tensor m = as_f32(mask).detach();
    if (reduction == "mean" || reduction == "sum_over_batch_size") {
      // Keras's total / (valid + epsilon), kept on the device (no host read, so compiled steps replay it).
      m = m * (static_cast<double>(m.numel()) / (ops::sum(m) + 1e-7));
    }
    if (w.defined()) {
      auto [mm, ww] = squeeze_or_expand_to_same_rank(m, w);
      w = ww * mm;
    } else {
      w = m;
    }
  }
  if (w.defined()) {
    auto [vv, ww] = squeeze_or_expand_to_same_rank(v, w);
    v = vv * ww;
    w = ww;
  }
  if (reduction == "none" || v.ndim() == 0 || (v.ndim() == 1 && v.shape()[0] == 0)) return v;
  Tensor loss = ops::sum(v);
  if (reduction == "sum") return loss;
  if (reduction == "mean_with_sample_weight" && w.defined()) {
    const double total_weight = ops::sum(w).item<double>();  // divide_no_nan
    return total_weight == 0.0 ? loss * 0.0 : loss / total_weight;
  }
  return v.numel() > 0 ? loss / static_cast<double>(v.numel()) : loss * 0.0;
}

// --- LossArg ---

LossArg::LossArg(const char* identifier) : identifier_(identifier ? identifier : "") {}
LossArg::LossArg(std::string identifier) : identifier_(std::move(identifier)) {}
LossArg::LossArg(std::shared_ptr<Loss> loss) : loss_(std::move(loss)) {}

const std::string& LossArg::identifier() const { return loss_ ? loss_->name() : identifier_; }

std::shared_ptr<Loss> LossArg::resolve() const {
  if (loss_) return loss_;
  KEEL_CHECK(!identifier_.empty(), ValueError, "LossArg::resolve: no loss was given");
  return losses::get(identifier_);
}

}  // namespace keel
