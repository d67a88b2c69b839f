// Custom objects (saving::register_serializable, LoadOptions::custom_objects), Model::to_json,
// models::model_from_json, models::clone_model, and serialized loss and metric objects in compile_config,
// as Keras 3 has them (keras/src/saving/object_registration.py, serialization_lib.py, models/cloning.py).
// The archives Keel writes are read back by tests/io/keras_archive.py (zipfile/json/h5py); the compile
// objects of an archive written in Keras's layout are checked against NumPy's loss and accuracy.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "keel/core/naming.h"
#include "keel/keel.h"
#include "io_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

using json = nlohmann::json;
using keel::testing::expect_error;

int python(const std::string& args) { return run_python("keras_archive.py", args); }

// A custom layer with a weight and a config argument: y = x * w * factor.
class Scale : public UnaryLayer {
 public:
  explicit Scale(double factor, std::string name = "", std::string class_name = "Scale")
      : UnaryLayer(std::move(class_name), std::move(name)), factor_(factor) {}
  void build(const Shape& s) override {
    w_ = add_weight("w", {s.back()}, "random_normal");
    UnaryLayer::build(s);
  }
  Tensor call(const Tensor& x, const CallContext&) override { return x * w_.value() * factor_; }
  Shape compute_output_shape(const Shape& s) const override { return s; }
  json get_config() const override {
    json c = UnaryLayer::get_config();
    c["factor"] = factor_;
    return c;
  }
  double factor() const { return factor_; }

 private:
  double factor_;
  Variable w_;
};

LayerHandle scale_factory(const json& c) {
  return make_layer<Scale>(c.at("factor").get<double>(), c.at("name").get<std::string>());
}
// The same layer under another class name, never registered: only custom_objects find it.
LayerHandle shift_factory(const json& c) {
  return make_layer<Scale>(c.at("factor").get<double>(), c.at("name").get<std::string>(), "Shift");
}

const std::string kRegistered = saving::register_serializable("my_package", "Scale", scale_factory);
KEEL_REGISTER_SERIALIZABLE("other_package", "Twice", scale_factory);

class Serialization : public PythonSideTest {};

Model scale_model(const std::string& class_name = "Scale") {
  return Sequential({layers::Input({3}), make_layer<Scale>(2.5, "", class_name), layers::Dense(2)}, {.name = "custom"});
}

// --- register_serializable ---

TEST_F(Serialization, RegisteredNames) {
  EXPECT_EQ(kRegistered, "my_package>Scale");
  EXPECT_EQ(saving::get_registered_name("Scale"), "my_package>Scale");
  EXPECT_EQ(saving::get_registered_name("Dense"), "Dense");  // not registered: the class name, as Keras
  EXPECT_EQ(saving::get_registered_name("Twice"), "other_package>Twice");  // KEEL_REGISTER_SERIALIZABLE
  EXPECT_TRUE(static_cast<bool>(saving::get_registered_object("my_package>Scale")));
  EXPECT_FALSE(static_cast<bool>(saving::get_registered_object("other>Scale")));
  EXPECT_TRUE(static_cast<bool>(saving::get_registered_object("Mine", {{"Mine", scale_factory}})));
  expect_error<ValueError>([] { saving::register_serializable("a>b", "C", scale_factory); }, "cannot contain '>'");
  expect_error<ValueError>([] { saving::register_serializable("", "C", scale_factory); }, "must not be empty");
  expect_error<ValueError>([] { saving::register_serializable("p", "C", nullptr); }, "'p>C'", "empty");
}

