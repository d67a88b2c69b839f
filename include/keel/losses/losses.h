// Keras's losses (keras-reference §6): per-sample functions and the Loss classes around them.
// Option structs list Keras's keyword arguments in order, each ending with reduction and name (an empty
// name means the Keras default name of that loss, e.g. "binary_crossentropy").
//   model.compile({.loss = losses::SparseCategoricalCrossentropy({.from_logits = true})});
//   Tensor l = losses::categorical_crossentropy(y, p);   // shape (B,): one value per sample
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include "keel/losses/loss.h"

namespace keel::losses {

// --- per-sample functions (no weighting, no reduction; they reduce the last axis) ---
// Labels of any numeric dtype are cast to float32; predictions must be floating point.

Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred);
Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred);
Tensor mean_absolute_percentage_error(const Tensor& y_true, const Tensor& y_pred);
Tensor mean_squared_logarithmic_error(const Tensor& y_true, const Tensor& y_pred);
Tensor huber(const Tensor& y_true, const Tensor& y_pred, double delta = 1.0);
Tensor log_cosh(const Tensor& y_true, const Tensor& y_pred);
/// Labels in {0, 1} (checked over the whole tensor) are mapped to {-1, 1}; others are used as given.
Tensor hinge(const Tensor& y_true, const Tensor& y_pred);
Tensor squared_hinge(const Tensor& y_true, const Tensor& y_pred);
Tensor categorical_hinge(const Tensor& y_true, const Tensor& y_pred);
Tensor kl_divergence(const Tensor& y_true, const Tensor& y_pred);
Tensor poisson(const Tensor& y_true, const Tensor& y_pred);
/// −Σ(ŷ/‖ŷ‖ · y/‖y‖) along `axis` (the loss; the metric of the same name has the opposite sign).
Tensor cosine_similarity(const Tensor& y_true, const Tensor& y_pred, int64_t axis = -1);
Tensor binary_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false,
                           double label_smoothing = 0.0, int64_t axis = -1);
Tensor categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false,
                                double label_smoothing = 0.0, int64_t axis = -1);
/// Integer labels (any integer dtype; float labels are truncated), shape y_pred.shape without `axis`, or
/// with a trailing 1. A label outside [0, C) is a ValueError naming the label and C.
Tensor sparse_categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false,
                                       int64_t axis = -1);
/// As above; entries labelled `ignore_class` get loss 0 (Loss::operator() also drops them from means).
Tensor sparse_categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits,
                                       std::optional<int64_t> ignore_class, int64_t axis);
Tensor binary_focal_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool apply_class_balancing = false,
                                 double alpha = 0.25, double gamma = 2.0, bool from_logits = false,
                                 double label_smoothing = 0.0, int64_t axis = -1);
Tensor categorical_focal_crossentropy(const Tensor& y_true, const Tensor& y_pred, double alpha = 0.25,
                                      double gamma = 2.0, bool from_logits = false, double label_smoothing = 0.0,
                                      int64_t axis = -1);

// --- option structs ---

struct LossOptions {
  std::string reduction = "sum_over_batch_size";
  std::string name = "";
};
struct HuberOptions {
  double delta = 1.0;
  std::string reduction = "sum_over_batch_size";
  std::string name = "";
};
struct CosineSimilarityOptions {
  int64_t axis = -1;
  std::string reduction = "sum_over_batch_size";
  std::string name = "";
};
/// BinaryCrossentropy and CategoricalCrossentropy.
struct CrossentropyOptions {
  bool from_logits = false;
  double label_smoothing = 0.0;
  int64_t axis = -1;
  std::string reduction = "sum_over_batch_size";
  std::string name = "";
};
struct SparseCrossentropyOptions {
  bool from_logits = false;
  std::optional<int64_t> ignore_class = std::nullopt;
  int64_t axis = -1;
  std::string reduction = "sum_over_batch_size";
  std::string name = "";
};
struct BinaryFocalCrossentropyOptions {
  bool apply_class_balancing = false;
  double alpha = 0.25;
  double gamma = 2.0;
  bool from_logits = false;
  double label_smoothing = 0.0;
  int64_t axis = -1;
  std::string reduction = "sum_over_batch_size";
  std::string name = "";
};
struct CategoricalFocalCrossentropyOptions {
  double alpha = 0.25;
  double gamma = 2.0;
  bool from_logits = false;
  double label_smoothing = 0.0;
  int64_t axis = -1;
  std::string reduction = "sum_over_batch_size";
  std::string name = "";
};

