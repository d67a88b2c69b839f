// Recurrent layers (keras.layers.SimpleRNN / LSTM / GRU / Bidirectional) and their cells.
//   auto x = layers::Input({10, 8});                                   // (None, 10, 8)
//   auto h = layers::LSTM(32, {.return_sequences = true})(x);          // (None, 10, 32)
//   auto y = layers::Bidirectional(layers::GRU(16))(h);                 // (None, 32)
//   std::vector<Tensor> out = layers::LSTM(4, {.return_state = true})(std::vector<Tensor>{seq});  // {output, h, c}
// Each layer owns one cell sub-layer (named simple_rnn_cell / lstm_cell / gru_cell as in Keras) that
// holds the weights kernel (F, k·u), recurrent_kernel (u, k·u) and bias. The loop projects the whole
// sequence through the kernel once, then runs one recurrent matmul per step with keel::ops, so
// autograd differentiates it like any other graph.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keel/layers/activations.h"
#include "keel/layers/layer.h"

namespace keel::layers {

// --- cells ---

/// The weight penalties of a cell, from its options: on kernel, recurrent_kernel and bias.
struct RecurrentPenalties {
  Regularizer kernel_regularizer, recurrent_regularizer, bias_regularizer;
  Constraint kernel_constraint, recurrent_constraint, bias_constraint;
  template <class Options>
  static RecurrentPenalties of(const Options& o) {
    return {o.kernel_regularizer, o.recurrent_regularizer, o.bias_regularizer,
            o.kernel_constraint,  o.recurrent_constraint,  o.bias_constraint};
  }
};

/// Base of the recurrent cells: one time step. As a layer a cell takes {x_t (B, F), states... (B, u)} and
/// returns the new states; the step's output is the first of them (h).
class RNNCellImpl : public Layer {
 public:
  RNNCellImpl(std::string class_name, int64_t units, size_t state_count, double dropout, double recurrent_dropout,
              RecurrentPenalties penalties, std::string name);

  int64_t units() const { return units_; }
  size_t state_count() const { return state_count_; }
  double dropout() const { return dropout_; }
  double recurrent_dropout() const { return recurrent_dropout_; }

  /// x (..., F) · kernel + the input bias: what step() takes, computed for a whole sequence at once.
  virtual Tensor project_inputs(const Tensor& x) const = 0;
  /// One step from the projected input (B, k·u) and the previous states; returns the new states.
  virtual std::vector<Tensor> step(const Tensor& projected, const std::vector<Tensor>& states) const = 0;

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, const CallContext& ctx) override;
  std::vector<Shape> compute_output_shape(const std::vector<Shape>& input_shapes) const override;

 protected:
  /// Creates kernel, recurrent_kernel and bias for `input_dim` features.
  virtual void build_cell(int64_t input_dim) = 0;
  /// The config keys every cell shares (units, dropout, recurrent_dropout, seed, the penalties).
  nlohmann::json cell_config() const;
  /// add_weight for "kernel", "recurrent_kernel" or "bias", with that weight's regularizer and constraint.
  Variable add_cell_weight(const std::string& name, const Shape& shape, const Initializer& initializer);

 private:
  RecurrentPenalties penalties_;
  int64_t units_;
  size_t state_count_;
  double dropout_, recurrent_dropout_;
};

struct SimpleRNNCellOptions {
  ActivationFn activation = "tanh";
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer recurrent_initializer = "orthogonal";
  Initializer bias_initializer = "zeros";
  Regularizer kernel_regularizer = {};
  Regularizer recurrent_regularizer = {};
  Regularizer bias_regularizer = {};
  Constraint kernel_constraint = {};
  Constraint recurrent_constraint = {};
  Constraint bias_constraint = {};
  double dropout = 0.0;
  double recurrent_dropout = 0.0;  // used by layers::SimpleRNN (one mask per sequence, in training)
  std::string name = "";
};

/// h_t = activation(x_t·W + b + h_{t-1}·U).
class SimpleRNNCellImpl : public RNNCellImpl {
 public:
  SimpleRNNCellImpl(int64_t units, SimpleRNNCellOptions options = {});
  Tensor project_inputs(const Tensor& x) const override;
  std::vector<Tensor> step(const Tensor& projected, const std::vector<Tensor>& states) const override;
  nlohmann::json get_config() const override;

  const SimpleRNNCellOptions& options() const { return options_; }
  const Variable& kernel() const { return kernel_; }
  const Variable& recurrent_kernel() const { return recurrent_kernel_; }
  const Variable& bias() const { return bias_; }  // undefined when use_bias is false

 protected:
  void build_cell(int64_t input_dim) override;

