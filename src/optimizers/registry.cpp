// Optimizers by name: optimizers::get("adam") (compile's strings), (de)serialisation of optimizer configs,
// and OptimizerArg, which resolves either.
#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "keel/optimizers/optimizers.h"
#include "optimizers/optimizer_util.h"

namespace keel::optimizers {
namespace {

// Fills the fields every options aggregate shares from a Keras config; absent keys keep the defaults.
template <class Options>
Options options_from(const nlohmann::json& c) {
  Options o;
  if (c.contains("learning_rate")) {
    const auto& lr = c.at("learning_rate");
    if (lr.is_object()) {
      o.learning_rate = schedules::deserialize(lr);
    } else {
      o.learning_rate = lr.get<double>();
    }
  }
  const auto optional_double = [&](const char* key, std::optional<double>& field) {
    if (c.contains(key)) field = c.at(key).is_null() ? std::nullopt : std::optional<double>(c.at(key).get<double>());
  };
  optional_double("weight_decay", o.weight_decay);
  optional_double("clipnorm", o.clipnorm);
  optional_double("clipvalue", o.clipvalue);
  optional_double("global_clipnorm", o.global_clipnorm);
  o.use_ema = c.value("use_ema", o.use_ema);
  o.ema_momentum = c.value("ema_momentum", o.ema_momentum);
  if (c.contains("ema_overwrite_frequency") && !c.at("ema_overwrite_frequency").is_null())
    o.ema_overwrite_frequency = c.at("ema_overwrite_frequency").get<int64_t>();
  if (c.contains("name") && c.at("name").is_string()) o.name = c.at("name").get<std::string>();
  for (const char* key : {"loss_scale_factor", "gradient_accumulation_steps"})
    KEEL_CHECK(!c.contains(key) || c.at(key).is_null(), UnimplementedError, "optimizer config: `", key,
               "` is not supported by Keel (got ", c.at(key).dump(), ")");
  return o;
}

template <class Options>
void read_adam_like(const nlohmann::json& c, Options& o) {
  o.beta_1 = c.value("beta_1", o.beta_1);
  o.beta_2 = c.value("beta_2", o.beta_2);
  o.epsilon = c.value("epsilon", o.epsilon);
}

using Factory = std::function<std::shared_ptr<Optimizer>(const nlohmann::json&)>;

// Keyed by the lower-cased class name, which is also the compile() identifier.
const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> table = {
      {"sgd",
       [](const nlohmann::json& c) {
         auto o = options_from<SGDOptions>(c);
         o.momentum = c.value("momentum", o.momentum);
         o.nesterov = c.value("nesterov", o.nesterov);
         return std::make_shared<SGD>(std::move(o));
       }},
      {"adam",
       [](const nlohmann::json& c) {
         auto o = options_from<AdamOptions>(c);
         read_adam_like(c, o);
         o.amsgrad = c.value("amsgrad", o.amsgrad);
         return std::make_shared<Adam>(std::move(o));
       }},
      {"adamw",
       [](const nlohmann::json& c) {
         auto o = options_from<AdamWOptions>(c);
         read_adam_like(c, o);
         o.amsgrad = c.value("amsgrad", o.amsgrad);
         return std::make_shared<AdamW>(std::move(o));
       }},
      {"rmsprop",
       [](const nlohmann::json& c) {
         auto o = options_from<RMSpropOptions>(c);
         o.rho = c.value("rho", o.rho);
         o.momentum = c.value("momentum", o.momentum);
         o.epsilon = c.value("epsilon", o.epsilon);
         o.centered = c.value("centered", o.centered);
         return std::make_shared<RMSprop>(std::move(o));
       }},
      {"adagrad",
       [](const nlohmann::json& c) {
         auto o = options_from<AdagradOptions>(c);
         o.initial_accumulator_value = c.value("initial_accumulator_value", o.initial_accumulator_value);
         o.epsilon = c.value("epsilon", o.epsilon);
         return std::make_shared<Adagrad>(std::move(o));
       }},
      {"adadelta",
       [](const nlohmann::json& c) {
         auto o = options_from<AdadeltaOptions>(c);
         o.rho = c.value("rho", o.rho);
         o.epsilon = c.value("epsilon", o.epsilon);
         return std::make_shared<Adadelta>(std::move(o));
       }},
      {"lion",
       [](const nlohmann::json& c) {
         auto o = options_from<LionOptions>(c);
         o.beta_1 = c.value("beta_1", o.beta_1);
         o.beta_2 = c.value("beta_2", o.beta_2);
         return std::make_shared<Lion>(std::move(o));
       }},
      {"adamax",
       [](const nlohmann::json& c) {
         auto o = options_from<AdamaxOptions>(c);
         read_adam_like(c, o);
         return std::make_shared<Adamax>(std::move(o));
       }},
      {"nadam",
       [](const nlohmann::json& c) {
         auto o = options_from<NadamOptions>(c);
         read_adam_like(c, o);
         return std::make_shared<Nadam>(std::move(o));
       }},
  };
  return table;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

const Factory& factory_for(const std::string& identifier) {
  const auto it = factories().find(lower(identifier));
  if (it == factories().end()) {
    std::string valid;
    for (const auto& [name, _] : factories()) valid += (valid.empty() ? "'" : ", '") + name + "'";
    throw ValueError(
        keel::detail::cat("Could not interpret optimizer identifier: '", identifier, "'. Valid names: ", valid));
  }
  return it->second;
}

}  // namespace

std::shared_ptr<Optimizer> get(const std::string& identifier) {
  return factory_for(identifier)(nlohmann::json::object());
}

std::shared_ptr<Optimizer> deserialize(const nlohmann::json& config) {
  KEEL_CHECK(config.is_object() && config.contains("class_name") && config.at("class_name").is_string(), ValueError,
             "optimizers::deserialize: expected {\"class_name\": ..., \"config\": {...}}, got ", config.dump());
  const nlohmann::json& c = config.contains("config") ? config.at("config") : config;
  return factory_for(config.at("class_name").get<std::string>())(c);
}

nlohmann::json serialize(const Optimizer& optimizer) {
  return {{"module", "keras.optimizers"},
          {"class_name", optimizer.class_name()},
          {"config", optimizer.get_config()},
          {"registered_name", nullptr}};
}

}  // namespace keel::optimizers

namespace keel {

OptimizerArg::OptimizerArg(const char* identifier) : identifier_(identifier ? identifier : "") {
  KEEL_CHECK(identifier != nullptr, ValueError, "OptimizerArg: the optimizer identifier is null");
}
OptimizerArg::OptimizerArg(std::string identifier) : identifier_(std::move(identifier)) {}
OptimizerArg::OptimizerArg(std::shared_ptr<Optimizer> optimizer) : optimizer_(std::move(optimizer)) {
  KEEL_CHECK(optimizer_ != nullptr, ValueError, "OptimizerArg: the optimizer is null");
}

std::shared_ptr<Optimizer> OptimizerArg::resolve() const {
  return optimizer_ ? optimizer_ : optimizers::get(identifier_);
}

}  // namespace keel
