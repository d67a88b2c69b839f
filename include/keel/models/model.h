// Models (keras.Model, keras.Sequential): a Layer that is also a Trainer, behind a handle like every
// layer. Functional models are the graph between symbolic inputs and outputs; Sequential models stack
// layers and build as soon as their input shape is known (or from the first batch).
//   Sequential model({layers::Input({784}), layers::Dense(64, "relu"), layers::Dense(1, "sigmoid")});
//   auto in = layers::Input({32});
//   Model fm(in, layers::Dense(1, "sigmoid")(layers::Dense(64, "relu")(in)));
#pragma once
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keel/layers/core.h"
#include "keel/layers/layer.h"
#include "keel/training/trainer.h"

namespace keel {

/// What summary() prints and how.
struct SummaryOptions {
  std::optional<int> line_length = std::nullopt;
  bool show_trainable = false;
};

/// The implementation shared by functional and Sequential models.
class ModelImpl : public Layer, public Trainer {
 public:
  explicit ModelImpl(std::string class_name, std::string name = "");

  /// Layers in Keras's order (Sequential: without the InputLayer; functional: with InputLayers).
  virtual std::vector<LayerHandle> layers() const = 0;
  /// Layer by name; ValueError listing the names when missing.
  LayerHandle get_layer(const std::string& name) const;
  /// Symbolic inputs/outputs once known (ValueError before a Sequential model is built).
  virtual std::vector<SymbolicTensor> inputs() const = 0;
  virtual std::vector<SymbolicTensor> outputs() const = 0;
  /// The output shape each layer produced when the model was traced (empty when unknown).
  virtual Shape layer_output_shape(const Layer& layer) const;
  /// True for Sequential and for functional models whose graph is a chain (summary layout).
  virtual bool is_sequential_like() const;

  void summary(std::ostream& os = std::cout, SummaryOptions options = {}) const;

  // Trainer hooks.
  std::vector<Tensor> get_weights() const override { return Layer::get_weights(); }
  void set_weights(const std::vector<Tensor>& weights) override { Layer::set_weights(weights); }

 protected:
  ForwardResult forward(const std::vector<Tensor>& inputs, bool training) override;
  std::vector<Variable> trainable_variables() const override { return trainable_weights(); }
  std::vector<Variable> all_variables() const override { return weights(); }
  std::vector<Tensor> forward_losses() const override { return losses(); }
  std::vector<std::string> output_names() const override;
  /// Names every variable "<model>/<layer>/<var>" and tracks the layers for weights().
  void track_layers(const std::vector<LayerHandle>& layers);
};

/// A model defined by the graph between symbolic inputs and outputs.
class FunctionalImpl : public ModelImpl {
 public:
  FunctionalImpl(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs, std::string name = "");

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, const CallContext& ctx) override;
  std::vector<Shape> compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  nlohmann::json get_config() const override;
  std::vector<LayerHandle> layers() const override;
  std::vector<SymbolicTensor> inputs() const override { return inputs_; }
  std::vector<SymbolicTensor> outputs() const override { return outputs_; }
  Shape layer_output_shape(const Layer& layer) const override;
  bool is_sequential_like() const override;
  /// The nodes in execution order (for summary's "Connected to").
  const std::vector<std::shared_ptr<Node>>& nodes() const { return nodes_; }

 protected:
  void build_from_data(const std::vector<Shape>&) override {}
  /// Runs the graph, each layer's output masks going to the layers that read its outputs.
  MaskedOutputs call_and_compute_mask(const std::vector<Tensor>& inputs, const CallContext& ctx) override;

 private:
  std::vector<SymbolicTensor> inputs_, outputs_;
  std::vector<std::shared_ptr<Node>> nodes_;  // topological order, InputLayer nodes first
};

/// A linear stack of layers.
class SequentialImpl : public ModelImpl {
 public:
  explicit SequentialImpl(std::string name = "");

  /// Appends a layer (an Input() as first entry sets the input shape); duplicate names are a ValueError.
  void add(const LayerHandle& layer);
  void add_input(const SymbolicTensor& input);
  /// Removes the last layer (ValueError when empty).
  void pop();
  /// Builds for inputs of this shape (with the batch dimension, e.g. {kUnknownDim, 4}).
  void build_for(const Shape& input_shape);

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, const CallContext& ctx) override;
  std::vector<Shape> compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  nlohmann::json get_config() const override;
  std::vector<LayerHandle> layers() const override { return layers_; }
  std::vector<SymbolicTensor> inputs() const override;
  std::vector<SymbolicTensor> outputs() const override;
  Shape layer_output_shape(const Layer& layer) const override;
  bool is_sequential_like() const override { return true; }

 protected:
  void build_from_data(const std::vector<Shape>& input_shapes) override;
  /// Runs the layers in turn, each layer's output mask going to the next.
  MaskedOutputs call_and_compute_mask(const std::vector<Tensor>& inputs, const CallContext& ctx) override;

 private:
  void trace();

  std::vector<LayerHandle> layers_;
  std::shared_ptr<layers::InputLayerImpl> input_layer_;
  std::vector<SymbolicTensor> traced_;  // output of each layer after trace()
};

