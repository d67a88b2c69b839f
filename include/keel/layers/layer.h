// The layer contract (keras.layers.Layer): build / call / compute_output_shape / get_config, weights
// created with add_weight, auto-naming, trainable flags, and calls on concrete or symbolic tensors.
//
// A layer object lives behind a handle (LayerHandle, or the typed LayerHolder<Impl> that the
// factories in keel/layers/*.h return), so one layer can be kept in a variable, put in a model and
// called on several inputs while sharing its weights:
//   auto dense = layers::Dense(64, "relu");            // LayerHolder<layers::DenseImpl>
//   SymbolicTensor h = dense(layers::Input({32}));     // functional use
//   Tensor y = dense(x);                               // eager use; builds on the first call
//   dense->kernel();                                   // the typed handle reaches the implementation
//
// A custom layer derives from UnaryLayer (one input, one output) or Layer (any number):
//   class Scale : public UnaryLayer {
//    public:
//     Scale() : UnaryLayer("Scale") {}
//     void build(const Shape& s) override {
//       w_ = add_weight("w", {s.back()}, "ones");
//       UnaryLayer::build(s);  // marks the layer built
//     }
//     Tensor call(const Tensor& x, const CallContext&) override { return x * w_.value(); }
//     Shape compute_output_shape(const Shape& s) const override { return s; }
//    private:
//     Variable w_;
//   };
//   auto scale = make_layer<Scale>();
#pragma once
#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <nlohmann/json_fwd.hpp>
#include "keel/constraints/constraints.h"
#include "keel/core/tensor.h"
#include "keel/core/variable.h"
#include "keel/initializers/initializers.h"
#include "keel/regularizers/regularizers.h"

namespace keel {

class Layer;
struct Node;

/// A dimension not known before data arrives (Keras's None), e.g. the batch dimension.
inline constexpr int64_t kUnknownDim = -1;
/// "(None, 28, 28, 1)" as Keras prints shapes with unknown dimensions.
std::string partial_shape_str(const Shape& shape);

/// A value in a functional graph (Keras's KerasTensor): its shape (batch dimension kUnknownDim) and
/// dtype, and the layer call that produces it.
struct SymbolicTensor {
  Shape shape;
  DType dtype = DType::f32;
  std::shared_ptr<Node> node;
  int index = 0;  // which output of node
};

/// One call of a layer on symbolic tensors.
struct Node {
  std::shared_ptr<Layer> layer;
  std::vector<SymbolicTensor> inputs;
  std::vector<Shape> output_shapes;
  std::vector<DType> output_dtypes;
};

/// What a built layer accepts for one input (Keras's InputSpec); checked on every call.
struct InputSpec {
  std::optional<int64_t> ndim = std::nullopt;
  std::optional<int64_t> min_ndim = std::nullopt;
  std::map<int64_t, int64_t> axes = {};  // axis (negative counts from the end) -> required extent
  std::optional<Shape> shape = std::nullopt;     // the whole shape (kUnknownDim matches anything), as model inputs pin it
};

/// What call() receives besides the inputs.
struct CallContext {
  bool training = false;  // Dropout and BatchNormalization behave differently while training
  /// Keras masks, one per input (an undefined tensor: that input has none; empty: no input has one). A mask
  /// is boolean, shaped like the input's leading axes ((batch, timesteps) for a sequence), true where the
  /// element counts.
  std::vector<Tensor> masks = {};
  /// The mask of input `i` (undefined when it has none).
  Tensor mask(size_t i = 0) const { return i < masks.size() ? masks[i] : Tensor(); }
};

/// A call's `mask` argument: one mask (the usual case) or one per input.
class MaskArg {
 public:
  MaskArg() = default;
  MaskArg(Tensor mask) : masks_{std::move(mask)} {}                 // NOLINT: implicit, as Keras's mask=m
  MaskArg(std::vector<Tensor> masks) : masks_(std::move(masks)) {}  // NOLINT: mask=[m1, m2]
  const std::vector<Tensor>& tensors() const { return masks_; }

