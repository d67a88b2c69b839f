// The RNN loop (RNNImpl: the sequence through a cell, one step at a time) and the layers built on it,
// keras.layers.SimpleRNN / LSTM / GRU.
#include <nlohmann/json.hpp>

#include "keel/layers/recurrent.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "layers/config_util.h"
#include "layers/rnn_util.h"
#include "ops/kernel_plan.h"

namespace keel::layers {

// --- RNNImpl ---

RNNImpl::RNNImpl(std::string class_name, std::shared_ptr<RNNCellImpl> cell, RNNLoopOptions loop, std::string name)
    : Layer(std::move(class_name), std::move(name)), cell_(std::move(cell)), loop_(loop) {
  set_supports_masking(true);
  input_spec_ = {detail::rank_spec(3)};
  expected_inputs_ = std::nullopt;  // x, or x and the initial states (checked in build)
  track(cell_, "cell");
}

void RNNImpl::build(const std::vector<Shape>& input_shapes) {
  const size_t states = cell_->state_count();
  KEEL_CHECK(input_shapes.size() == 1 || input_shapes.size() == 1 + states, ValueError, "Layer \"", name(),
             "\" takes a sequence, or a sequence and ", states, " initial state", states == 1 ? "" : "s",
             " (initial_state); it received ", input_shapes.size(), " inputs");
  const Shape& s = input_shapes.at(0);
  KEEL_CHECK(s.size() == 3, ShapeError, "Layer \"", name(),
             "\" expects a (batch, timesteps, features) input, received ", partial_shape_str(s));
  KEEL_CHECK(s[2] != kUnknownDim, ShapeError, "Layer \"", name(), "\": the feature dimension of the input shape ",
             partial_shape_str(s), " must be known to build it");
  if (!cell_->built()) {
    std::vector<Shape> cell_shapes{{s[0], s[2]}};
    for (size_t i = 0; i < cell_->state_count(); ++i) cell_shapes.push_back({s[0], cell_->units()});
    cell_->build(cell_shapes);
  }
  input_spec_ = {detail::rank_spec(3, {{-1, s[2]}})};
  for (size_t i = 1; i < input_shapes.size(); ++i) input_spec_.push_back(detail::rank_spec(2, {{-1, cell_->units()}}));
  set_variable_paths("");  // "lstm/lstm_cell/kernel", as Keras names the cell's variables
  Layer::build(input_shapes);
}

std::vector<Tensor> RNNImpl::call(const std::vector<Tensor>& inputs, const CallContext& ctx) {
  Tensor x = inputs[0];
  const int64_t batch = x.shape()[0], steps = x.shape()[1], features = x.shape()[2];
  KEEL_CHECK(steps > 0, ValueError, "Layer \"", name(),
             "\" received an input with no time steps: ", shape_str(x.shape()));
  const double rate = cell_->dropout();
  if (ctx.training && rate > 0.0 && rate < 1.0)
    x = x * ops::expand_dims(detail::dropout_mask(batch, features, rate), 1);  // one mask for every step

  // The input projection of every step at once; only the recurrent matmul stays inside the loop.
  const Tensor projected = cell_->project_inputs(x);
  const int64_t width = projected.shape()[2];
  std::vector<Tensor> states(cell_->state_count(), zeros({batch, cell_->units()}));
  if (inputs.size() > 1) {
    KEEL_CHECK(inputs.size() == 1 + states.size(), ValueError, "Layer \"", name(), "\" takes ", states.size(),
               " initial states, received ", inputs.size() - 1);
    for (size_t i = 0; i < states.size(); ++i) {
      KEEL_CHECK(inputs[i + 1].shape() == (Shape{batch, cell_->units()}), ShapeError, "Layer \"", name(),
                 "\": initial state ", i, " must have shape ", shape_str(Shape{batch, cell_->units()}),
                 " (batch, units), received ", shape_str(inputs[i + 1].shape()));
      states[i] = inputs[i + 1];
    }
  } else if (loop_.stateful && !carried_.empty()) {
    KEEL_CHECK(carried_[0].shape()[0] == batch, ValueError, "Layer \"", name(),
               "\" is stateful and carries states for ", carried_[0].shape()[0], " samples, but received a batch of ",
               batch, ": a stateful RNN needs the same batch size on every call (call reset_states() to start afresh)");
    states = carried_;
  }
  if (loop_.stateful) {
    // A recorded step would replay the states it started from, not the carried ones.
    if (auto* recorder = KernelPlanRecorder::active())
      recorder->refuse("layer \"" + name() + "\" is a stateful RNN (its states change between steps)");
  }
  // Keras 3 applies recurrent dropout in SimpleRNN only (its LSTM and GRU cells' default implementation=2
  // ignore it): the previous output times one inverted-dropout mask per sequence.
  Tensor recurrent_keep;
  const double recurrent_rate = cell_->recurrent_dropout();
  if (ctx.training && recurrent_rate > 0.0 && recurrent_rate < 1.0 &&
      dynamic_cast<const SimpleRNNCellImpl*>(cell_.get()) != nullptr)
    recurrent_keep = detail::dropout_mask(batch, cell_->units(), recurrent_rate);
  // A mask (batch, timesteps): at a masked step the states keep their values and the output is the previous
  // one (zeros before any, or always with zero_output_for_mask), as Keras's backend rnn.
  const Tensor mask = ctx.mask(0);
  KEEL_CHECK(!mask.defined() || mask.shape() == (Shape{batch, steps}), ShapeError, "Layer \"", name(),
             "\": the mask must have shape (batch, timesteps) = ", shape_str(Shape{batch, steps}), ", received ",
             shape_str(mask.defined() ? mask.shape() : Shape{}));
  std::vector<Tensor> outputs;
  Tensor output;
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t t = loop_.go_backwards ? steps - 1 - k : k;
    const Tensor xt = ops::reshape(ops::slice_axis(projected, 1, t, t + 1), {batch, width});
    std::vector<Tensor> next;
    if (recurrent_keep.defined()) {
      std::vector<Tensor> dropped = states;
      dropped[0] = dropped[0] * recurrent_keep;
      next = cell_->step(xt, dropped);
    } else {
      next = cell_->step(xt, states);
    }
    if (mask.defined()) {
      const Tensor kept = ops::reshape(ops::slice_axis(mask, 1, t, t + 1), {batch, 1});
      const Tensor held = loop_.zero_output_for_mask || !output.defined()
                              ? zeros(next[0].shape(), next[0].dtype(), next[0].device())
                              : output;
      output = ops::where(kept, next[0], held);
      for (size_t i = 0; i < next.size(); ++i) next[i] = ops::where(kept, next[i], states[i]);
    } else {
      output = next[0];
    }
    states = std::move(next);
    if (loop_.return_sequences) outputs.push_back(output);
  }
  std::vector<Tensor> result{loop_.return_sequences ? ops::stack(outputs, 1) : output};
  if (loop_.return_state) result.insert(result.end(), states.begin(), states.end());
  if (loop_.stateful) {
    // Keras assigns the final states to its state variables: the next call starts there, no gradient flows back.
    carried_.clear();
    for (const Tensor& s : states) carried_.push_back(s.detach());
  }
  return result;
}