/// Base of a model written as a class with its own call() (Keras's subclassed Model). Sub-layers are tracked
/// with add_layer (their weights are the model's, and weight files name them by the attribute); the layers
/// build on the first call. fit, evaluate, predict, summary, get_weights/set_weights and save_weights work;
/// there is no config, so save() is a ValueError (as in Keras for a class without get_config). Override
/// train_step / test_step / compute_loss (Trainer) to customise fit.
///   class MLP : public SubclassedModel {
///    public:
///     MLP() : SubclassedModel("MLP") {
///       hidden_ = add_layer(layers::Dense(32, "relu"), "hidden");
///       out_ = add_layer(layers::Dense(1), "out");
///     }
///     std::vector<Tensor> call(const std::vector<Tensor>& x, const CallContext& ctx) override {
///       return {out_(hidden_(x[0], ctx.training))};
///     }
///    private:
///     LayerHandle hidden_, out_;
///   };
///   Model model(std::make_shared<MLP>());
class SubclassedModel : public ModelImpl {
 public:
  /// `class_name` is the C++ class's (the auto-name's stem: "MLP" gives "mlp", "mlp_1").
  explicit SubclassedModel(std::string class_name, std::string name = "");

  /// Tracks `layer` as the model's attribute `attribute` and returns it.
  template <class H>
  H add_layer(H layer, std::string attribute) {
    track(layer.ptr(), std::move(attribute));
    return layer;
  }
  std::vector<LayerHandle> layers() const override;
  /// Builds every layer with a call on zeros (one sample) in inference mode, then names the variables after
  /// the attributes. The first call, fit, evaluate or predict builds it.
  void build(const std::vector<Shape>& input_shapes) override;
  /// A subclassed model has no symbolic inputs and outputs: ValueError.
  std::vector<SymbolicTensor> inputs() const override;
  std::vector<SymbolicTensor> outputs() const override;
  /// Found by running call() once on zeros (one sample) in inference mode.
  std::vector<Shape> compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  /// ValueError naming the model: a subclassed model has no config.
  nlohmann::json get_config() const override;

 protected:
  void build_from_data(const std::vector<Shape>& input_shapes) override;
  std::vector<std::string> output_names() const override;
};

/// How load_weights treats objects whose saved variables do not fit (keras Model.load_weights).
struct LoadWeightsOptions {
  /// Skip (with a warning) the layers whose variable count or shapes differ, instead of raising.
  bool skip_mismatch = false;
  /// Legacy `.h5`/`.hdf5` files only: match saved layers to the model's by name instead of by position.
  bool by_name = false;
};

/// The handle users hold: model.compile(...), model.fit(...), model.summary().
class Model : public LayerHolder<ModelImpl> {
 public:
  Model() = default;
  explicit Model(std::shared_ptr<ModelImpl> impl) : LayerHolder(std::move(impl)) {}
  Model(const SymbolicTensor& input, const SymbolicTensor& output, std::string name = "");
  Model(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs, std::string name = "");