// --- classes ---

// Losses whose only options are reduction and name.
class MeanSquaredError : public Loss {
 public:
  explicit MeanSquaredError(LossOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};
class MeanAbsoluteError : public Loss {
 public:
  explicit MeanAbsoluteError(LossOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};
class MeanAbsolutePercentageError : public Loss {
 public:
  explicit MeanAbsolutePercentageError(LossOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};
class MeanSquaredLogarithmicError : public Loss {
 public:
  explicit MeanSquaredLogarithmicError(LossOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};
class LogCosh : public Loss {
 public:
  explicit LogCosh(LossOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};
class Hinge : public Loss {
 public:
  explicit Hinge(LossOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};
class SquaredHinge : public Loss {
 public:
  explicit SquaredHinge(LossOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};
class CategoricalHinge : public Loss {
 public:
  explicit CategoricalHinge(LossOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};
class KLDivergence : public Loss {
 public:
  explicit KLDivergence(LossOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};
class Poisson : public Loss {
 public:
  explicit Poisson(LossOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};

class Huber : public Loss {
 public:
  explicit Huber(HuberOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  nlohmann::json get_config() const override;
  const HuberOptions& options() const { return options_; }

 private:
  HuberOptions options_;
};

class CosineSimilarity : public Loss {
 public:
  explicit CosineSimilarity(CosineSimilarityOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  nlohmann::json get_config() const override;
  const CosineSimilarityOptions& options() const { return options_; }

 private:
  CosineSimilarityOptions options_;
};

class BinaryCrossentropy : public Loss {
 public:
  explicit BinaryCrossentropy(CrossentropyOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  nlohmann::json get_config() const override;
  const CrossentropyOptions& options() const { return options_; }

 private:
  CrossentropyOptions options_;
};

class CategoricalCrossentropy : public Loss {
 public:
  explicit CategoricalCrossentropy(CrossentropyOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  nlohmann::json get_config() const override;
  const CrossentropyOptions& options() const { return options_; }

 private:
  CrossentropyOptions options_;
};

class SparseCategoricalCrossentropy : public Loss {
 public:
  explicit SparseCategoricalCrossentropy(SparseCrossentropyOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  nlohmann::json get_config() const override;
  const SparseCrossentropyOptions& options() const { return options_; }

 protected:
  Tensor mask(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  SparseCrossentropyOptions options_;
};

class BinaryFocalCrossentropy : public Loss {
 public:
  explicit BinaryFocalCrossentropy(BinaryFocalCrossentropyOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  nlohmann::json get_config() const override;
  const BinaryFocalCrossentropyOptions& options() const { return options_; }

 private:
  BinaryFocalCrossentropyOptions options_;
};

class CategoricalFocalCrossentropy : public Loss {
 public:
  explicit CategoricalFocalCrossentropy(CategoricalFocalCrossentropyOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  nlohmann::json get_config() const override;
  const CategoricalFocalCrossentropyOptions& options() const { return options_; }

 private:
  CategoricalFocalCrossentropyOptions options_;
};

/// Exact Keras identifiers: class names ("BinaryCrossentropy"), function names ("binary_crossentropy")
/// and the aliases bce, kld, mae, mse, mape, msle (and upper case). A function name gives the loss named
/// after the string ("mse" is called mse). Unknown: ValueError listing the valid identifiers.
std::shared_ptr<Loss> get(const std::string& identifier);
/// Every identifier get() accepts, sorted.
std::vector<std::string> identifiers();

/// keras.losses.deserialize for Keel's classes: the loss `class_name` ("BinaryCrossentropy") built from the
/// config Keras writes for it (missing or null keys take Keras's defaults; reduction null is "none");
/// nullptr when Keel has no class of that name. Keys the class does not take are not looked at: a caller
/// that must refuse them compares get_config() with `config`, as load_model does.
std::shared_ptr<Loss> from_config(const std::string& class_name, const nlohmann::json& config);
/// The class names from_config() knows, sorted.
std::vector<std::string> config_class_names();

}  // namespace keel::losses