TEST_F(Serialization, RegisteredCustomLayerRoundTripsThroughKeras) {
  Model m = scale_model();
  m.save(dir.file("c.keras"));
  // config.json names it as Keras names a registered class; its weight is at layers/scale/vars/0.
  EXPECT_EQ(python("check custom " + dir.file("c.keras")), 0);
  Model loaded = saving::load_model(dir.file("c.keras"));
  ASSERT_EQ(loaded.layers().size(), 2u);
  auto* scale = dynamic_cast<Scale*>(loaded.layers()[0].get());
  ASSERT_NE(scale, nullptr) << "loaded as " << loaded.layers()[0]->class_name();
  EXPECT_EQ(scale->factor(), 2.5);
  const Tensor x = seeded({4, 3}, 1);
  expect_bitwise(loaded.predict(x, {.verbose = 0}), m.predict(x, {.verbose = 0}), "prediction");
  expect_bitwise(loaded.layers()[0]->get_weights()[0], m.layers()[0]->get_weights()[0], "Scale's weight");
}

TEST_F(Serialization, CustomObjectsComeFirstAndUnknownClassesAreClearErrors) {
  Model m = scale_model("Shift");  // a class neither Keel nor the registry knows
  m.save(dir.file("s.keras"));
  expect_error<ValueError>([&] { saving::load_model(dir.file("s.keras")); }, "Could not locate class 'Shift'",
                           "register_serializable", "custom_objects");
  Model loaded = saving::load_model(dir.file("s.keras"), {.custom_objects = {{"Shift", shift_factory}}});
  const Tensor x = seeded({4, 3}, 2);
  expect_bitwise(loaded.predict(x, {.verbose = 0}), m.predict(x, {.verbose = 0}), "prediction");

  // custom_objects are consulted before the registry, by registered name or by class name.
  Model r = scale_model();
  r.save(dir.file("r.keras"));
  int calls = 0;
  auto counting = [&](const json& c) {
    ++calls;
    return scale_factory(c);
  };
  saving::load_model(dir.file("r.keras"), {.custom_objects = {{"my_package>Scale", counting}}});
  EXPECT_EQ(calls, 1);
  saving::load_model(dir.file("r.keras"), {.custom_objects = {{"Scale", counting}}});
  EXPECT_EQ(calls, 2);
  // A factory that does not honour the config is refused like any layer (Note [Refuse, never silently change]).
  auto ignores_factor = [](const json& c) { return LayerHandle(make_layer<Scale>(1.0, c.at("name").get<std::string>())); };
  expect_error<UnimplementedError>([&] {
    saving::load_model(dir.file("r.keras"), {.custom_objects = {{"Scale", ignores_factor}}});
  }, "(Scale)", "`factor` = 2.5");
  auto wrong_class = [](const json&) { return LayerHandle(layers::Dense(2)); };
  expect_error<ValueError>([&] {
    saving::load_model(dir.file("r.keras"), {.custom_objects = {{"Scale", wrong_class}}});
  }, "custom object 'Scale'", "class 'Dense', not 'Scale'");
}

// --- to_json / model_from_json / clone_model ---

Model nested_model() {
  Sequential inner({layers::Input({4}), layers::Dense(6, "relu"), make_layer<Scale>(0.5)}, {.name = "inner"});
  auto x = layers::Input({4});
  auto y = layers::Dense(2, "softmax")(LayerHandle(inner)(x));
  return Model(x, y, "outer");
}

