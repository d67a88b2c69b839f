// Subclassed models (keras.Model subclasses with their own call): layers tracked by attribute, shapes found
// by running call() once.
#include <nlohmann/json.hpp>

#include "keel/core/grad_mode.h"
#include "keel/models/model.h"

namespace keel {

namespace {
std::vector<Tensor> zeros_for(const std::vector<Shape>& input_shapes) {
  std::vector<Tensor> xs;
  for (Shape s : input_shapes) {
    for (int64_t& d : s) {
      KEEL_CHECK(&d == &s[0] || d != kUnknownDim, ShapeError,
                 "A subclassed model needs known input shapes to trace call(); received ", partial_shape_str(s));
      if (d == kUnknownDim) d = 1;
    }
    if (!s.empty()) s[0] = 1;
    xs.push_back(zeros(s));
  }
  return xs;
}
}  // namespace

SubclassedModel::SubclassedModel(std::string class_name, std::string name)
    : ModelImpl(std::move(class_name), std::move(name)) {}

std::vector<LayerHandle> SubclassedModel::layers() const {
  std::vector<LayerHandle> out;
  for (const auto& l : tracked_layers()) out.push_back(l);
  return out;
}

std::vector<SymbolicTensor> SubclassedModel::inputs() const {
  throw ValueError("Model \"" + name() + "\" (" + class_name() +
                   ") is a subclassed model: it has no symbolic inputs (it is defined by its call())");
}

std::vector<SymbolicTensor> SubclassedModel::outputs() const {
  throw ValueError("Model \"" + name() + "\" (" + class_name() +
                   ") is a subclassed model: it has no symbolic outputs (it is defined by its call())");
}

std::vector<Shape> SubclassedModel::compute_output_shape(const std::vector<Shape>& input_shapes) const {
  NoGradGuard no_grad;
  // Tracing runs the layers (it may build them), hence the const_cast; the model's values do not change.
  std::vector<Tensor> ys = const_cast<SubclassedModel*>(this)->call(zeros_for(input_shapes), CallContext{});
  std::vector<Shape> out;
  for (const Tensor& y : ys) {
    Shape s = y.shape();
    if (!s.empty() && !input_shapes.empty() && !input_shapes[0].empty()) s[0] = input_shapes[0][0];
    out.push_back(s);
  }
  return out;
}

nlohmann::json SubclassedModel::get_config() const {
  throw ValueError("Model \"" + name() + "\" (" + class_name() +
                   ") is a subclassed model and has no config: it cannot be saved as a .keras or .h5 model file; "
                   "use save_weights and rebuild the model in code");
}

void SubclassedModel::build(const std::vector<Shape>& input_shapes) {
  {
    NoGradGuard no_grad;
    call(zeros_for(input_shapes), CallContext{});
  }
  set_variable_paths("");
  Layer::build(input_shapes);
}

void SubclassedModel::build_from_data(const std::vector<Shape>& input_shapes) {
  if (!built()) build(input_shapes);
}

std::vector<std::string> SubclassedModel::output_names() const {
  return {};  // no named output layers: multi-output logs use output_0, output_1, ...
}

}  // namespace keel