 private:
  SimpleRNNCellOptions options_;
  Variable kernel_, recurrent_kernel_, bias_;
};

struct LSTMCellOptions {
  ActivationFn activation = "tanh";
  ActivationFn recurrent_activation = "sigmoid";
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer recurrent_initializer = "orthogonal";
  Initializer bias_initializer = "zeros";
  bool unit_forget_bias = true;  // the forget gate's bias starts at 1 whatever bias_initializer is
  Regularizer kernel_regularizer = {};
  Regularizer recurrent_regularizer = {};
  Regularizer bias_regularizer = {};
  Constraint kernel_constraint = {};
  Constraint recurrent_constraint = {};
  Constraint bias_constraint = {};
  double dropout = 0.0;
  double recurrent_dropout = 0.0;  // accepted and saved; no effect, as in Keras 3 (its default implementation=2)
  std::string name = "";
};

/// Gates i, f, c, o in the 4u columns of the weights; states {h, c}.
class LSTMCellImpl : public RNNCellImpl {
 public:
  LSTMCellImpl(int64_t units, LSTMCellOptions options = {});
  Tensor project_inputs(const Tensor& x) const override;
  std::vector<Tensor> step(const Tensor& projected, const std::vector<Tensor>& states) const override;
  nlohmann::json get_config() const override;

  const LSTMCellOptions& options() const { return options_; }
  const Variable& kernel() const { return kernel_; }
  const Variable& recurrent_kernel() const { return recurrent_kernel_; }
  const Variable& bias() const { return bias_; }

 protected:
  void build_cell(int64_t input_dim) override;

 private:
  LSTMCellOptions options_;
  Variable kernel_, recurrent_kernel_, bias_;
};

struct GRUCellOptions {
  ActivationFn activation = "tanh";
  ActivationFn recurrent_activation = "sigmoid";
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer recurrent_initializer = "orthogonal";
  Initializer bias_initializer = "zeros";
  Regularizer kernel_regularizer = {};
  Regularizer recurrent_regularizer = {};
  Regularizer bias_regularizer = {};
  Constraint kernel_constraint = {};
  Constraint recurrent_constraint = {};
  Constraint bias_constraint = {};
  double dropout = 0.0;
  double recurrent_dropout = 0.0;  // accepted and saved; no effect, as in Keras 3 (its default implementation=2)
  bool reset_after = true;         // bias (2, 3u) and the reset gate applied after the recurrent matmul
  std::string name = "";
};

/// Gates z (update), r (reset), h (candidate) in the 3u columns; h_t = z⊙h_{t-1} + (1−z)⊙ĥ.
class GRUCellImpl : public RNNCellImpl {
 public:
  GRUCellImpl(int64_t units, GRUCellOptions options = {});
  Tensor project_inputs(const Tensor& x) const override;
  std::vector<Tensor> step(const Tensor& projected, const std::vector<Tensor>& states) const override;
  nlohmann::json get_config() const override;

  const GRUCellOptions& options() const { return options_; }
  const Variable& kernel() const { return kernel_; }
  const Variable& recurrent_kernel() const { return recurrent_kernel_; }
  const Variable& bias() const { return bias_; }

 protected:
  void build_cell(int64_t input_dim) override;

 private:
  GRUCellOptions options_;
  Variable kernel_, recurrent_kernel_, bias_;
};

class SimpleRNNCell : public LayerHolder<SimpleRNNCellImpl> {
 public:
  SimpleRNNCell(int64_t units, SimpleRNNCellOptions options = {});
};
class LSTMCell : public LayerHolder<LSTMCellImpl> {
 public:
  LSTMCell(int64_t units, LSTMCellOptions options = {});
};
class GRUCell : public LayerHolder<GRUCellImpl> {
 public:
  GRUCell(int64_t units, GRUCellOptions options = {});
};

// --- layers ---

/// The options of keras.layers.RNN that every recurrent layer shares.
struct RNNLoopOptions {
  bool return_sequences = false;
  bool return_state = false;
  bool go_backwards = false;  // the sequence output stays in processing (reversed) order, as in Keras
  /// Each call starts from the final states of the previous call (per sample index; the batch size must stay
  /// the same) until reset_states(); the states are not weights (not saved), as in Keras.
  bool stateful = false;
  bool unroll = false;        // accepted and saved; the loop is always unrolled eagerly
  /// With a mask, a masked step's output is 0 instead of the previous step's output (states always keep
  /// their previous values there). Bidirectional sets it to return_sequences, as Keras.
  bool zero_output_for_mask = false;
};