TEST_F(Serialization, ToJsonAndModelFromJson) {
  Model m = nested_model();
  m.compile({.optimizer = "sgd", .loss = "categorical_crossentropy"});
  const std::string text = m.to_json();
  const json j = json::parse(text);
  EXPECT_EQ(j.at("class_name"), "Functional");
  EXPECT_EQ(j.at("registered_name"), "Functional");
  EXPECT_EQ(j.at("config").at("layers").at(1).at("class_name"), "Sequential");
  EXPECT_EQ(j.at("config").at("layers").at(1).at("config").at("layers").at(2).at("registered_name"), "my_package>Scale");
  EXPECT_TRUE(j.contains("compile_config"));  // Keras's to_json serializes the compile config too
  EXPECT_EQ(text.find("\"weights\""), std::string::npos);

  Model rebuilt = models::model_from_json(text);
  EXPECT_EQ(rebuilt.to_json(), text);  // the same architecture, layer names and compile arguments
  EXPECT_TRUE(rebuilt->compiled());
  EXPECT_EQ(rebuilt.optimizer().class_name(), "SGD");
  // Fresh weights of the same shapes...
  const auto wa = m.get_weights(), wb = rebuilt.get_weights();
  ASSERT_EQ(wa.size(), wb.size());
  bool all_equal = true;
  for (size_t i = 0; i < wa.size(); ++i) {
    EXPECT_EQ(wa[i].shape(), wb[i].shape()) << "weight " << i;
    all_equal = all_equal && bitwise_equal(wa[i], wb[i]);
  }
  EXPECT_FALSE(all_equal) << "model_from_json should initialize new weights";
  // ...which, once set, compute the same thing.
  rebuilt.set_weights(wa);
  const Tensor x = seeded({5, 4}, 3);
  expect_bitwise(rebuilt.predict(x, {.verbose = 0}), m.predict(x, {.verbose = 0}), "prediction");

  // Custom classes resolve through custom_objects here too.
  Model s = scale_model("Shift");
  expect_error<ValueError>([&] { models::model_from_json(s.to_json()); }, "Could not locate class 'Shift'");
  Model s2 = models::model_from_json(s.to_json(), {{"Shift", shift_factory}});
  EXPECT_EQ(s2.layers()[0]->class_name(), "Shift");
  expect_error<ValueError>([] { models::model_from_json("{\"class_name\": "); }, "model_from_json", "malformed JSON");
}

TEST_F(Serialization, CloneModelHasFreshIndependentWeights) {
  Model m = nested_model();
  m.compile({.optimizer = "adam", .loss = "mse"});
  Model clone = models::clone_model(m);
  EXPECT_FALSE(clone->compiled());  // as Keras, the clone is not compiled
  EXPECT_EQ(clone.name(), "outer");
  ASSERT_EQ(clone.layers().size(), m.layers().size());
  for (size_t i = 0; i < m.layers().size(); ++i) {
    EXPECT_EQ(clone.layers()[i]->name(), m.layers()[i]->name());
    EXPECT_EQ(clone.layers()[i]->class_name(), m.layers()[i]->class_name());
    EXPECT_NE(clone.layers()[i].get(), m.layers()[i].get()) << "layer " << i << " is shared";
  }
  const auto wa = m.weights(), wb = clone.weights();
  ASSERT_EQ(wa.size(), wb.size());
  bool all_equal = true;
  for (size_t i = 0; i < wa.size(); ++i) {
    EXPECT_EQ(wa[i].shape(), wb[i].shape()) << "weight " << i;
    all_equal = all_equal && bitwise_equal(wa[i].value(), wb[i].value());
  }
  EXPECT_FALSE(all_equal) << "clone_model should initialize new weights";
  // Independent: changing the clone leaves the original alone.
  const auto before = m.get_weights();
  clone.set_weights(m.get_weights());
  const Tensor x = seeded({6, 4}, 4);
  expect_bitwise(clone.predict(x, {.verbose = 0}), m.predict(x, {.verbose = 0}), "prediction after set_weights");
  clone.compile({.optimizer = "sgd", .loss = "mse"});
  clone.train_on_batch(x, seeded({6, 2}, 5));
  const auto after = m.get_weights();
  for (size_t i = 0; i < before.size(); ++i) expect_bitwise(after[i], before[i], "original weight " + std::to_string(i));
  EXPECT_FALSE(bitwise_equal(clone.get_weights()[0], before[0])) << "the clone did not train";

  // An unbuilt Sequential clones unbuilt.
  Sequential unbuilt({layers::Dense(3), layers::Dense(1)});
  Model c = models::clone_model(unbuilt);
  EXPECT_FALSE(c->built());
  EXPECT_EQ(c.layers().size(), 2u);
}