 private:
  std::vector<Tensor> masks_;
};

/// Keras's call keyword arguments: layer(x, {.mask = m, .training = true}).
struct CallOptions {
  MaskArg mask = {};
  bool training = false;
};

/// A call's outputs and their Keras masks (one per output; undefined: none).
struct MaskedOutputs {
  std::vector<Tensor> outputs;
  std::vector<Tensor> masks;
};

/// Replicas running the current step in sync on this thread (tf.distribute's replica context): 1 outside a
/// distribution strategy. The trainer sets it around distributed steps for layers whose meaning depends on
/// it (BatchNormalization(synchronized=true)).
int replicas_in_sync();
class ReplicaContext {
 public:
  explicit ReplicaContext(int replicas);
  ~ReplicaContext();
  ReplicaContext(const ReplicaContext&) = delete;
  ReplicaContext& operator=(const ReplicaContext&) = delete;

 private:
  int outer_;
};

class Layer : public std::enable_shared_from_this<Layer> {
 public:
  /// `class_name` is the Keras class name ("Dense"); an empty `name` is generated from it ("dense_1").
  explicit Layer(std::string class_name, std::string name = "", bool trainable = true);
  virtual ~Layer();
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  const std::string& class_name() const { return class_name_; }
  bool trainable() const { return trainable_; }
  /// Applies to this layer and every tracked sub-layer, as in Keras.
  virtual void set_trainable(bool trainable);
  bool built() const { return built_; }

  // --- the Keras contract ---
  /// Creates the weights for inputs of these shapes (batch dimension may be kUnknownDim). Overrides
  /// must end by calling Layer::build (or UnaryLayer's) so the layer counts as built.
  virtual void build(const std::vector<Shape>& input_shapes);
  virtual std::vector<Tensor> call(const std::vector<Tensor>& inputs, const CallContext& ctx) = 0;
  virtual std::vector<Shape> compute_output_shape(const std::vector<Shape>& input_shapes) const = 0;
  /// Output dtypes for symbolic calls; float32 for every output unless overridden.
  virtual std::vector<DType> compute_output_dtype(const std::vector<DType>& input_dtypes,
                                                  const std::vector<Shape>& input_shapes) const;
  /// Keras's config dict: {"name", "trainable", "dtype"} plus each layer's constructor arguments.
  virtual nlohmann::json get_config() const;

  // --- running ---
  /// Builds from the inputs' shapes on first use, checks input_spec(), then runs call(). Errors name
  /// the layer and the expected and received shapes.
  std::vector<Tensor> operator()(const std::vector<Tensor>& inputs, bool training = false);
  /// For layers with one input and one output.
  Tensor operator()(const Tensor& x, bool training = false);
  /// With Keras's call keyword arguments: layer(x, {.mask = m, .training = true}).
  std::vector<Tensor> operator()(const std::vector<Tensor>& inputs, const CallOptions& options);
  Tensor operator()(const Tensor& x, const CallOptions& options);
  /// Keras's __call__ with its mask bookkeeping: runs the layer on `inputs` carrying `masks` (one per input,
  /// or empty) and returns the outputs with their masks: compute_mask()'s when the layer supports masking,
  /// none otherwise (a layer that does not support masking drops an input mask, with a warning, as Keras).
  MaskedOutputs call_with_masks(const std::vector<Tensor>& inputs, const std::vector<Tensor>& masks,
                                bool training = false);

  // --- masking (Keras's supports_masking / compute_mask) ---
  /// Whether the layer passes masks on (compute_mask) instead of dropping them.
  bool supports_masking() const { return supports_masking_; }
  /// The output masks for these inputs and input masks (called only when supports_masking()); by default
  /// the input masks as they are, output i taking input i's (Keras's `return previous_mask`).
  virtual std::vector<Tensor> compute_mask(const std::vector<Tensor>& inputs, const std::vector<Tensor>& masks) const;
  /// Records a Node: builds the layer from the symbolic shapes and returns its symbolic outputs.
  std::vector<SymbolicTensor> call_symbolic(const std::vector<SymbolicTensor>& inputs);

  // --- weights (Keras order: own trainable, own non-trainable, then tracked sub-layers) ---
  /// A regularizer adds its penalty on the value to losses() while the variable is trainable; a constraint
  /// is applied by the optimizer after each update (both as Keras's add_weight).
  Variable add_weight(const std::string& name, const Shape& shape, const Initializer& initializer = "glorot_uniform",
                      bool trainable = true, DType dtype = DType::f32, const Regularizer& regularizer = {},
                      const Constraint& constraint = {});
  std::vector<Variable> weights() const;
  std::vector<Variable> trainable_weights() const;
  std::vector<Variable> non_trainable_weights() const;
  std::vector<Tensor> get_weights() const;
  /// Checks the count and every shape (ValueError naming the layer, the expected and received values).
  void set_weights(const std::vector<Tensor>& values);
  /// ValueError if the layer is not built.
  int64_t count_params() const;