/// Runs a cell over the time axis of a (B, T, F) input from zero initial states. Outputs: the last
/// output (B, u) or the sequence (B, T, u), then with return_state the final states (B, u) each.
/// The loop of SimpleRNN, LSTM and GRU. Inputs: {x (batch, timesteps, features)}, or {x, initial states...}
/// (Keras's initial_state: h for SimpleRNN and GRU, h and c for LSTM, each (batch, units)); without them the
/// states start at zero.
class RNNImpl : public Layer {
 public:
  RNNImpl(std::string class_name, std::shared_ptr<RNNCellImpl> cell, RNNLoopOptions loop, std::string name);

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, const CallContext& ctx) override;
  std::vector<Shape> compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  /// The sequence's mask for a sequence output; none for a last output and for the states.
  std::vector<Tensor> compute_mask(const std::vector<Tensor>& inputs, const std::vector<Tensor>& masks) const override;
  /// The cell's config keys flattened in (as Keras's LSTM/GRU/SimpleRNN do) plus the RNN loop keys.
  nlohmann::json get_config() const override;

  const std::shared_ptr<RNNCellImpl>& cell() const { return cell_; }
  int64_t units() const { return cell_->units(); }
  const RNNLoopOptions& loop_options() const { return loop_; }
  bool return_sequences() const { return loop_.return_sequences; }
  bool return_state() const { return loop_.return_state; }
  bool go_backwards() const { return loop_.go_backwards; }
  void set_zero_output_for_mask(bool zero) { loop_.zero_output_for_mask = zero; }
  /// stateful: forgets the carried states (the next call starts from zeros). ValueError when not stateful.
  void reset_states();
  /// stateful: the states the next call starts from (empty before the first call or after reset_states()).
  const std::vector<Tensor>& states() const { return carried_; }

 private:
  std::shared_ptr<RNNCellImpl> cell_;
  RNNLoopOptions loop_;
  std::vector<Tensor> carried_;  // stateful: the last call's final states
};

struct RNNOptions {
  bool return_sequences = false;
  bool return_state = false;
  bool go_backwards = false;
  bool stateful = false;
  bool unroll = false;
  bool zero_output_for_mask = false;
  std::string name = "";
};

/// keras.layers.RNN(cell): the recurrent loop over any cell — a built-in one or your own. A custom cell derives
/// from RNNCellImpl and implements project_inputs (the input projection of a whole sequence), step (one time
/// step from the projected input and the states; the first new state is the output), build_cell (its weights,
/// with add_cell_weight or add_weight) and get_config; register it with KEEL_REGISTER_LAYER so that configs
/// holding it load. Config: Keras's {"cell": <serialized cell>, return_sequences, ...}.
class RNN : public LayerHolder<RNNImpl> {
 public:
  explicit RNN(const LayerHandle& cell, RNNOptions options = {});
};

struct SimpleRNNOptions {
  ActivationFn activation = "tanh";
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer recurrent_initializer = "orthogonal";
  Initializer bias_initializer = "zeros";
  Regularizer kernel_regularizer = {};
  Regularizer recurrent_regularizer = {};
  Regularizer bias_regularizer = {};
  Regularizer activity_regularizer = {};
  Constraint kernel_constraint = {};
  Constraint recurrent_constraint = {};
  Constraint bias_constraint = {};
  double dropout = 0.0;
  double recurrent_dropout = 0.0;  // on the previous output, one mask per sequence, in training
  bool return_sequences = false;
  bool return_state = false;
  bool go_backwards = false;
  bool stateful = false;  // only false
  bool unroll = false;
  bool zero_output_for_mask = false;
  std::string name = "";
};

struct LSTMOptions {
  ActivationFn activation = "tanh";
  ActivationFn recurrent_activation = "sigmoid";
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer recurrent_initializer = "orthogonal";
  Initializer bias_initializer = "zeros";
  bool unit_forget_bias = true;
  Regularizer kernel_regularizer = {};
  Regularizer recurrent_regularizer = {};
  Regularizer bias_regularizer = {};
  Regularizer activity_regularizer = {};
  Constraint kernel_constraint = {};
  Constraint recurrent_constraint = {};
  Constraint bias_constraint = {};
  double dropout = 0.0;
  double recurrent_dropout = 0.0;  // accepted and saved; no effect, as in Keras 3 (its default implementation=2)
  bool return_sequences = false;
  bool return_state = false;
  bool go_backwards = false;
  bool stateful = false;  // only false
  bool unroll = false;
  bool zero_output_for_mask = false;
  std::string name = "";
};

