// Functional models: the DAG of layer calls between symbolic inputs and outputs, run in topological
// order (keras/src/models/functional.py, keras-reference §1.2).
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "keel/core/naming.h"
#include "keel/layers/recurrent.h"
#include "keel/models/model.h"
#include "keel/ops/elementwise.h"

namespace keel {

using layers::InputLayerImpl;
using layers::input_layer_of;

namespace {

/// Depth-first post-order from the outputs: every node after the nodes it reads.
void visit(const std::shared_ptr<Node>& node, std::set<Node*>& seen, std::vector<std::shared_ptr<Node>>& order) {
  if (!node || seen.count(node.get())) return;
  seen.insert(node.get());
  for (const auto& in : node->inputs) visit(in.node, seen, order);
  order.push_back(node);
}

}  // namespace

FunctionalImpl::FunctionalImpl(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs, std::string name)
    : ModelImpl("Functional", name.empty() ? naming::unique_name("functional") : std::move(name)),
      inputs_(std::move(inputs)),
      outputs_(std::move(outputs)) {
  KEEL_CHECK(!inputs_.empty() && !outputs_.empty(), ValueError, "Model \"", this->name(),
             "\" needs at least one input and one output");
  for (size_t i = 0; i < inputs_.size(); ++i)
    KEEL_CHECK(input_layer_of(inputs_[i]) != nullptr, ValueError, "Model \"", this->name(), "\": input ", i,
               " is not the output of layers::Input(); every model input must be one");
  for (size_t i = 0; i < outputs_.size(); ++i)
    KEEL_CHECK(outputs_[i].node != nullptr, ValueError, "Model \"", this->name(), "\": output ", i,
               " is not a symbolic tensor produced by a layer call");
  std::set<Node*> seen;
  for (const auto& o : outputs_) visit(o.node, seen, nodes_);
  // Every InputLayer the outputs depend on must be among the model's inputs.
  for (const auto& node : nodes_) {
    auto input_layer = std::dynamic_pointer_cast<InputLayerImpl>(node->layer);
    if (!input_layer) continue;
    bool declared = false;
    for (const auto& in : inputs_) declared = declared || in.node == node;
    KEEL_CHECK(declared, ValueError, "Model \"", this->name(), "\": the outputs depend on input \"",
               input_layer->name(), "\" which is not in the model's inputs (graph disconnected)");
  }
  track_layers(layers());
  for (const auto& in : inputs_) {
    input_spec_.emplace_back();
    input_spec_.back().shape = in.shape;
  }
  expected_inputs_ = inputs_.size();
  mark_built();
}

std::vector<LayerHandle> FunctionalImpl::layers() const {
  std::vector<LayerHandle> out;
  std::set<Layer*> seen;
  // Input layers first, in input order, then the rest in execution order.
  for (const auto& in : inputs_)
    if (seen.insert(in.node->layer.get()).second) out.push_back(in.node->layer);
  for (const auto& node : nodes_)
    if (seen.insert(node->layer.get()).second) out.push_back(node->layer);
  return out;
}

std::vector<Tensor> FunctionalImpl::call(const std::vector<Tensor>& inputs, const CallContext& ctx) {
  return call_and_compute_mask(inputs, ctx).outputs;
}

MaskedOutputs FunctionalImpl::call_and_compute_mask(const std::vector<Tensor>& inputs, const CallContext& ctx) {
  // Every value of the graph with its Keras mask (undefined: none), keyed by (node, output index).
  std::map<std::pair<Node*, int>, Tensor> values, masks;
  // Keras converts each input to its Input's dtype first (integer or boolean arrays into a float32 model).
  for (size_t i = 0; i < inputs_.size(); ++i) {
    values[{inputs_[i].node.get(), 0}] =
        inputs[i].dtype() == inputs_[i].dtype ? inputs[i] : ops::cast(inputs[i], inputs_[i].dtype);
    masks[{inputs_[i].node.get(), 0}] = ctx.mask(i);
  }
  for (const auto& node : nodes_) {
    if (std::dynamic_pointer_cast<InputLayerImpl>(node->layer)) continue;
    std::vector<Tensor> args, arg_masks;
    bool any_mask = false;
    for (const auto& in : node->inputs) {
      args.push_back(values.at({in.node.get(), in.index}));
      arg_masks.push_back(masks[{in.node.get(), in.index}]);
      any_mask = any_mask || arg_masks.back().defined();
    }
    MaskedOutputs outs = node->layer->call_with_masks(args, any_mask ? arg_masks : std::vector<Tensor>{}, ctx.training);
    for (size_t k = 0; k < outs.outputs.size(); ++k) {
      values[{node.get(), static_cast<int>(k)}] = outs.outputs[k];
      masks[{node.get(), static_cast<int>(k)}] = outs.masks[k];
    }
  }
  MaskedOutputs result;
  for (const auto& o : outputs_) {
    result.outputs.push_back(values.at({o.node.get(), o.index}));
    result.masks.push_back(masks[{o.node.get(), o.index}]);
  }
  return result;
}

std::vector<Shape> FunctionalImpl::compute_output_shape(const std::vector<Shape>& input_shapes) const {
  std::vector<Shape> out;
  const int64_t batch = input_shapes.empty() || input_shapes[0].empty() ? kUnknownDim : input_shapes[0][0];
  for (const auto& o : outputs_) {
    Shape s = o.shape;
    if (!s.empty()) s[0] = batch;
    out.push_back(s);
  }
  return out;
}

Shape FunctionalImpl::layer_output_shape(const Layer& layer) const {
  for (const auto& node : nodes_)
    if (node->layer.get() == &layer && !node->output_shapes.empty()) return node->output_shapes[0];
  return {};
}

bool FunctionalImpl::is_sequential_like() const {
  // A chain: one input, one output, every node reads exactly the previous node's single output.
  if (inputs_.size() != 1 || outputs_.size() != 1) return false;
  for (size_t i = 1; i < nodes_.size(); ++i)
    if (nodes_[i]->inputs.size() != 1 || nodes_[i]->inputs[0].node != nodes_[i - 1] ||
        nodes_[i - 1]->output_shapes.size() != 1)
      return false;
  return true;
}

namespace {
nlohmann::json shape_json(const Shape& s) {
  nlohmann::json j = nlohmann::json::array();
  for (int64_t d : s) j.push_back(d == kUnknownDim ? nlohmann::json(nullptr) : nlohmann::json(d));
  return j;
}
}  // namespace

nlohmann::json FunctionalImpl::get_config() const {
  // Keras 3's functional config: each layer with its inbound nodes, whose call arguments reference
  // `__keras_tensor__`s by keras_history [layer name, node index, output index]; a layer's node index
  // counts its calls inside this model, in the order they are listed (the topological order here).
  std::map<const Node*, int> node_index;
  std::map<const Layer*, int> calls;
  for (const auto& node : nodes_) node_index[node.get()] = calls[node->layer.get()]++;
  auto history = [&](const SymbolicTensor& t) {
    return nlohmann::json::array({t.node->layer->name(), node_index.at(t.node.get()), t.index});
  };
  nlohmann::json layers_json = nlohmann::json::array();
  for (const auto& l : layers()) {
    nlohmann::json entry = layers::serialize(l);
    entry["name"] = l->name();
    nlohmann::json inbound = nlohmann::json::array();
    for (const auto& node : nodes_) {
      if (node->layer.get() != l.get() || node->inputs.empty()) continue;
      nlohmann::json args = nlohmann::json::array();
      nlohmann::json shapes = nlohmann::json::array();
      for (const auto& in : node->inputs) {
        args.push_back({{"class_name", "__keras_tensor__"},
                        {"config", {{"shape", shape_json(in.shape)}, {"dtype", dtype_name(in.dtype)},
                                    {"keras_history", history(in)}}}});
        shapes.push_back(shape_json(in.shape));
      }
      // One input is the call's only argument; several are one list argument (Add()([a, b])), except for
      // layers whose call takes them as separate arguments (MultiHeadAttention(query, value, key)).
      const bool single = node->inputs.size() == 1;
      const bool positional = l->class_name() == "MultiHeadAttention";
      if (!single && dynamic_cast<const layers::RNNImpl*>(l.get()) != nullptr) {
        // An RNN's extra inputs are its initial_state keyword argument, as Keras records it.
        nlohmann::json states(args.begin() + 1, args.end());
        inbound.push_back({{"args", nlohmann::json::array({args[0]})}, {"kwargs", {{"initial_state", states}}}});
        if (!entry.contains("build_config") && l->built()) entry["build_config"] = {{"input_shape", shapes[0]}};
        continue;
      }
      inbound.push_back({{"args", single || positional ? args : nlohmann::json::array({args})},
                         {"kwargs", nlohmann::json::object()}});
      // (Keras builds MultiHeadAttention from a shapes_dict of query/value/key shapes: left to the call.)
      if (!entry.contains("build_config") && l->built() && !positional) entry["build_config"] = {{"input_shape", single ? shapes[0] : shapes}};
    }
    entry["inbound_nodes"] = inbound;
    layers_json.push_back(entry);
  }
  auto refs = [&](const std::vector<SymbolicTensor>& ts) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& t : ts) j.push_back(history(t));
    return j;
  };
  return {{"name", name()}, {"trainable", trainable()}, {"layers", layers_json},
          {"input_layers", refs(inputs_)}, {"output_layers", refs(outputs_)}};
}

}  // namespace keel