void RNNImpl::reset_states() {
  KEEL_CHECK(loop_.stateful, ValueError, "Layer \"", name(), "\" is not stateful: reset_states() needs stateful=true");
  carried_.clear();
}

std::vector<Shape> RNNImpl::compute_output_shape(const std::vector<Shape>& input_shapes) const {
  const Shape& s = input_shapes.at(0);
  KEEL_CHECK(s.size() == 3, ShapeError, "Layer \"", name(),
             "\" expects a (batch, timesteps, features) input, received ", partial_shape_str(s));
  const int64_t u = cell_->units();
  std::vector<Shape> out{loop_.return_sequences ? Shape{s[0], s[1], u} : Shape{s[0], u}};
  if (loop_.return_state)
    for (size_t i = 0; i < cell_->state_count(); ++i) out.push_back({s[0], u});
  return out;
}

std::vector<Tensor> RNNImpl::compute_mask(const std::vector<Tensor>&, const std::vector<Tensor>& masks) const {
  std::vector<Tensor> out{loop_.return_sequences && !masks.empty() ? masks[0] : Tensor()};
  if (loop_.return_state) out.resize(1 + cell_->state_count());
  return out;
}

nlohmann::json RNNImpl::get_config() const {
  nlohmann::json c;
  if (class_name() == "RNN") {
    // keras.layers.RNN keeps its cell serialized under "cell"; SimpleRNN/LSTM/GRU flatten the cell's keys.
    c = Layer::get_config();
    c["cell"] = serialize(LayerHandle(cell_));
  } else {
    c = cell_->get_config();
    const nlohmann::json base = Layer::get_config();
    for (const auto& [key, value] : base.items()) c[key] = value;  // this layer's name, not the cell's
    c["activity_regularizer"] = activity_regularizer().get_config();
  }
  c["return_sequences"] = loop_.return_sequences;
  c["return_state"] = loop_.return_state;
  c["go_backwards"] = loop_.go_backwards;
  c["stateful"] = loop_.stateful;
  c["unroll"] = loop_.unroll;
  c["zero_output_for_mask"] = loop_.zero_output_for_mask;
  return c;
}

