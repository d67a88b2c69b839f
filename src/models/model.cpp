#include "keel/models/model.h"

#include <nlohmann/json.hpp>

namespace keel {

ModelImpl::ModelImpl(std::string class_name, std::string name) : Layer(std::move(class_name), std::move(name)) {
  expected_inputs_ = std::nullopt;
  set_supports_masking(true);  // masks run through the graph (call_and_compute_mask)
}

LayerHandle ModelImpl::get_layer(const std::string& name) const {
  std::string known;
  for (const auto& l : layers()) {
    if (l->name() == name) return l;
    known += (known.empty() ? "" : ", ") + l->name();
  }
  throw ValueError("No such layer: " + name + ". Existing layers are: [" + known + "]");
}

Shape ModelImpl::layer_output_shape(const Layer&) const { return {}; }

bool ModelImpl::is_sequential_like() const { return true; }

ForwardResult ModelImpl::forward(const std::vector<Tensor>& inputs, bool training) {
  MaskedOutputs r = call_with_masks(inputs, {}, training);
  return {std::move(r.outputs), std::move(r.masks)};
}

std::vector<std::string> ModelImpl::output_names() const {
  std::vector<std::string> names;
  for (const auto& o : outputs()) names.push_back(o.node && o.node->layer ? o.node->layer->name() : "output");
  return names;
}

void ModelImpl::track_layers(const std::vector<LayerHandle>& layers) {
  clear_tracked();
  for (const auto& l : layers) track(l.ptr(), "layers");
  set_variable_paths("");
}

// --- Model handle ---

Model::Model(const SymbolicTensor& input, const SymbolicTensor& output, std::string name)
    : Model(std::vector<SymbolicTensor>{input}, std::vector<SymbolicTensor>{output}, std::move(name)) {}

Model::Model(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs, std::string name)
    : LayerHolder(std::make_shared<FunctionalImpl>(std::move(inputs), std::move(outputs), std::move(name))) {}

History Model::fit(const Tensor& x, const Tensor& y, FitOptions options) const {
  return get()->fit(x, y, std::move(options));
}
History Model::fit(const std::vector<Tensor>& x, const std::vector<Tensor>& y, FitOptions options) const {
  return get()->fit(x, y, std::move(options));
}
History Model::fit(const Tensor& x, FitOptions options) const { return get()->fit(x, std::move(options)); }
History Model::fit(const data::Dataset& dataset, FitOptions options) const {
  return get()->fit(dataset, std::move(options));
}
std::map<std::string, double> Model::evaluate(const Tensor& x, const Tensor& y, EvaluateOptions options) const {
  return get()->evaluate(x, y, std::move(options));
}
std::map<std::string, double> Model::evaluate(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                                              EvaluateOptions options) const {
  return get()->evaluate(x, y, std::move(options));
}
std::map<std::string, double> Model::evaluate(const data::Dataset& dataset, EvaluateOptions options) const {
  return get()->evaluate(dataset, std::move(options));
}
Tensor Model::predict(const Tensor& x, PredictOptions options) const { return get()->predict(x, std::move(options)); }
Tensor Model::predict(const data::Dataset& dataset, PredictOptions options) const {
  return get()->predict(dataset, std::move(options));
}
std::vector<Tensor> Model::predict_outputs(const std::vector<Tensor>& x, PredictOptions options) const {
  return get()->predict_outputs(x, std::move(options));
}
std::map<std::string, double> Model::train_on_batch(const Tensor& x, const Tensor& y, const Tensor& w) const {
  return get()->train_on_batch(x, y, w);
}
std::map<std::string, double> Model::test_on_batch(const Tensor& x, const Tensor& y, const Tensor& w) const {
  return get()->test_on_batch(x, y, w);
}
std::map<std::string, double> Model::train_on_batch(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                                                    const Tensor& w) const {
  return get()->train_on_batch(x, y, w);
}
std::map<std::string, double> Model::test_on_batch(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                                                   const Tensor& w) const {
  return get()->test_on_batch(x, y, w);
}
Tensor Model::predict_on_batch(const Tensor& x) const { return get()->predict_on_batch(x); }

}  // namespace keel
