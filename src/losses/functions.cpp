// Per-sample loss functions (keras/src/losses/losses.py), written with keel::ops so that autograd gives
// their gradients w.r.t. y_pred. Probabilities are clipped to [ε, 1−ε] with ε = 1e-7 (keras-reference §6.3).
#include <cmath>
#include <optional>
#include <vector>

#include "core/tensor_internals.h"
#include "keel/losses/losses.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "keel/ops/reduction.h"

namespace keel::losses {

namespace {

constexpr double kEpsilon = 1e-7;

Tensor as_f32(const Tensor& t) { return t.dtype() == DType::f32 ? t : t.astype(DType::f32); }

// Labels cast to float32 and predictions checked, then aligned as Keras does before every loss function.
std::pair<Tensor, Tensor> prepare(const char* fn, const Tensor& y_true, const Tensor& y_pred) {
  KEEL_CHECK(y_true.defined() && y_pred.defined(), ValueError, fn, ": y_true and y_pred must be defined tensors");
  KEEL_CHECK(is_floating(y_pred.dtype()), DTypeError, fn, ": y_pred must be floating point, got ",
             dtype_name(y_pred.dtype()));
  auto [t, p] = squeeze_or_expand_to_same_rank(as_f32(y_true).detach(), as_f32(y_pred));
  return {t, p};
}

void check_same_shape(const char* fn, const Tensor& y_true, const Tensor& y_pred) {
  KEEL_CHECK(y_true.shape() == y_pred.shape(), ShapeError, fn, ": y_true and y_pred must have the same shape, got ",
             "y_true ", shape_str(y_true.shape()), " and y_pred ", shape_str(y_pred.shape()));
}

Tensor mean_last(const Tensor& x) { return ops::mean(x, {-1}); }

// Keras maps labels that are all 0 or 1 to -1/1 for the hinge losses.
Tensor hinge_labels(const Tensor& y_true) {
  for (float v : y_true.to_vector<float>())
    if (v != 0.0f && v != 1.0f) return y_true;
  return y_true * 2.0 - 1.0;
}

// sqrt(max(Σx², 1e-14))^-1 · x along axis.
Tensor l2_normalize(const Tensor& x, int64_t axis) {
  Tensor square_sum = ops::sum(ops::square(x), {axis}, true);
  return x * ops::rsqrt(ops::maximum(square_sum, scalar_tensor(1e-14)));
}

Tensor smooth_binary(const Tensor& y, double label_smoothing) {
  return label_smoothing != 0.0 ? y * (1.0 - label_smoothing) + 0.5 * label_smoothing : y;
}

Tensor smooth_categorical(const Tensor& y, double label_smoothing, int64_t axis) {
  if (label_smoothing == 0.0) return y;
  const double num_classes = static_cast<double>(y.dim(axis));
  return y * (1.0 - label_smoothing) + label_smoothing / num_classes;
}

// Elementwise binary cross-entropy of probabilities (clipped) or logits.
Tensor elementwise_bce(const Tensor& y, const Tensor& p, bool from_logits) {
  if (from_logits) return ops::sigmoid_cross_entropy_with_logits(y, p);
  Tensor pc = ops::clip(p, kEpsilon, 1.0 - kEpsilon);
  return -(y * ops::log(pc) + (1.0 - y) * ops::log(1.0 - pc));
}

// Moves `axis` to the end (a no-op for the last axis).
Tensor axis_last(const Tensor& x, int64_t axis) {
  const int64_t a = normalize_axis(axis, x.ndim(), "sparse_categorical_crossentropy");
  if (a == x.ndim() - 1) return x;
  std::vector<int64_t> perm;
  for (int64_t i = 0; i < x.ndim(); ++i)
    if (i != a) perm.push_back(i);
  perm.push_back(a);
  return ops::transpose(x, perm);
}

}  // namespace

Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred) {
  auto [t, p] = prepare("mean_squared_error", y_true, y_pred);
  return mean_last(ops::square(p - t));
}

Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred) {
  auto [t, p] = prepare("mean_absolute_error", y_true, y_pred);
  return mean_last(ops::abs(p - t));
}

Tensor mean_absolute_percentage_error(const Tensor& y_true, const Tensor& y_pred) {
  auto [t, p] = prepare("mean_absolute_percentage_error", y_true, y_pred);
  Tensor diff = ops::abs((t - p) / ops::maximum(ops::abs(t), scalar_tensor(kEpsilon)));
  return mean_last(diff) * 100.0;
}