// --- SimpleRNN / LSTM / GRU ---

SimpleRNNImpl::SimpleRNNImpl(int64_t units, SimpleRNNOptions o)
    : RNNImpl("SimpleRNN",
              std::make_shared<SimpleRNNCellImpl>(
                  units, detail::with_penalties(SimpleRNNCellOptions{.activation = o.activation,
                                                                     .use_bias = o.use_bias,
                                                                     .kernel_initializer = o.kernel_initializer,
                                                                     .recurrent_initializer = o.recurrent_initializer,
                                                                     .bias_initializer = o.bias_initializer,
                                                                     .dropout = o.dropout,
                                                                     .recurrent_dropout = o.recurrent_dropout,
                                                                     .name = "simple_rnn_cell"},
                                                o)),
              RNNLoopOptions{o.return_sequences, o.return_state, o.go_backwards, o.stateful, o.unroll,
                             o.zero_output_for_mask},
              o.name) {
  set_activity_regularizer(o.activity_regularizer);
}

LSTMImpl::LSTMImpl(int64_t units, LSTMOptions o)
    : RNNImpl("LSTM",
              std::make_shared<LSTMCellImpl>(
                  units, detail::with_penalties(LSTMCellOptions{.activation = o.activation,
                                                                .recurrent_activation = o.recurrent_activation,
                                                                .use_bias = o.use_bias,
                                                                .kernel_initializer = o.kernel_initializer,
                                                                .recurrent_initializer = o.recurrent_initializer,
                                                                .bias_initializer = o.bias_initializer,
                                                                .unit_forget_bias = o.unit_forget_bias,
                                                                .dropout = o.dropout,
                                                                .recurrent_dropout = o.recurrent_dropout,
                                                                .name = "lstm_cell"},
                                                o)),
              RNNLoopOptions{o.return_sequences, o.return_state, o.go_backwards, o.stateful, o.unroll,
                             o.zero_output_for_mask},
              o.name) {
  set_activity_regularizer(o.activity_regularizer);
}

GRUImpl::GRUImpl(int64_t units, GRUOptions o)
    : RNNImpl("GRU",
              std::make_shared<GRUCellImpl>(
                  units, detail::with_penalties(GRUCellOptions{.activation = o.activation,
                                                               .recurrent_activation = o.recurrent_activation,
                                                               .use_bias = o.use_bias,
                                                               .kernel_initializer = o.kernel_initializer,
                                                               .recurrent_initializer = o.recurrent_initializer,
                                                               .bias_initializer = o.bias_initializer,
                                                               .dropout = o.dropout,
                                                               .recurrent_dropout = o.recurrent_dropout,
                                                               .reset_after = o.reset_after,
                                                               .name = "gru_cell"},
                                                o)),
              RNNLoopOptions{o.return_sequences, o.return_state, o.go_backwards, o.stateful, o.unroll,
                             o.zero_output_for_mask},
              o.name) {
  set_activity_regularizer(o.activity_regularizer);
}

namespace {
std::shared_ptr<RNNCellImpl> as_cell(const LayerHandle& cell) {
  KEEL_CHECK(static_cast<bool>(cell), ValueError, "RNN: `cell` is an empty layer handle");
  auto c = std::dynamic_pointer_cast<RNNCellImpl>(cell.ptr());
  KEEL_CHECK(c != nullptr, ValueError,
             "RNN: `cell` must be a recurrent cell (SimpleRNNCell, LSTMCell, GRUCell or a "
             "class derived from RNNCellImpl). Received: ",
             cell->class_name(), " \"", cell->name(), "\"");
  return c;
}
}  // namespace

