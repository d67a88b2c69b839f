// keras.initializers: fans, the statistics of every distribution on large draws against keras-reference §4,
// Orthogonal's QR, seeds, string lookup and Keras's serialised config.
#include "keel/initializers/initializers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/random.h"
#include "test_util.h"

namespace keel {
namespace {

using nlohmann::json;

// Standard deviation of a unit normal truncated to [-2, 2] (Keras divides by it).
constexpr double kTruncatedStd = 0.8796256610342398;

struct Stats {
  double mean = 0, std = 0, min = 0, max = 0;
  int64_t n = 0;
};

Stats stats_of(const Tensor& t) {
  std::vector<float> v = t.to_vector<float>();
  Stats s;
  s.n = static_cast<int64_t>(v.size());
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  for (float x : v) s.mean += x;
  s.mean /= s.n;
  for (float x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(s.std / s.n);
  return s;
}

// Mean within 6 standard errors of `mean`, standard deviation within 2 % of `std`.
void expect_moments(const Stats& s, double mean, double std) {
  EXPECT_NEAR(s.mean, mean, 6 * std / std::sqrt(static_cast<double>(s.n)));
  EXPECT_NEAR(s.std, std, 0.02 * std);
}

// U(-limit, limit): inside the bounds, reaching close to both, with std limit/√3.
void expect_uniform(const Tensor& t, double limit) {
  Stats s = stats_of(t);
  EXPECT_GE(s.min, -limit);
  EXPECT_LT(s.max, limit);
  EXPECT_LT(s.min, -0.99 * limit);
  EXPECT_GT(s.max, 0.99 * limit);
  expect_moments(s, 0.0, limit / std::sqrt(3.0));
}

// Normal(0, stddev) truncated at ±2·stddev: bounds reached but never passed, std = 0.8796·stddev.
void expect_truncated(const Tensor& t, double mean, double stddev) {
  Stats s = stats_of(t);
  EXPECT_GE(s.min, mean - 2 * stddev * (1 + 1e-6));
  EXPECT_LE(s.max, mean + 2 * stddev * (1 + 1e-6));
  EXPECT_LT(s.min, mean - 1.95 * stddev);
  EXPECT_GT(s.max, mean + 1.95 * stddev);
  expect_moments(s, mean, stddev * kTruncatedStd);
}

TEST(Initializers, ComputeFans) {
  using initializers::compute_fans;
  EXPECT_EQ(compute_fans({}), std::make_pair(1.0, 1.0));
  EXPECT_EQ(compute_fans({7}), std::make_pair(7.0, 7.0));
  EXPECT_EQ(compute_fans({20, 30}), std::make_pair(20.0, 30.0));
  EXPECT_EQ(compute_fans({5, 16, 32}), std::make_pair(80.0, 160.0));      // Conv1D (k, in, out)
  EXPECT_EQ(compute_fans({3, 3, 16, 32}), std::make_pair(144.0, 288.0));  // Conv2D (kh, kw, in, out)
}

TEST(Initializers, RandomNormalDefaultsToStddev005) {
  expect_moments(stats_of(initializers::RandomNormal()({400, 250})), 0.0, 0.05);
  Stats s = stats_of(initializers::RandomNormal({.mean = 2.0, .stddev = 0.5, .seed = 3})({400, 250}));
  expect_moments(s, 2.0, 0.5);
  EXPECT_LT(s.min, 2.0 - 3 * 0.5);  // untruncated: tails beyond 2σ and 3σ occur in 10^5 draws
}

TEST(Initializers, RandomUniformDefaultsToPlusMinus005) {
  expect_uniform(initializers::RandomUniform()({400, 250}), 0.05);
  Stats s = stats_of(initializers::RandomUniform({.minval = 1.0, .maxval = 3.0})({400, 250}));
  EXPECT_GE(s.min, 1.0);
  EXPECT_LT(s.max, 3.0);
  expect_moments(s, 2.0, 2.0 / std::sqrt(12.0));
}

TEST(Initializers, TruncatedNormalCutsAtTwoStddevs) {
  expect_truncated(initializers::TruncatedNormal()({400, 250}), 0.0, 0.05);
  expect_truncated(initializers::TruncatedNormal({.mean = 1.0, .stddev = 0.5, .seed = 11})({400, 250}), 1.0, 0.5);
}

TEST(Initializers, GlorotHeLecunFollowVarianceScaling) {
  const Shape dense{400, 250};     // fan_in 400, fan_out 250
  const Shape conv{3, 3, 64, 48};  // fan_in 576, fan_out 432
  // Uniform: limit = sqrt(3·scale/n).
  expect_uniform(initializers::GlorotUniform()(dense), std::sqrt(6.0 / 650.0));
  expect_uniform(initializers::HeUniform()(conv), std::sqrt(6.0 / 576.0));
  expect_uniform(initializers::LecunUniform()(dense), std::sqrt(3.0 / 400.0));
  // Truncated normal: stddev = sqrt(scale/n)/0.8796, so the draws' variance is scale/n.
  expect_truncated(initializers::GlorotNormal()(dense), 0.0, std::sqrt(2.0 / 650.0) / kTruncatedStd);
  expect_truncated(initializers::HeNormal()(conv), 0.0, std::sqrt(2.0 / 576.0) / kTruncatedStd);
  expect_truncated(initializers::LecunNormal()(conv), 0.0, std::sqrt(1.0 / 576.0) / kTruncatedStd);
}

TEST(Initializers, VarianceScalingModesAndDistributions) {
  const Shape conv{3, 3, 64, 48};  // fan_in 576, fan_out 432, fan_avg 504
  using initializers::VarianceScaling;
  Stats s = stats_of(VarianceScaling({.scale = 3.0, .mode = "fan_out", .distribution = "untruncated_normal"})(conv));
  expect_moments(s, 0.0, std::sqrt(3.0 / 432.0));
  EXPECT_GT(s.max, 3 * std::sqrt(3.0 / 432.0));  // not truncated
  expect_uniform(VarianceScaling({.scale = 0.5, .mode = "fan_avg", .distribution = "uniform"})(conv),
                 std::sqrt(1.5 / 504.0));
  // 'normal' is truncated_normal; mode names are exact but the distribution is case-insensitive.
  expect_truncated(VarianceScaling({.scale = 2.0, .mode = "fan_in", .distribution = "Normal"})(conv), 0.0,
                   std::sqrt(2.0 / 576.0) / kTruncatedStd);
  // Fans are clamped to at least 1: a (1, 1) kernel with fan_avg draws with variance scale/1.
  Stats big =
      stats_of(VarianceScaling({.scale = 0.25, .mode = "fan_in", .distribution = "untruncated_normal"})({1, 100000}));
  expect_moments(big, 0.0, 0.5);
}

TEST(Initializers, VarianceScalingRejectsBadArguments) {
  using initializers::VarianceScaling;
  testing::expect_error<ValueError>([] { VarianceScaling({.scale = 0.0}); }, {"VarianceScaling", "scale", "0"});
  testing::expect_error<ValueError>([] { VarianceScaling({.mode = "fan_both"}); }, {"mode", "fan_both", "fan_avg"});
  testing::expect_error<ValueError>([] { VarianceScaling({.distribution = "cauchy"}); },
                                    {"distribution", "cauchy", "untruncated_normal"});
}

TEST(Initializers, ConstantsAndIdentity) {
  EXPECT_EQ(initializers::Zeros()({2, 3}).to_vector<float>(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(initializers::Ones()({4}).to_vector<float>(), std::vector<float>(4, 1.0f));
  EXPECT_EQ(initializers::Constant(0.25)({3}).to_vector<float>(), std::vector<float>(3, 0.25f));
  Tensor ones_i32 = initializers::Ones()({2}, DType::i32);
  EXPECT_EQ(ones_i32.dtype(), DType::i32);
  EXPECT_EQ(ones_i32.to_vector<int32_t>(), (std::vector<int32_t>{1, 1}));
  EXPECT_EQ(initializers::Identity(2.0)({2, 3}).to_vector<float>(), (std::vector<float>{2, 0, 0, 0, 2, 0}));
  EXPECT_EQ(initializers::Identity()({3, 2}).to_vector<float>(), (std::vector<float>{1, 0, 0, 1, 0, 0}));
  testing::expect_error<ValueError>(
      [] {
        initializers::Identity()({2, 2, 2});
      },
      {"Identity", "2D", "(2, 2, 2)", "rank 3"});
}

// Columns of q (rows × cols, row-major) are orthonormal times gain: qᵀq = gain²·I.
void expect_orthonormal_columns(const std::vector<float>& q, int64_t rows, int64_t cols, double gain) {
  for (int64_t a = 0; a < cols; ++a)
    for (int64_t b = 0; b < cols; ++b) {
      double dot = 0;
      for (int64_t i = 0; i < rows; ++i) dot += double(q[i * cols + a]) * q[i * cols + b];
      EXPECT_NEAR(dot, a == b ? gain * gain : 0.0, 1e-5) << a << "," << b;
    }
}

TEST(Initializers, OrthogonalTallIsQWithPositiveR) {
  const uint64_t seed = 42;
  std::vector<float> q = initializers::Orthogonal({.seed = seed})({50, 20}).to_vector<float>();
  expect_orthonormal_columns(q, 50, 20, 1.0);
  // Keras draws A ~ N(0,1) of shape (50, 20) with the same seed and returns Q of A = QR with diag(R) > 0:
  // so R = QᵀA must be upper triangular with a positive diagonal.
  std::vector<float> a = random::normal({50, 20}, 0.0, 1.0, DType::f32, seed).to_vector<float>();
  for (int64_t r = 0; r < 20; ++r)
    for (int64_t c = 0; c <= r; ++c) {
      double rc = 0;
      for (int64_t i = 0; i < 50; ++i) rc += double(q[i * 20 + r]) * a[i * 20 + c];
      if (c < r)
        EXPECT_NEAR(rc, 0.0, 1e-4) << r << "," << c;
      else
        EXPECT_GT(rc, 0.0) << r;
    }
}

TEST(Initializers, OrthogonalWideIsTransposedAndGainScales) {
  // (8, 30): rows < cols, so the rows are orthonormal: q·qᵀ = gain²·I.
  Tensor wide = initializers::Orthogonal({.gain = 2.0, .seed = 5})({8, 30});
  std::vector<float> w = wide.to_vector<float>();
  std::vector<float> wt(w.size());
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = 0; j < 30; ++j) wt[j * 8 + i] = w[i * 30 + j];
  expect_orthonormal_columns(wt, 30, 8, 2.0);
  // Rank 4 flattens to (prod(shape[:-1]), shape[-1]) = (36, 8).
  Tensor conv = initializers::Orthogonal()({3, 3, 4, 8});
  EXPECT_EQ(conv.shape(), (Shape{3, 3, 4, 8}));
  expect_orthonormal_columns(conv.to_vector<float>(), 36, 8, 1.0);
  testing::expect_error<ValueError>([] { initializers::Orthogonal()({5}); }, {"Orthogonal", "two-dimensional", "(5,)"});
}

TEST(Initializers, SeedsAreReproducibleAndGlobalDrawsAdvance) {
  for (const Initializer& init : {initializers::RandomNormal({.seed = 9}), initializers::RandomUniform({.seed = 9}),
                                  initializers::TruncatedNormal({.seed = 9}), initializers::GlorotUniform({.seed = 9}),
                                  initializers::HeNormal({.seed = 9}), initializers::Orthogonal({.seed = 9})}) {
    SCOPED_TRACE(init.class_name());
    EXPECT_EQ(init({6, 5}).to_vector<float>(), init({6, 5}).to_vector<float>());
  }
  EXPECT_NE(initializers::GlorotUniform({.seed = 1})({6, 5}).to_vector<float>(),
            initializers::GlorotUniform({.seed = 2})({6, 5}).to_vector<float>());
  // Unseeded: successive draws differ, and random::set_seed makes the sequence reproducible.
  Initializer unseeded = initializers::GlorotNormal();
  random::set_seed(123);
  std::vector<float> first = unseeded({6, 5}).to_vector<float>();
  std::vector<float> second = unseeded({6, 5}).to_vector<float>();
  EXPECT_NE(first, second);
  random::set_seed(123);
  EXPECT_EQ(unseeded({6, 5}).to_vector<float>(), first);
}

TEST(Initializers, LookupAcceptsSnakeCaseClassNamesAndAliases) {
  const std::pair<const char*, const char*> cases[] = {{"glorot_uniform", "GlorotUniform"},
                                                       {"GlorotUniform", "GlorotUniform"},
                                                       {"glorot_normal", "GlorotNormal"},
                                                       {"he_normal", "HeNormal"},
                                                       {"HeUniform", "HeUniform"},
                                                       {"lecun_normal", "LecunNormal"},
                                                       {"lecun_uniform", "LecunUniform"},
                                                       {"zeros", "Zeros"},
                                                       {"zero", "Zeros"},
                                                       {"Zeros", "Zeros"},
                                                       {"ones", "Ones"},
                                                       {"one", "Ones"},
                                                       {"constant", "Constant"},
                                                       {"identity", "Identity"},
                                                       {"random_normal", "RandomNormal"},
                                                       {"normal", "RandomNormal"},
                                                       {"random_uniform", "RandomUniform"},
                                                       {"uniform", "RandomUniform"},
                                                       {"truncated_normal", "TruncatedNormal"},
                                                       {"variance_scaling", "VarianceScaling"},
                                                       {"orthogonal", "OrthogonalInitializer"},
                                                       {"Orthogonal", "OrthogonalInitializer"},
                                                       {"OrthogonalInitializer", "OrthogonalInitializer"}};
  for (const auto& [id, cls] : cases) {
    EXPECT_EQ(initializers::get(id).class_name(), cls) << id;
    EXPECT_EQ(Initializer(id).class_name(), cls) << id;
  }
  // The string forms use Keras's defaults: "uniform" is U(-0.05, 0.05), "constant" is 0.
  expect_uniform(Initializer("uniform")({400, 250}), 0.05);
  EXPECT_EQ(Initializer("constant")({2}).to_vector<float>(), std::vector<float>(2, 0.0f));
}

TEST(Initializers, UnknownIdentifierListsTheValidOnes) {
  testing::expect_error<ValueError>(
      [] { Initializer("xavier"); },
      {"Could not interpret initializer identifier: 'xavier'", "glorot_uniform", "he_normal"});
  testing::expect_error<ValueError>([] { initializers::get("Glorot_Uniform"); }, {"'Glorot_Uniform'"});
}

TEST(Initializers, GetConfigIsKerasSerialisedForm) {
  EXPECT_EQ(initializers::GlorotUniform().get_config(),
            json::parse(R"({"module": "keras.initializers", "class_name": "GlorotUniform",
                            "config": {"seed": null}, "registered_name": null})"));
  EXPECT_EQ(initializers::RandomNormal({.stddev = 0.1, .seed = 7}).get_config()["config"],
            json::parse(R"({"mean": 0.0, "stddev": 0.1, "seed": 7})"));
  EXPECT_EQ(initializers::Zeros().get_config()["config"], json::object());
  EXPECT_EQ(initializers::Constant(3.0).get_config()["config"], json::parse(R"({"value": 3.0})"));
  EXPECT_EQ(initializers::VarianceScaling({.distribution = "normal"}).get_config()["config"],
            json::parse(R"({"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal", "seed": null})"));
  EXPECT_EQ(initializers::Orthogonal({.gain = 0.5}).get_config()["config"],
            json::parse(R"({"gain": 0.5, "seed": null})"));
}

TEST(Initializers, FromConfigInvertsGetConfig) {
  const Initializer originals[] = {
      initializers::Zeros(),
      initializers::Ones(),
      initializers::Constant(1.5),
      initializers::Identity(3.0),
      initializers::RandomNormal({.mean = 1.0, .stddev = 0.2, .seed = 4}),
      initializers::RandomUniform({.minval = -1.0, .maxval = 2.0, .seed = 4}),
      initializers::TruncatedNormal({.stddev = 0.3, .seed = 4}),
      initializers::VarianceScaling({.scale = 2.0, .mode = "fan_avg", .distribution = "uniform", .seed = 4}),
      initializers::GlorotUniform({.seed = 4}),
      initializers::GlorotNormal({.seed = 4}),
      initializers::HeUniform({.seed = 4}),
      initializers::HeNormal({.seed = 4}),
      initializers::LecunUniform({.seed = 4}),
      initializers::LecunNormal({.seed = 4}),
      initializers::Orthogonal({.gain = 1.5, .seed = 4})};
  for (const Initializer& original : originals) {
    SCOPED_TRACE(original.class_name());
    Initializer restored = Initializer::from_config(original.get_config());
    EXPECT_EQ(restored.class_name(), original.class_name());
    EXPECT_EQ(restored.get_config(), original.get_config());
    EXPECT_EQ(restored({5, 5}).to_vector<float>(), original({5, 5}).to_vector<float>());
  }
  // A Keras config without module or registered_name, and a bare string, are accepted too.
  EXPECT_EQ(Initializer::from_config(json::parse(R"({"class_name": "Orthogonal", "config": {"gain": 2.0}})"))
                .get_config()["config"]["gain"],
            2.0);
  EXPECT_EQ(Initializer::from_config("he_normal").class_name(), "HeNormal");
}

TEST(Initializers, FromConfigRejectsBadInput) {
  testing::expect_error<ValueError>([] { Initializer::from_config(json::parse(R"({"class_name": "Foo"})")); },
                                    {"'Foo'", "glorot_uniform"});
  testing::expect_error<ValueError>([] { Initializer::from_config(json::parse(R"({"config": {}})")); }, {"class_name"});
  testing::expect_error<ValueError>(
      [] { Initializer::from_config(json::parse(R"({"class_name": "RandomNormal", "config": {"stddev": "big"}})")); },
      {"RandomNormal", "stddev"});
}

TEST(Initializers, CustomInitializerKeepsItsConfig) {
  Initializer twos("Twos", json::parse(R"({"k": 2})"),
                   [](const Shape& shape, DType dtype) { return full(shape, 2.0, dtype); });
  EXPECT_EQ(twos({2}).to_vector<float>(), std::vector<float>(2, 2.0f));
  EXPECT_EQ(twos.get_config()["class_name"], "Twos");
  EXPECT_EQ(twos.get_config()["config"]["k"], 2);
  testing::expect_error<ShapeError>([&] { twos({2, -1}); }, {"Twos", "negative"});
}

}  // namespace
}  // namespace keel