// --- loss and metric objects in compile_config ---

TEST_F(Serialization, LoadsKerasLossAndMetricObjectsAndComputesAsNumPy) {
  ASSERT_EQ(python("write lossobj " + dir.str()), 0);
  Model m = saving::load_model(dir.file("lossobj.keras"));
  ASSERT_TRUE(m->compiled());
  const auto scores = m.evaluate(npy("lossobj_x.npy"), npy("lossobj_y.npy"), {.verbose = 0});
  const auto want = npy("lossobj_scores.npy").to_vector<double>();
  ASSERT_TRUE(scores.count("loss") && scores.count("binary_accuracy")) << "scores: " << ::testing::PrintToString(scores);
  EXPECT_NEAR(scores.at("loss"), want[0], 1e-5 * want[0]);  // label_smoothing 0.1 honoured
  EXPECT_NEAR(scores.at("binary_accuracy"), want[1], 1e-12);  // threshold 0.7 honoured
}

TEST_F(Serialization, LossAndMetricObjectsRoundTrip) {
  Model m = Sequential({layers::Input({4}), layers::Dense(3, "relu"), layers::Dense(1, "sigmoid")});
  m.compile({.optimizer = "adam",
             .loss = losses::BinaryCrossentropy({.label_smoothing = 0.2}),
             .metrics = {metrics::BinaryAccuracy({.threshold = 0.3}), metrics::AUC({.num_thresholds = 50}), "mse"}});
  const Tensor x = seeded({8, 4}, 6), y = (seeded({8, 1}, 7) > 0.0).astype(DType::f32);
  m.train_on_batch(x, y);
  m.save(dir.file("l.keras"));
  Model loaded = saving::load_model(dir.file("l.keras"));
  const json cc = json::parse(loaded.to_json()).at("compile_config");
  EXPECT_EQ(cc.at("loss").at("class_name"), "BinaryCrossentropy");
  EXPECT_EQ(cc.at("loss").at("config").at("label_smoothing"), 0.2);
  EXPECT_EQ(cc.at("metrics").at(0).at("config").at("threshold"), 0.3);
  EXPECT_EQ(cc.at("metrics").at(1).at("config").at("num_thresholds"), 50);
  EXPECT_EQ(cc.at("metrics").at(2), "mse");
  EXPECT_EQ(loaded.evaluate(x, y, {.verbose = 0}), m.evaluate(x, y, {.verbose = 0}));

  // Keras writes reduction=None as null: Keel's "none".
  json j = json::parse(m.to_json());
  j["compile_config"]["loss"]["config"]["reduction"] = nullptr;
  Model none = models::model_from_json(j.dump());
  EXPECT_EQ(json::parse(none.to_json()).at("compile_config").at("loss").at("config").at("reduction"), "none");
  j["compile_config"]["loss"]["config"]["reduction"] = "sum";
  EXPECT_EQ(json::parse(models::model_from_json(j.dump()).to_json())["compile_config"]["loss"]["config"]["reduction"],
            "sum");
}

TEST_F(Serialization, LossObjectsKeelCannotHonourAreRefused) {
  ASSERT_EQ(python("bad loss_class " + dir.file("c.keras")), 0);
  expect_error<UnimplementedError>([&] { saving::load_model(dir.file("c.keras")); }, "no loss class 'Tversky'",
                                   "BinaryCrossentropy");
  saving::load_model(dir.file("c.keras"), {.compile = false});  // without compiling it loads
  ASSERT_EQ(python("bad loss_key " + dir.file("k.keras")), 0);
  expect_error<UnimplementedError>([&] { saving::load_model(dir.file("k.keras")); },
                                   "Loss 'binary_crossentropy' (BinaryCrossentropy)", "`extra`", "(value 3)");
}

}  // namespace
}  // namespace keel