struct GRUOptions {
  ActivationFn activation = "tanh";
  ActivationFn recurrent_activation = "sigmoid";
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer recurrent_initializer = "orthogonal";
  Initializer bias_initializer = "zeros";
  Regularizer kernel_regularizer = {};
  Regularizer recurrent_regularizer = {};
  Regularizer bias_regularizer = {};
  Regularizer activity_regularizer = {};
  Constraint kernel_constraint = {};
  Constraint recurrent_constraint = {};
  Constraint bias_constraint = {};
  double dropout = 0.0;
  double recurrent_dropout = 0.0;  // accepted and saved; no effect, as in Keras 3 (its default implementation=2)
  bool return_sequences = false;
  bool return_state = false;
  bool go_backwards = false;
  bool stateful = false;  // only false
  bool unroll = false;
  bool zero_output_for_mask = false;
  bool reset_after = true;
  std::string name = "";
};

class SimpleRNNImpl : public RNNImpl {
 public:
  SimpleRNNImpl(int64_t units, SimpleRNNOptions options = {});
  SimpleRNNCellImpl& simple_rnn_cell() const { return static_cast<SimpleRNNCellImpl&>(*cell()); }
};

class LSTMImpl : public RNNImpl {
 public:
  LSTMImpl(int64_t units, LSTMOptions options = {});
  LSTMCellImpl& lstm_cell() const { return static_cast<LSTMCellImpl&>(*cell()); }
};

class GRUImpl : public RNNImpl {
 public:
  GRUImpl(int64_t units, GRUOptions options = {});
  GRUCellImpl& gru_cell() const { return static_cast<GRUCellImpl&>(*cell()); }
};

class SimpleRNN : public LayerHolder<SimpleRNNImpl> {
 public:
  SimpleRNN(int64_t units, SimpleRNNOptions options = {});
};
class LSTM : public LayerHolder<LSTMImpl> {
 public:
  LSTM(int64_t units, LSTMOptions options = {});
};
class GRU : public LayerHolder<GRUImpl> {
 public:
  GRU(int64_t units, GRUOptions options = {});
};

// --- Bidirectional ---

struct BidirectionalOptions {
  /// "concat", "sum", "mul", "ave", or nullopt (Keras's None: both outputs returned separately).
  std::optional<std::string> merge_mode = "concat";
  /// Optional layer for the backward direction; it must have the opposite go_backwards and the same
  /// return_sequences / return_state / stateful. Empty: a copy of `layer` with go_backwards = true.
  LayerHandle backward_layer = {};
  std::string name = "";
};

/// Runs fresh copies of an RNN forwards and backwards (names "forward_<name>" and "backward_<name>",
/// weights in that order); the backward sequence output is flipped back to time order before merging.
/// Outputs: the merged output (two outputs when merge_mode is None), then with return_state the forward
/// states followed by the backward states.
class BidirectionalImpl : public Layer {
 public:
  BidirectionalImpl(const LayerHandle& layer, BidirectionalOptions options = {});

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, const CallContext& ctx) override;
  std::vector<Shape> compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  /// The sequence's mask for each sequence output (both with merge_mode None); none otherwise.
  std::vector<Tensor> compute_mask(const std::vector<Tensor>& inputs, const std::vector<Tensor>& masks) const override;
  nlohmann::json get_config() const override;

  const std::shared_ptr<RNNImpl>& forward_layer() const { return forward_; }
  const std::shared_ptr<RNNImpl>& backward_layer() const { return backward_; }
  const std::optional<std::string>& merge_mode() const { return merge_mode_; }
  /// stateful: resets both halves.
  void reset_states();

 private:
  std::shared_ptr<RNNImpl> forward_, backward_;
  std::optional<std::string> merge_mode_;
};

class Bidirectional : public LayerHolder<BidirectionalImpl> {
 public:
  Bidirectional(const LayerHandle& layer, BidirectionalOptions options = {});
};

// --- TimeDistributed ---

struct TimeDistributedOptions {
  std::string name = "";
};

/// keras.layers.TimeDistributed: applies `layer` to every time step of a (batch, time, ...) input, one step
/// at a time as Keras 3 does (so BatchNormalization takes each step's statistics), with the same weights.
/// Output (batch, time, ...layer's output); a mask passes through (and reaches the layer step by step).
class TimeDistributedImpl : public UnaryLayer {
 public:
  TimeDistributedImpl(const LayerHandle& layer, TimeDistributedOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  std::vector<DType> compute_output_dtype(const std::vector<DType>& input_dtypes,
                                          const std::vector<Shape>& input_shapes) const override;
  nlohmann::json get_config() const override;
  const LayerHandle& layer() const { return layer_; }

 private:
  Shape step_shape(const Shape& input_shape) const;
  LayerHandle layer_;
};

class TimeDistributed : public LayerHolder<TimeDistributedImpl> {
 public:
  explicit TimeDistributed(const LayerHandle& layer, TimeDistributedOptions options = {});
};

}  // namespace keel::layers
