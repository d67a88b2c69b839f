#include "keel/initializers/initializers.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/random.h"

namespace keel {

using nlohmann::json;

namespace {

json seed_json(const std::optional<uint64_t>& seed) { return seed ? json(*seed) : json(nullptr); }

std::optional<uint64_t> seed_from(const json& config) {
  if (!config.contains("seed") || config.at("seed").is_null()) return std::nullopt;
  return config.at("seed").get<uint64_t>();
}

// Keras builds constant tensors in the requested dtype; the host math here is float, so convert last.
Tensor host_floats_to(const std::vector<float>& values, const Shape& shape, DType dtype) {
  Tensor t = from_vector(values, shape);
  return dtype == DType::f32 ? t : t.astype(dtype);
}

// Reduced QR of a row-major m×n matrix (m >= n) by Householder reflections.
// Returns Q (m×n, row-major) and the diagonal of R.
std::pair<std::vector<double>, std::vector<double>> householder_qr(std::vector<double> a, int64_t m, int64_t n) {
  std::vector<std::vector<double>> reflectors(n);
  std::vector<double> r_diag(n, 0.0);
  for (int64_t k = 0; k < n; ++k) {
    double norm = 0.0;
    for (int64_t i = k; i < m; ++i) norm += a[i * n + k] * a[i * n + k];
    norm = std::sqrt(norm);
    if (norm == 0.0) continue;  // a zero column: nothing to reflect, R's diagonal entry is 0
    // Reflect onto -sign(x0)·|x|·e0 so that v never suffers cancellation.
    const double alpha = a[k * n + k] > 0 ? -norm : norm;
    std::vector<double> v(m - k);
    for (int64_t i = k; i < m; ++i) v[i - k] = a[i * n + k];
    v[0] -= alpha;
    double vnorm = 0.0;
    for (double x : v) vnorm += x * x;
    vnorm = std::sqrt(vnorm);
    for (double& x : v) x /= vnorm;
    for (int64_t j = k; j < n; ++j) {
      double dot = 0.0;
      for (int64_t i = k; i < m; ++i) dot += v[i - k] * a[i * n + j];
      for (int64_t i = k; i < m; ++i) a[i * n + j] -= 2.0 * v[i - k] * dot;
    }
    r_diag[k] = a[k * n + k];
    reflectors[k] = std::move(v);
  }
  // Q = H_0 H_1 ... H_{n-1} applied to the first n columns of the identity.
  std::vector<double> q(m * n, 0.0);
  for (int64_t i = 0; i < n; ++i) q[i * n + i] = 1.0;
  for (int64_t k = n - 1; k >= 0; --k) {
    const auto& v = reflectors[k];
    if (v.empty()) continue;
    for (int64_t j = 0; j < n; ++j) {
      double dot = 0.0;
      for (int64_t i = k; i < m; ++i) dot += v[i - k] * q[i * n + j];
      for (int64_t i = k; i < m; ++i) q[i * n + j] -= 2.0 * v[i - k] * dot;
    }
  }
  return {std::move(q), std::move(r_diag)};
}

double sign_of(double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }

// --- builders from a Keras config dict (also behind the public factories) ---

using Factory = Initializer (*)(const json& config);

Initializer zeros_from(const json&) { return initializers::Zeros(); }
Initializer ones_from(const json&) { return initializers::Ones(); }
Initializer constant_from(const json& c) { return initializers::Constant(c.value("value", 0.0)); }
Initializer identity_from(const json& c) { return initializers::Identity(c.value("gain", 1.0)); }
Initializer random_normal_from(const json& c) {
  return initializers::RandomNormal(
      {.mean = c.value("mean", 0.0), .stddev = c.value("stddev", 0.05), .seed = seed_from(c)});
}
Initializer truncated_normal_from(const json& c) {
  return initializers::TruncatedNormal(
      {.mean = c.value("mean", 0.0), .stddev = c.value("stddev", 0.05), .seed = seed_from(c)});
}
Initializer random_uniform_from(const json& c) {
  return initializers::RandomUniform(
      {.minval = c.value("minval", -0.05), .maxval = c.value("maxval", 0.05), .seed = seed_from(c)});
}
Initializer variance_scaling_from(const json& c) {
  return initializers::VarianceScaling({.scale = c.value("scale", 1.0),
                                        .mode = c.value("mode", std::string("fan_in")),
                                        .distribution = c.value("distribution", std::string("truncated_normal")),
                                        .seed = seed_from(c)});
}
Initializer orthogonal_from(const json& c) {
  return initializers::Orthogonal({.gain = c.value("gain", 1.0), .seed = seed_from(c)});
}
template <Initializer (*F)(initializers::SeedOptions)>
Initializer seeded_from(const json& c) {
  return F({.seed = seed_from(c)});
}

// Serialised class name → builder.
const std::map<std::string, Factory>& class_factories() {
  static const std::map<std::string, Factory> factories = {
      {"Zeros", zeros_from},
      {"Ones", ones_from},
      {"Constant", constant_from},
      {"Identity", identity_from},
      {"RandomNormal", random_normal_from},
      {"RandomUniform", random_uniform_from},
      {"TruncatedNormal", truncated_normal_from},
      {"VarianceScaling", variance_scaling_from},
      {"GlorotUniform", seeded_from<initializers::GlorotUniform>},
      {"GlorotNormal", seeded_from<initializers::GlorotNormal>},
      {"HeUniform", seeded_from<initializers::HeUniform>},
      {"HeNormal", seeded_from<initializers::HeNormal>},
      {"LecunUniform", seeded_from<initializers::LecunUniform>},
      {"LecunNormal", seeded_from<initializers::LecunNormal>},
      {"OrthogonalInitializer", orthogonal_from},
  };
  return factories;
}

// Every identifier keras.initializers.get accepts → class name: class names, their snake_case, and aliases
// [k: keras/src/initializers/__init__.py].
const std::map<std::string, std::string>& identifiers() {
  static const std::map<std::string, std::string> ids = [] {
    std::map<std::string, std::string> m;
    const std::pair<const char*, const char*> snake[] = {
        {"Zeros", "zeros"},
        {"Ones", "ones"},
        {"Constant", "constant"},
        {"Identity", "identity"},
        {"RandomNormal", "random_normal"},
        {"RandomUniform", "random_uniform"},
        {"TruncatedNormal", "truncated_normal"},
        {"VarianceScaling", "variance_scaling"},
        {"GlorotUniform", "glorot_uniform"},
        {"GlorotNormal", "glorot_normal"},
        {"HeUniform", "he_uniform"},
        {"HeNormal", "he_normal"},
        {"LecunUniform", "lecun_uniform"},
        {"LecunNormal", "lecun_normal"},
        {"OrthogonalInitializer", "orthogonal_initializer"},
    };
    for (const auto& [cls, sn] : snake) {
      m[cls] = cls;
      m[sn] = cls;
    }
    m["uniform"] = "RandomUniform";
    m["normal"] = "RandomNormal";
    m["orthogonal"] = "OrthogonalInitializer";
    m["Orthogonal"] = "OrthogonalInitializer";
    m["one"] = "Ones";
    m["zero"] = "Zeros";
    return m;
  }();
  return ids;
}

std::string valid_identifiers_text() {
  std::string s;
  for (const auto& [id, cls] : identifiers()) s += (s.empty() ? "" : ", ") + id;
  return s;
}

Initializer build(const std::string& class_name, const json& config) {
  const auto& factories = class_factories();
  auto it = factories.find(class_name);
  KEEL_CHECK(it != factories.end(), ValueError, "Could not interpret initializer identifier: '", class_name,
             "'. Valid identifiers: ", valid_identifiers_text());
  KEEL_CHECK(config.is_object(), ValueError, "Initializer ", class_name, ": config must be a dict, got ",
             config.dump());
  try {
    return it->second(config);
  } catch (const json::exception& e) {
    throw ValueError("Initializer " + class_name + ": invalid config " + config.dump() + " (" + e.what() + ")");
  }
}

}  // namespace

// --- Initializer ---

Initializer::Initializer(const char* identifier) : Initializer(initializers::get(identifier ? identifier : "")) {}

Initializer::Initializer(const std::string& identifier) : Initializer(initializers::get(identifier)) {}

Initializer::Initializer(std::string class_name, json config, Fn fn)
    : class_name_(std::move(class_name)), config_(std::make_shared<const json>(std::move(config))), fn_(std::move(fn)) {
  KEEL_CHECK(static_cast<bool>(fn_), ValueError, "Initializer ", class_name_, ": the draw function is empty");
}

Tensor Initializer::operator()(const Shape& shape, DType dtype) const {
  for (int64_t d : shape)
    KEEL_CHECK(d >= 0, ShapeError, "Initializer ", class_name_, ": shape ", shape_str(shape),
               " has a negative dimension");
  return fn_(shape, dtype);
}

json Initializer::get_config() const {
  return {{"module", "keras.initializers"},
          {"class_name", class_name_},
          {"config", *config_},
          {"registered_name", nullptr}};
}

Initializer Initializer::from_config(const json& config) {
  if (config.is_string()) return initializers::get(config.get<std::string>());
  KEEL_CHECK(config.is_object() && config.contains("class_name") && config.at("class_name").is_string(), ValueError,
             "Initializer::from_config: expected {\"class_name\": ..., \"config\": {...}}, got ", config.dump());
  const std::string name = config.at("class_name").get<std::string>();
  auto id = identifiers().find(name);
  KEEL_CHECK(id != identifiers().end(), ValueError, "Could not interpret initializer identifier: '", name,
             "'. Valid identifiers: ", valid_identifiers_text());
  const json inner = config.contains("config") && !config.at("config").is_null() ? config.at("config") : json::object();
  return build(id->second, inner);
}

namespace initializers {

std::pair<double, double> compute_fans(const Shape& shape) {
  if (shape.empty()) return {1.0, 1.0};
  if (shape.size() == 1) return {static_cast<double>(shape[0]), static_cast<double>(shape[0])};
  if (shape.size() == 2) return {static_cast<double>(shape[0]), static_cast<double>(shape[1])};
  double receptive = 1.0;
  for (size_t i = 0; i + 2 < shape.size(); ++i) receptive *= static_cast<double>(shape[i]);
  return {static_cast<double>(shape[shape.size() - 2]) * receptive,
          static_cast<double>(shape[shape.size() - 1]) * receptive};
}

Initializer Zeros() {
  return Initializer("Zeros", json::object(), [](const Shape& shape, DType dtype) { return zeros(shape, dtype); });
}

Initializer Ones() {
  return Initializer("Ones", json::object(), [](const Shape& shape, DType dtype) { return ones(shape, dtype); });
}

Initializer Constant(double value) {
  return Initializer("Constant", {{"value", value}},
                     [value](const Shape& shape, DType dtype) { return full(shape, value, dtype); });
}

Initializer Identity(double gain) {
  return Initializer("Identity", {{"gain", gain}}, [gain](const Shape& shape, DType dtype) {
    KEEL_CHECK(shape.size() == 2, ValueError,
               "Identity matrix initializer can only be used for 2D matrices. Received: shape=", shape_str(shape),
               " of rank ", shape.size(), ".");
    std::vector<float> values(shape[0] * shape[1], 0.0f);
    for (int64_t i = 0; i < std::min(shape[0], shape[1]); ++i) values[i * shape[1] + i] = static_cast<float>(gain);
    return host_floats_to(values, shape, dtype);
  });
}

Initializer RandomNormal(RandomNormalOptions o) {
  return Initializer(
      "RandomNormal", {{"mean", o.mean}, {"stddev", o.stddev}, {"seed", seed_json(o.seed)}},
      [o](const Shape& shape, DType dtype) { return random::normal(shape, o.mean, o.stddev, dtype, o.seed); });
}

Initializer RandomUniform(RandomUniformOptions o) {
  return Initializer(
      "RandomUniform", {{"minval", o.minval}, {"maxval", o.maxval}, {"seed", seed_json(o.seed)}},
      [o](const Shape& shape, DType dtype) { return random::uniform(shape, o.minval, o.maxval, dtype, o.seed); });
}

Initializer TruncatedNormal(RandomNormalOptions o) {
  return Initializer("TruncatedNormal", {{"mean", o.mean}, {"stddev", o.stddev}, {"seed", seed_json(o.seed)}},
                     [o](const Shape& shape, DType dtype) {
                       return random::truncated_normal(shape, o.mean, o.stddev, dtype, o.seed);
                     });
}

namespace {

// The draw of VarianceScaling [k: keras/src/initializers/random_initializers.py]; `o` already validated.
Tensor variance_scaling_draw(const VarianceScalingOptions& o, const Shape& shape, DType dtype) {
  auto [fan_in, fan_out] = compute_fans(shape);
  double n = o.mode == "fan_in" ? fan_in : (o.mode == "fan_out" ? fan_out : (fan_in + fan_out) / 2.0);
  const double s = o.scale / std::max(1.0, n);
  if (o.distribution == "truncated_normal") {
    // 0.879... = stddev of a unit normal truncated to [-2, 2]: rescale so the result has variance s.
    return random::truncated_normal(shape, 0.0, std::sqrt(s) / 0.8796256610342398, dtype, o.seed);
  }
  if (o.distribution == "untruncated_normal") return random::normal(shape, 0.0, std::sqrt(s), dtype, o.seed);
  const double limit = std::sqrt(3.0 * s);
  return random::uniform(shape, -limit, limit, dtype, o.seed);
}

VarianceScalingOptions validated(VarianceScalingOptions o) {
  KEEL_CHECK(o.scale > 0.0, ValueError,
             "VarianceScaling: Argument `scale` must be positive float. Received: scale=", o.scale);
  KEEL_CHECK(o.mode == "fan_in" || o.mode == "fan_out" || o.mode == "fan_avg", ValueError,
             "VarianceScaling: Invalid `mode` argument: '", o.mode, "'. Please use one of fan_in, fan_out, fan_avg");
  std::transform(o.distribution.begin(), o.distribution.end(), o.distribution.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (o.distribution == "normal") o.distribution = "truncated_normal";
  KEEL_CHECK(
      o.distribution == "truncated_normal" || o.distribution == "untruncated_normal" || o.distribution == "uniform",
      ValueError, "VarianceScaling: Invalid `distribution` argument: '", o.distribution,
      "'. Please use one of truncated_normal, untruncated_normal, uniform");
  return o;
}

// The named VarianceScaling presets serialise with only their seed, as Keras's do.
Initializer variance_scaling_preset(const char* class_name, double scale, const char* mode, const char* distribution,
                                    std::optional<uint64_t> seed) {
  VarianceScalingOptions o{.scale = scale, .mode = mode, .distribution = distribution, .seed = seed};
  return Initializer(class_name, {{"seed", seed_json(seed)}},
                     [o](const Shape& shape, DType dtype) { return variance_scaling_draw(o, shape, dtype); });
}

}  // namespace

Initializer VarianceScaling(VarianceScalingOptions options) {
  VarianceScalingOptions o = validated(std::move(options));
  return Initializer(
      "VarianceScaling",
      {{"scale", o.scale}, {"mode", o.mode}, {"distribution", o.distribution}, {"seed", seed_json(o.seed)}},
      [o](const Shape& shape, DType dtype) { return variance_scaling_draw(o, shape, dtype); });
}

Initializer GlorotUniform(SeedOptions o) {
  return variance_scaling_preset("GlorotUniform", 1.0, "fan_avg", "uniform", o.seed);
}
Initializer GlorotNormal(SeedOptions o) {
  return variance_scaling_preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal", o.seed);
}
Initializer HeUniform(SeedOptions o) { return variance_scaling_preset("HeUniform", 2.0, "fan_in", "uniform", o.seed); }
Initializer HeNormal(SeedOptions o) {
  return variance_scaling_preset("HeNormal", 2.0, "fan_in", "truncated_normal", o.seed);
}
Initializer LecunUniform(SeedOptions o) {
  return variance_scaling_preset("LecunUniform", 1.0, "fan_in", "uniform", o.seed);
}
Initializer LecunNormal(SeedOptions o) {
  return variance_scaling_preset("LecunNormal", 1.0, "fan_in", "truncated_normal", o.seed);
}

Initializer Orthogonal(OrthogonalOptions o) {
  return Initializer(
      "OrthogonalInitializer", {{"gain", o.gain}, {"seed", seed_json(o.seed)}}, [o](const Shape& shape, DType dtype) {
        KEEL_CHECK(shape.size() >= 2, ValueError,
                   "Orthogonal initializer: the tensor to initialize must be at least two-dimensional. "
                   "Received: shape=",
                   shape_str(shape), " of rank ", shape.size(), ".");
        int64_t rows = 1;
        for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
        const int64_t cols = shape.back();
        const int64_t m = std::max(rows, cols), n = std::min(rows, cols);
        std::vector<float> drawn = random::normal({m, n}, 0.0, 1.0, DType::f32, o.seed).to_vector<float>();
        auto [q, r_diag] = householder_qr(std::vector<double>(drawn.begin(), drawn.end()), m, n);
        // q·sign(diag(r)) makes the factorisation unique (R with a positive diagonal).
        std::vector<float> values(rows * cols);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            const double v = o.gain * q[i * n + j] * sign_of(r_diag[j]);
            // rows < cols: the result is qᵀ.
            if (rows >= cols)
              values[i * cols + j] = static_cast<float>(v);
            else
              values[j * cols + i] = static_cast<float>(v);
          }
        return host_floats_to(values, shape, dtype);
      });
}

Initializer get(const std::string& identifier) {
  auto it = identifiers().find(identifier);
  KEEL_CHECK(it != identifiers().end(), ValueError, "Could not interpret initializer identifier: '", identifier,
             "'. Valid identifiers: ", valid_identifiers_text());
  return build(it->second, json::object());
}

}  // namespace initializers
}  // namespace keel