RNN::RNN(const LayerHandle& cell, RNNOptions o)
    : LayerHolder(std::make_shared<RNNImpl>("RNN", as_cell(cell),
                                            RNNLoopOptions{o.return_sequences, o.return_state, o.go_backwards,
                                                           o.stateful, o.unroll, o.zero_output_for_mask},
                                            o.name)) {}

SimpleRNN::SimpleRNN(int64_t units, SimpleRNNOptions options)
    : LayerHolder(std::make_shared<SimpleRNNImpl>(units, std::move(options))) {}
LSTM::LSTM(int64_t units, LSTMOptions options) : LayerHolder(std::make_shared<LSTMImpl>(units, std::move(options))) {}
GRU::GRU(int64_t units, GRUOptions options) : LayerHolder(std::make_shared<GRUImpl>(units, std::move(options))) {}

// --- registration ---

KEEL_REGISTER_LAYER("RNN", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      RNN(deserialize(c.at("cell")), {.return_sequences = c.value("return_sequences", false),
                                      .return_state = c.value("return_state", false),
                                      .go_backwards = c.value("go_backwards", false),
                                      .stateful = c.value("stateful", false),
                                      .unroll = c.value("unroll", false),
                                      .zero_output_for_mask = c.value("zero_output_for_mask", false),
                                      .name = detail::name_from(c)}),
      c);
});

KEEL_REGISTER_LAYER("SimpleRNN", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      SimpleRNN(c.at("units").get<int64_t>(),
                detail::with_penalties_from(
                    SimpleRNNOptions{
                        .activation = detail::activation_from(c),
                        .use_bias = c.value("use_bias", true),
                        .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                        .recurrent_initializer = detail::initializer_from(c, "recurrent_initializer", "orthogonal"),
                        .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                        .dropout = c.value("dropout", 0.0),
                        .recurrent_dropout = c.value("recurrent_dropout", 0.0),
                        .return_sequences = c.value("return_sequences", false),
                        .return_state = c.value("return_state", false),
                        .go_backwards = c.value("go_backwards", false),
                        .stateful = c.value("stateful", false),
                        .unroll = c.value("unroll", false),
                        .zero_output_for_mask = c.value("zero_output_for_mask", false),
                        .name = detail::name_from(c)},
                    c)),
      c);
});

KEEL_REGISTER_LAYER("LSTM", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      LSTM(c.at("units").get<int64_t>(),
           detail::with_penalties_from(
               LSTMOptions{.activation = detail::activation_from(c),
                           .recurrent_activation = detail::activation_from(c, "recurrent_activation"),
                           .use_bias = c.value("use_bias", true),
                           .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                           .recurrent_initializer = detail::initializer_from(c, "recurrent_initializer", "orthogonal"),
                           .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                           .unit_forget_bias = c.value("unit_forget_bias", true),
                           .dropout = c.value("dropout", 0.0),
                           .recurrent_dropout = c.value("recurrent_dropout", 0.0),
                           .return_sequences = c.value("return_sequences", false),
                           .return_state = c.value("return_state", false),
                           .go_backwards = c.value("go_backwards", false),
                           .stateful = c.value("stateful", false),
                           .unroll = c.value("unroll", false),
                           .zero_output_for_mask = c.value("zero_output_for_mask", false),
                           .name = detail::name_from(c)},
               c)),
      c);
});

KEEL_REGISTER_LAYER("GRU", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      GRU(c.at("units").get<int64_t>(),
          detail::with_penalties_from(
              GRUOptions{.activation = detail::activation_from(c),
                         .recurrent_activation = detail::activation_from(c, "recurrent_activation"),
                         .use_bias = c.value("use_bias", true),
                         .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                         .recurrent_initializer = detail::initializer_from(c, "recurrent_initializer", "orthogonal"),
                         .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                         .dropout = c.value("dropout", 0.0),
                         .recurrent_dropout = c.value("recurrent_dropout", 0.0),
                         .return_sequences = c.value("return_sequences", false),
                         .return_state = c.value("return_state", false),
                         .go_backwards = c.value("go_backwards", false),
                         .stateful = c.value("stateful", false),
                         .unroll = c.value("unroll", false),
                         .zero_output_for_mask = c.value("zero_output_for_mask", false),
                         .reset_after = c.value("reset_after", true),
                         .name = detail::name_from(c)},
              c)),
      c);
});

}  // namespace keel::layers