  const std::string& name() const { return get()->name(); }
  void compile(CompileOptions options = {}) const { get()->compile(std::move(options)); }
  History fit(const Tensor& x, const Tensor& y, FitOptions options = {}) const;
  History fit(const std::vector<Tensor>& x, const std::vector<Tensor>& y, FitOptions options = {}) const;
  /// Without targets, for a model whose own train_step needs none (Keras's fit(x)).
  History fit(const Tensor& x, FitOptions options) const;
  History fit(const data::Dataset& dataset, FitOptions options = {}) const;
  std::map<std::string, double> evaluate(const Tensor& x, const Tensor& y, EvaluateOptions options = {}) const;
  std::map<std::string, double> evaluate(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                                         EvaluateOptions options = {}) const;
  std::map<std::string, double> evaluate(const data::Dataset& dataset, EvaluateOptions options = {}) const;
  Tensor predict(const Tensor& x, PredictOptions options = {}) const;
  Tensor predict(const data::Dataset& dataset, PredictOptions options = {}) const;
  std::vector<Tensor> predict_outputs(const std::vector<Tensor>& x, PredictOptions options = {}) const;
  std::map<std::string, double> train_on_batch(const Tensor& x, const Tensor& y,
                                               const Tensor& sample_weight = Tensor()) const;
  std::map<std::string, double> test_on_batch(const Tensor& x, const Tensor& y,
                                              const Tensor& sample_weight = Tensor()) const;
  /// One tensor per input and per output (multi-input / multi-output models), as fit takes them.
  std::map<std::string, double> train_on_batch(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                                               const Tensor& sample_weight = Tensor()) const;
  std::map<std::string, double> test_on_batch(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                                              const Tensor& sample_weight = Tensor()) const;
  Tensor predict_on_batch(const Tensor& x) const;
  void summary(std::ostream& os = std::cout, SummaryOptions options = {}) const { get()->summary(os, options); }
  std::vector<Tensor> get_weights() const { return get()->get_weights(); }
  void set_weights(const std::vector<Tensor>& weights) const { get()->set_weights(weights); }
  std::vector<Variable> weights() const { return get()->weights(); }
  std::vector<Variable> trainable_weights() const { return get()->trainable_weights(); }
  std::vector<Variable> non_trainable_weights() const { return get()->non_trainable_weights(); }
  int64_t count_params() const { return get()->count_params(); }
  std::vector<LayerHandle> layers() const { return get()->layers(); }
  LayerHandle get_layer(const std::string& name) const { return get()->get_layer(name); }
  std::vector<SymbolicTensor> inputs() const { return get()->inputs(); }
  std::vector<SymbolicTensor> outputs() const { return get()->outputs(); }
  Optimizer& optimizer() const { return get()->optimizer(); }
  void set_trainable(bool trainable) const { get()->set_trainable(trainable); }

  // Weight files in Keras 3's `.weights.h5` layout (keel/io/weights.h). Defined in the io module, which
  // depends on models (not the other way round): a program calling them links keel_io (Keel::keel does).
  /// Writes every layer's variables, and the optimizer's once compiled, to `path` (which must end in
  /// `.weights.h5`); the file is replaced atomically. ValueError if the model is not built.
  void save_weights(const std::string& path) const;
  /// Reads a `.weights.h5` file (or a `.keras` archive's weights) into the model's variables (and the
  /// optimizer's, when it has as many as the file), or a legacy `.h5`/`.hdf5` file's by position (or by
  /// name: options.by_name). ValueError on a count or shape mismatch unless options.skip_mismatch.
  void load_weights(const std::string& path, LoadWeightsOptions options = {}) const;
  /// Writes the whole model (config, weights, compile arguments and optimizer state) to a Keras 3
  /// `.keras` archive, replaced atomically; keel::saving::load_model reads it back (keel/io/model_file.h).
  /// `.h5`/`.hdf5`: a legacy Keras HDF5 file instead; other extensions: ValueError.
  void save(const std::string& path) const;
  /// Keras's model.to_json(): the serialized model (config.json's form: class, config, build_config and,
  /// once compiled, compile_config; no weights) as JSON text. models::model_from_json rebuilds it
  /// (keel/io/serialization.h).
  std::string to_json() const;
};

/// One entry of Sequential's constructor list: a layer, or an Input() giving the input shape.
class SequentialEntry {
 public:
  SequentialEntry(LayerHandle layer) : layer_(std::move(layer)) {}  // NOLINT: implicit
  template <class T>
  SequentialEntry(LayerHolder<T> layer) : layer_(std::move(layer)) {}  // NOLINT: implicit
  SequentialEntry(SymbolicTensor input) : input_(std::move(input)) {}  // NOLINT: implicit
  const LayerHandle& layer() const { return layer_; }
  const std::optional<SymbolicTensor>& input() const { return input_; }

 private:
  LayerHandle layer_;
  std::optional<SymbolicTensor> input_;
};

struct SequentialOptions {
  bool trainable = true;
  std::string name = "";
};

class Sequential : public Model {
 public:
  Sequential(std::vector<SequentialEntry> layers = {}, SequentialOptions options = {});
  void add(const SequentialEntry& entry) const;
  void pop() const;
  /// keras Sequential.build((None, 4)): the shape includes the batch dimension.
  void build(const Shape& input_shape) const;
  SequentialImpl* operator->() const { return static_cast<SequentialImpl*>(Model::get()); }
};

}  // namespace keel