  /// A sub-layer whose weights are this layer's (RNN cell, Bidirectional halves, attention projections),
  /// with the name of the Keras attribute that holds it ("cell", "forward_layer", "query_dense"): weight
  /// files (.weights.h5) keep its variables under `<this layer's path>/<attribute>/vars`, as Keras does.
  /// Sub-layers tracked under one attribute form a list (Keras's `self.blocks = [...]`), whose items files
  /// name by snake-cased class instead (`blocks/dense`, `blocks/dense_1`); models track their layers so,
  /// as "layers".
  void track(std::shared_ptr<Layer> sublayer, std::string attribute);
  const std::vector<std::shared_ptr<Layer>>& tracked_layers() const { return tracked_; }
  /// The Keras attribute name of each tracked sub-layer, in tracked_layers() order.
  const std::vector<std::string>& tracked_attributes() const { return tracked_attributes_; }
  /// This layer's own variables, without its sub-layers': trainable ones, then non-trainable ones, each in
  /// creation order (the `vars/0, 1, ...` of a weights file).
  std::vector<Variable> own_weights() const;
  /// Sets every variable's path to `prefix/<layer name>/.../<variable name>`.
  void set_variable_paths(const std::string& prefix);

  const std::vector<InputSpec>& input_spec() const { return input_spec_; }

  // --- losses (Keras's add_loss / losses) ---
  /// Adds a scalar (or any tensor: its sum counts) to the training loss. Called from call(); the losses of
  /// the previous call are forgotten when the outermost layer call of a thread starts (Keras's entry
  /// layer), so a model's losses() are those of its last forward pass.
  void add_loss(const Tensor& loss);
  /// The add_loss() losses of the last call of this layer and of its sub-layers, then the penalty of each
  /// regularized trainable weight on its current value, as Keras's `layer.losses`. The trainer adds their
  /// sums to the loss it differentiates and logs.
  std::vector<Tensor> losses() const;
  /// Penalises each output of every call: regularizer(output) / batch size is added with add_loss (Keras's
  /// activity_regularizer, which any layer accepts). Empty: none.
  void set_activity_regularizer(Regularizer regularizer) { activity_regularizer_ = std::move(regularizer); }
  const Regularizer& activity_regularizer() const { return activity_regularizer_; }

 protected:
  /// Set by build(): one entry per input.
  std::vector<InputSpec> input_spec_;
  /// The number of inputs call() takes; checked before building (nullopt: any number ≥ 1).
  std::optional<size_t> expected_inputs_ = 1;
  /// Forgets the tracked sub-layers (a Sequential model re-tracks its layers after pop()).
  void clear_tracked() {
    tracked_.clear();
    tracked_attributes_.clear();
  }
  /// Marks the layer built without building anything (models whose layers are already built).
  void mark_built() { built_ = true; }
  /// Layers that keep a mask meaningful (elementwise, per-timestep and sequence layers) turn this on.
  void set_supports_masking(bool supports) { supports_masking_ = supports; }
  /// call() and the output masks; models override it to carry masks through their graph.
  virtual MaskedOutputs call_and_compute_mask(const std::vector<Tensor>& inputs, const CallContext& ctx);

 private:
  void check_inputs(const std::vector<Shape>& shapes) const;
  /// Forgets the add_loss() losses of this layer and its sub-layers.
  void clear_losses();

  std::string class_name_, name_;
  bool trainable_ = true;
  bool built_ = false;
  bool supports_masking_ = false;
  bool warned_mask_dropped_ = false;
  std::vector<Variable> own_weights_;
  std::vector<Tensor> added_losses_;
  Regularizer activity_regularizer_;
  std::vector<std::shared_ptr<Layer>> tracked_;
  std::vector<std::string> tracked_attributes_;
};

/// Base of layers with one input and one output: implement the single-tensor forms.
class UnaryLayer : public Layer {
 public:
  using Layer::Layer;
  using Layer::build;
  using Layer::call;
  using Layer::compute_mask;
  using Layer::compute_output_shape;
  using Layer::operator();

