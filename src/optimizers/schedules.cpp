// Learning-rate schedules: Keras's formulas from keras/src/optimizers/schedules/learning_rate_schedule.py,
// evaluated on the host in double precision (Keras evaluates them in float32).
#include "keel/optimizers/schedules.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <numbers>

#include "keel/core/error.h"

namespace keel {

LearningRateSchedule::~LearningRateSchedule() = default;

namespace optimizers::schedules {
namespace {

void check_required(double value, const char* schedule, const char* field) {
  KEEL_CHECK(!std::isnan(value), ValueError, schedule, ": argument `", field, "` is required");
}
void check_decay_steps(int64_t steps, const char* schedule, const char* field = "decay_steps") {
  KEEL_CHECK(steps > 0, ValueError, schedule, ": argument `", field, "` must be > 0. Received: ", field, "=", steps);
}
nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

}  // namespace

// --- ExponentialDecay ---

ExponentialDecay::ExponentialDecay(ExponentialDecayOptions options) : options_(std::move(options)) {
  check_required(options_.initial_learning_rate, "ExponentialDecay", "initial_learning_rate");
  check_required(options_.decay_rate, "ExponentialDecay", "decay_rate");
  check_decay_steps(options_.decay_steps, "ExponentialDecay");
}

double ExponentialDecay::operator()(double step) const {
  double p = step / static_cast<double>(options_.decay_steps);
  if (options_.staircase) p = std::floor(p);
  return options_.initial_learning_rate * std::pow(options_.decay_rate, p);
}

nlohmann::json ExponentialDecay::get_config() const {
  return {{"initial_learning_rate", options_.initial_learning_rate},
          {"decay_steps", options_.decay_steps},
          {"decay_rate", options_.decay_rate},
          {"staircase", options_.staircase},
          {"name", options_.name}};
}

// --- PiecewiseConstantDecay ---

PiecewiseConstantDecay::PiecewiseConstantDecay(PiecewiseConstantDecayOptions options) : options_(std::move(options)) {
  KEEL_CHECK(options_.boundaries.size() + 1 == options_.values.size(), ValueError,
             "PiecewiseConstantDecay: the length of boundaries should be 1 less than the length of values. "
             "Received: ",
             options_.boundaries.size(), " boundaries and ", options_.values.size(), " values");
  KEEL_CHECK(std::is_sorted(options_.boundaries.begin(), options_.boundaries.end()), ValueError,
             "PiecewiseConstantDecay: boundaries must be increasing");
}

double PiecewiseConstantDecay::operator()(double step) const {
  const auto& b = options_.boundaries;
  // The first boundary that is >= step selects the interval (b[i-1], b[i]].
  const auto it = std::lower_bound(b.begin(), b.end(), step);
  return options_.values[static_cast<size_t>(it - b.begin())];
}

nlohmann::json PiecewiseConstantDecay::get_config() const {
  return {{"boundaries", options_.boundaries}, {"values", options_.values}, {"name", options_.name}};
}

// --- PolynomialDecay ---

PolynomialDecay::PolynomialDecay(PolynomialDecayOptions options) : options_(std::move(options)) {
  check_required(options_.initial_learning_rate, "PolynomialDecay", "initial_learning_rate");
  check_decay_steps(options_.decay_steps, "PolynomialDecay");
}

double PolynomialDecay::operator()(double step) const {
  double decay_steps = static_cast<double>(options_.decay_steps);
  if (options_.cycle) {
    // The first multiple of decay_steps that is >= step; 1 at step 0.
    decay_steps *= step == 0 ? 1.0 : std::ceil(step / decay_steps);
  } else {
    step = std::min(step, decay_steps);
  }
  const double p = step / decay_steps;
  return (options_.initial_learning_rate - options_.end_learning_rate) * std::pow(1.0 - p, options_.power) +
         options_.end_learning_rate;
}

nlohmann::json PolynomialDecay::get_config() const {
  return {{"initial_learning_rate", options_.initial_learning_rate},
          {"decay_steps", options_.decay_steps},
          {"end_learning_rate", options_.end_learning_rate},
          {"power", options_.power},
          {"cycle", options_.cycle},
          {"name", options_.name}};
}

// --- InverseTimeDecay ---

InverseTimeDecay::InverseTimeDecay(InverseTimeDecayOptions options) : options_(std::move(options)) {
  check_required(options_.initial_learning_rate, "InverseTimeDecay", "initial_learning_rate");
  check_required(options_.decay_rate, "InverseTimeDecay", "decay_rate");
  check_decay_steps(options_.decay_steps, "InverseTimeDecay");
}

double InverseTimeDecay::operator()(double step) const {
  double p = step / static_cast<double>(options_.decay_steps);
  if (options_.staircase) p = std::floor(p);
  return options_.initial_learning_rate / (1.0 + options_.decay_rate * p);
}

nlohmann::json InverseTimeDecay::get_config() const {
  return {{"initial_learning_rate", options_.initial_learning_rate},
          {"decay_steps", options_.decay_steps},
          {"decay_rate", options_.decay_rate},
          {"staircase", options_.staircase},
          {"name", options_.name}};
}

// --- CosineDecay ---

CosineDecay::CosineDecay(CosineDecayOptions options) : options_(std::move(options)) {
  check_required(options_.initial_learning_rate, "CosineDecay", "initial_learning_rate");
  check_decay_steps(options_.decay_steps, "CosineDecay");
  KEEL_CHECK(options_.warmup_steps >= 0, ValueError,
             "CosineDecay: argument `warmup_steps` must be >= 0. Received: ", "warmup_steps=", options_.warmup_steps);
}

double CosineDecay::operator()(double step) const {
  const double decay_steps = static_cast<double>(options_.decay_steps);
  const auto cosine = [&](double s, double from_lr) {
    const double cosine_decayed = 0.5 * (1.0 + std::cos(std::numbers::pi * s / decay_steps));
    return from_lr * ((1.0 - options_.alpha) * cosine_decayed + options_.alpha);
  };
  if (!options_.warmup_target) return cosine(std::min(step, decay_steps), options_.initial_learning_rate);

  const double target = *options_.warmup_target;
  const double warmup_steps = static_cast<double>(options_.warmup_steps);
  step = std::min(step, decay_steps + warmup_steps);
  if (step < warmup_steps)
    return (target - options_.initial_learning_rate) * (step / warmup_steps) + options_.initial_learning_rate;
  return cosine(step - warmup_steps, target);
}

nlohmann::json CosineDecay::get_config() const {
  return {{"initial_learning_rate", options_.initial_learning_rate},
          {"decay_steps", options_.decay_steps},
          {"alpha", options_.alpha},
          {"name", options_.name},
          {"warmup_target", optional_json(options_.warmup_target)},
          {"warmup_steps", options_.warmup_steps}};
}

// --- CosineDecayRestarts ---

CosineDecayRestarts::CosineDecayRestarts(CosineDecayRestartsOptions options) : options_(std::move(options)) {
  check_required(options_.initial_learning_rate, "CosineDecayRestarts", "initial_learning_rate");
  check_decay_steps(options_.first_decay_steps, "CosineDecayRestarts", "first_decay_steps");
}

double CosineDecayRestarts::operator()(double step) const {
  const double t_mul = options_.t_mul;
  double fraction = step / static_cast<double>(options_.first_decay_steps);
  double i_restart;
  if (t_mul == 1.0) {
    i_restart = std::floor(fraction);
    fraction -= i_restart;
  } else {
    // Periods grow geometrically: period i covers the fractions [sum_{j<i} t^j, sum_{j<=i} t^j).
    i_restart = std::floor(std::log(1.0 - fraction * (1.0 - t_mul)) / std::log(t_mul));
    const double sum_r = (1.0 - std::pow(t_mul, i_restart)) / (1.0 - t_mul);
    fraction = (fraction - sum_r) / std::pow(t_mul, i_restart);
  }
  const double m_fac = std::pow(options_.m_mul, i_restart);
  const double cosine_decayed = 0.5 * m_fac * (1.0 + std::cos(std::numbers::pi * fraction));
  return options_.initial_learning_rate * ((1.0 - options_.alpha) * cosine_decayed + options_.alpha);
}

nlohmann::json CosineDecayRestarts::get_config() const {
  return {{"initial_learning_rate", options_.initial_learning_rate},
          {"first_decay_steps", options_.first_decay_steps},
          {"t_mul", options_.t_mul},
          {"m_mul", options_.m_mul},
          {"alpha", options_.alpha},
          {"name", options_.name}};
}

// --- (de)serialisation ---

nlohmann::json serialize(const LearningRateSchedule& schedule) {
  return {{"module", "keras.optimizers.schedules"},
          {"class_name", schedule.class_name()},
          {"config", schedule.get_config()},
          {"registered_name", nullptr}};
}

namespace {

double number(const nlohmann::json& c, const char* key) { return c.at(key).get<double>(); }
int64_t steps(const nlohmann::json& c, const char* key) {
  // Keras configs may hold these as floats (e.g. decay_steps=1.0).
  return static_cast<int64_t>(std::llround(c.at(key).get<double>()));
}
std::string name_or(const nlohmann::json& c, const char* fallback) {
  return c.contains("name") && c.at("name").is_string() ? c.at("name").get<std::string>() : fallback;
}

using Factory = std::function<std::shared_ptr<LearningRateSchedule>(const nlohmann::json&)>;
const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> table = {
      {"ExponentialDecay",
       [](const nlohmann::json& c) {
         return std::make_shared<ExponentialDecay>(ExponentialDecayOptions{
             number(c, "initial_learning_rate"), steps(c, "decay_steps"), number(c, "decay_rate"),
             c.value("staircase", false), name_or(c, "ExponentialDecay")});
       }},
      {"PiecewiseConstantDecay",
       [](const nlohmann::json& c) {
         return std::make_shared<PiecewiseConstantDecay>(
             PiecewiseConstantDecayOptions{c.at("boundaries").get<std::vector<double>>(),
                                           c.at("values").get<std::vector<double>>(), name_or(c, "PiecewiseConstant")});
       }},
      {"PolynomialDecay",
       [](const nlohmann::json& c) {
         return std::make_shared<PolynomialDecay>(PolynomialDecayOptions{
             number(c, "initial_learning_rate"), steps(c, "decay_steps"), c.value("end_learning_rate", 0.0001),
             c.value("power", 1.0), c.value("cycle", false), name_or(c, "PolynomialDecay")});
       }},
      {"InverseTimeDecay",
       [](const nlohmann::json& c) {
         return std::make_shared<InverseTimeDecay>(InverseTimeDecayOptions{
             number(c, "initial_learning_rate"), steps(c, "decay_steps"), number(c, "decay_rate"),
             c.value("staircase", false), name_or(c, "InverseTimeDecay")});
       }},
      {"CosineDecay",
       [](const nlohmann::json& c) {
         std::optional<double> target;
         if (c.contains("warmup_target") && !c.at("warmup_target").is_null()) target = number(c, "warmup_target");
         return std::make_shared<CosineDecay>(CosineDecayOptions{
             number(c, "initial_learning_rate"), steps(c, "decay_steps"), c.value("alpha", 0.0),
             name_or(c, "CosineDecay"), target, c.contains("warmup_steps") ? steps(c, "warmup_steps") : 0});
       }},
      {"CosineDecayRestarts",
       [](const nlohmann::json& c) {
         return std::make_shared<CosineDecayRestarts>(CosineDecayRestartsOptions{
             number(c, "initial_learning_rate"), steps(c, "first_decay_steps"), c.value("t_mul", 2.0),
             c.value("m_mul", 1.0), c.value("alpha", 0.0), name_or(c, "SGDRDecay")});
       }},
  };
  return table;
}

}  // namespace

std::shared_ptr<LearningRateSchedule> deserialize(const nlohmann::json& config) {
  KEEL_CHECK(config.is_object() && config.contains("class_name"), ValueError,
             "schedules::deserialize: expected {\"class_name\": ..., \"config\": {...}}, got ", config.dump());
  const std::string class_name = config.at("class_name").get<std::string>();
  const auto it = factories().find(class_name);
  if (it == factories().end()) {
    std::string valid;
    for (const auto& [name, _] : factories()) valid += (valid.empty() ? "" : ", ") + name;
    throw ValueError(keel::detail::cat("Could not interpret learning rate schedule class_name '", class_name,
                                       "'. Valid names: ", valid));
  }
  return it->second(config.value("config", nlohmann::json::object()));
}

}  // namespace optimizers::schedules
}  // namespace keel