Tensor mean_squared_logarithmic_error(const Tensor& y_true, const Tensor& y_pred) {
  auto [t, p] = prepare("mean_squared_logarithmic_error", y_true, y_pred);
  Tensor eps = scalar_tensor(kEpsilon);
  Tensor first = ops::log(ops::maximum(p, eps) + 1.0);
  Tensor second = ops::log(ops::maximum(t, eps) + 1.0);
  return mean_last(ops::square(first - second));
}

Tensor huber(const Tensor& y_true, const Tensor& y_pred, double delta) {
  auto [t, p] = prepare("huber", y_true, y_pred);
  Tensor error = p - t;
  Tensor abs_error = ops::abs(error);
  Tensor quadratic = ops::square(error) * 0.5;
  Tensor linear = abs_error * delta - 0.5 * delta * delta;
  return mean_last(ops::where(abs_error <= delta, quadratic, linear));
}

Tensor log_cosh(const Tensor& y_true, const Tensor& y_pred) {
  auto [t, p] = prepare("log_cosh", y_true, y_pred);
  Tensor x = p - t;
  return mean_last(x + ops::softplus(x * -2.0) - std::log(2.0));
}

Tensor hinge(const Tensor& y_true, const Tensor& y_pred) {
  auto [t, p] = prepare("hinge", y_true, y_pred);
  return mean_last(ops::relu(1.0 - hinge_labels(t) * p));
}

Tensor squared_hinge(const Tensor& y_true, const Tensor& y_pred) {
  auto [t, p] = prepare("squared_hinge", y_true, y_pred);
  return mean_last(ops::square(ops::relu(1.0 - hinge_labels(t) * p)));
}

Tensor categorical_hinge(const Tensor& y_true, const Tensor& y_pred) {
  auto [t, p] = prepare("categorical_hinge", y_true, y_pred);
  Tensor pos = ops::sum(t * p, {-1});
  Tensor neg = ops::max((1.0 - t) * p, {-1});
  return ops::relu(neg - pos + 1.0);
}

Tensor kl_divergence(const Tensor& y_true, const Tensor& y_pred) {
  auto [t, p] = prepare("kl_divergence", y_true, y_pred);
  Tensor tc = ops::clip(t, kEpsilon, 1.0);
  Tensor pc = ops::clip(p, kEpsilon, 1.0);
  return ops::sum(tc * ops::log(tc / pc), {-1});
}

Tensor poisson(const Tensor& y_true, const Tensor& y_pred) {
  auto [t, p] = prepare("poisson", y_true, y_pred);
  return mean_last(p - t * ops::log(p + kEpsilon));
}

Tensor cosine_similarity(const Tensor& y_true, const Tensor& y_pred, int64_t axis) {
  auto [t, p] = prepare("cosine_similarity", y_true, y_pred);
  return -ops::sum(l2_normalize(t, axis) * l2_normalize(p, axis), {axis});
}

Tensor binary_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits, double label_smoothing,
                           int64_t axis) {
  auto [t, p] = prepare("binary_crossentropy", y_true, y_pred);
  check_same_shape("binary_crossentropy", t, p);
  return ops::mean(elementwise_bce(smooth_binary(t, label_smoothing), p, from_logits), {axis});
}

Tensor categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits, double label_smoothing,
                                int64_t axis) {
  auto [t, p] = prepare("categorical_crossentropy", y_true, y_pred);
  check_same_shape("categorical_crossentropy", t, p);
  t = smooth_categorical(t, label_smoothing, axis);
  if (from_logits) return ops::softmax_cross_entropy_with_logits(t, p, axis);
  Tensor normalized = p / ops::sum(p, {axis}, true);
  return -ops::sum(t * ops::log(ops::clip(normalized, kEpsilon, 1.0 - kEpsilon)), {axis});
}

Tensor sparse_categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits, int64_t axis) {
  return sparse_categorical_crossentropy(y_true, y_pred, from_logits, std::nullopt, axis);
}