  /// Overrides must end by calling UnaryLayer::build(shape).
  virtual void build(const Shape& input_shape);
  virtual Tensor call(const Tensor& x, const CallContext& ctx) = 0;
  virtual Shape compute_output_shape(const Shape& input_shape) const = 0;
  /// The output's mask (called only when supports_masking()): the input's by default.
  virtual Tensor compute_mask(const Tensor& /*x*/, const Tensor& mask) const { return mask; }

  void build(const std::vector<Shape>& input_shapes) final;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, const CallContext& ctx) final;
  std::vector<Tensor> compute_mask(const std::vector<Tensor>& inputs, const std::vector<Tensor>& masks) const final;
  std::vector<Shape> compute_output_shape(const std::vector<Shape>& input_shapes) const final;
};

/// A value type sharing one layer; what models store and users pass around.
class LayerHandle {
 public:
  LayerHandle() = default;
  template <class T>
    requires std::derived_from<T, Layer>
  LayerHandle(std::shared_ptr<T> layer) : layer_(std::move(layer)) {}  // NOLINT: implicit upcast

  Layer* get() const { return layer_.get(); }
  Layer* operator->() const { return layer_.get(); }
  Layer& operator*() const { return *layer_; }
  const std::shared_ptr<Layer>& ptr() const { return layer_; }
  explicit operator bool() const { return layer_ != nullptr; }

  /// Symbolic calls (functional models). A layer with several outputs needs call_symbolic.
  SymbolicTensor operator()(const SymbolicTensor& x) const;
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& xs) const;
  /// Eager calls.
  Tensor operator()(const Tensor& x, bool training = false) const;
  std::vector<Tensor> operator()(const std::vector<Tensor>& xs, bool training = false) const;
  Tensor operator()(const Tensor& x, const CallOptions& options) const;
  std::vector<Tensor> operator()(const std::vector<Tensor>& xs, const CallOptions& options) const;
  std::vector<SymbolicTensor> call_symbolic(const std::vector<SymbolicTensor>& xs) const;

 private:
  std::shared_ptr<Layer> layer_;
};

/// A handle that knows the layer's concrete type: `handle->kernel()`.
template <class Impl>
class LayerHolder : public LayerHandle {
 public:
  LayerHolder() = default;
  explicit LayerHolder(std::shared_ptr<Impl> impl) : LayerHandle(std::move(impl)) {}
  Impl* get() const { return static_cast<Impl*>(LayerHandle::get()); }
  Impl* operator->() const { return get(); }
  Impl& operator*() const { return *get(); }
  std::shared_ptr<Impl> impl() const { return std::static_pointer_cast<Impl>(ptr()); }
};

template <class Impl, class... Args>
LayerHolder<Impl> make_layer(Args&&... args) {
  return LayerHolder<Impl>(std::make_shared<Impl>(std::forward<Args>(args)...));
}

namespace layers {

/// Rebuilds a layer from its config (the "config" dict of a serialised layer).
using LayerFactory = std::function<LayerHandle(const nlohmann::json& config)>;
/// Makes `class_name` known to deserialize(); KEEL_REGISTER_LAYER calls it at load time.
bool register_layer(const std::string& class_name, LayerFactory factory);
/// Whether deserialize() knows `class_name` (built in, or registered with register_layer).
bool is_registered(const std::string& class_name);
/// Keras's serialised form: {"module": "keras.layers", "class_name", "config", "registered_name": null}.
nlohmann::json serialize(const LayerHandle& layer);
/// Inverse of serialize (also accepts a bare {"class_name", "config"}); unknown class → ValueError.
LayerHandle deserialize(const nlohmann::json& serialized);

}  // namespace layers
}  // namespace keel

#define KEEL_LAYER_CONCAT_INNER(a, b) a##b
#define KEEL_LAYER_CONCAT(a, b) KEEL_LAYER_CONCAT_INNER(a, b)
/// KEEL_REGISTER_LAYER("Dense", factory): registers a config factory when the library loads.
#define KEEL_REGISTER_LAYER(class_name, factory) \
  static const bool KEEL_LAYER_CONCAT(keel_layer_registered_, __LINE__) = ::keel::layers::register_layer(class_name, factory)