Tensor sparse_categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits,
                                       std::optional<int64_t> ignore_class, int64_t axis) {
  constexpr const char* kFn = "sparse_categorical_crossentropy";
  KEEL_CHECK(y_true.defined() && y_pred.defined(), ValueError, kFn, ": y_true and y_pred must be defined tensors");
  KEEL_CHECK(is_floating(y_pred.dtype()), DTypeError, kFn, ": y_pred must be floating point, got ",
             dtype_name(y_pred.dtype()));
  KEEL_CHECK(y_pred.ndim() >= 1, ShapeError, kFn, ": y_pred must have a class axis, got shape ",
             shape_str(y_pred.shape()));
  Tensor logits_or_probs = axis_last(as_f32(y_pred), axis);
  Tensor labels = y_true.detach();
  if (labels.ndim() == logits_or_probs.ndim() && labels.ndim() > 0 && labels.shape().back() == 1)
    labels = ops::squeeze(labels, {-1});
  const Shape batch(logits_or_probs.shape().begin(), logits_or_probs.shape().end() - 1);
  KEEL_CHECK(labels.shape() == batch, ShapeError, kFn, ": y_true must have shape ", shape_str(batch), " (or ",
             shape_str(batch), " + (1,)) for y_pred of shape ", shape_str(y_pred.shape()), ", got ",
             shape_str(y_true.shape()));
  if (!is_integral(labels.dtype())) labels = labels.astype(DType::i64);

  // Labels are checked here, on the host, so a bad one is reported with the loss's name, not as a
  // kernel failure. Without ignore_class the read only checks (a compiled train step skips it and the
  // kernel's own check reports a bad label).
  const int64_t num_classes = logits_or_probs.shape().back();
  std::vector<int64_t> host;
  {
    std::optional<detail::ValidationReadScope> only_checks;
    if (!ignore_class) only_checks.emplace();
    host = labels.to_vector<int64_t>();
  }
  bool any_ignored = false;
  for (int64_t& label : host) {
    if (ignore_class && label == *ignore_class) {
      label = 0;  // any valid class: its loss is masked out below
      any_ignored = true;
      continue;
    }
    KEEL_CHECK(label >= 0 && label < num_classes, ValueError, kFn, ": received a label value of ", label,
               " which is outside the valid range of [0, ", num_classes, ") (y_pred has ", num_classes, " classes)");
  }
  if (any_ignored) labels = from_vector(host, labels.shape(), labels.device());

  Tensor logits = from_logits ? logits_or_probs : ops::log(ops::clip(logits_or_probs, kEpsilon, 1.0 - kEpsilon));
  Tensor loss = ops::sparse_softmax_cross_entropy_with_logits(labels, logits);
  if (ignore_class) {
    Tensor valid = ops::not_equal(y_true.detach().reshape(loss.shape()), scalar_tensor(double(*ignore_class)));
    loss = ops::where(valid, loss, zeros({}, loss.dtype(), loss.device()));
  }
  return loss;
}

Tensor binary_focal_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool apply_class_balancing, double alpha,
                                 double gamma, bool from_logits, double label_smoothing, int64_t axis) {
  auto [t, p] = prepare("binary_focal_crossentropy", y_true, y_pred);
  check_same_shape("binary_focal_crossentropy", t, p);
  t = smooth_binary(t, label_smoothing);
  Tensor probs = from_logits ? ops::sigmoid(p) : p;
  Tensor bce = elementwise_bce(t, probs, false);
  Tensor p_t = t * probs + (1.0 - t) * (1.0 - probs);
  Tensor focal = ops::pow(1.0 - p_t, gamma) * bce;
  if (apply_class_balancing) focal = (t * alpha + (1.0 - t) * (1.0 - alpha)) * focal;
  return ops::mean(focal, {axis});
}

Tensor categorical_focal_crossentropy(const Tensor& y_true, const Tensor& y_pred, double alpha, double gamma,
                                      bool from_logits, double label_smoothing, int64_t axis) {
  auto [t, p] = prepare("categorical_focal_crossentropy", y_true, y_pred);
  check_same_shape("categorical_focal_crossentropy", t, p);
  t = smooth_categorical(t, label_smoothing, axis);
  Tensor probs = from_logits ? ops::softmax(p, axis) : p;
  Tensor output = ops::clip(probs / ops::sum(probs, {axis}, true), kEpsilon, 1.0 - kEpsilon);
  Tensor cce = -t * ops::log(output);
  return ops::sum(ops::pow(1.0 - output, gamma) * alpha * cce, {axis});
}

}  // namespace keel::losses
