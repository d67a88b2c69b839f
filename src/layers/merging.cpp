#include "keel/layers/merging.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "keel/ops/reduction.h"
#include "layers/config_util.h"

namespace keel::layers {
namespace {

std::string shapes_str(const std::vector<Shape>& shapes) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shapes.size(); ++i) os << (i ? ", " : "") << partial_shape_str(shapes[i]);
  os << ']';
  return os.str();
}

void check_at_least_two(const Layer& layer, const std::vector<Shape>& shapes) {
  KEEL_CHECK(shapes.size() >= 2, ValueError, "A `", layer.class_name(),
             "` layer should be called on a list of at least 2 inputs. Layer \"", layer.name(), "\" received ",
             shapes.size(), " input(s): ", shapes_str(shapes));
  for (const Shape& s : shapes)
    KEEL_CHECK(!s.empty(), ValueError, "Layer \"", layer.name(), "\" (", layer.class_name(),
               "): every input needs a batch dimension, but received input shapes ", shapes_str(shapes));
}

DType promoted(const std::vector<DType>& dtypes) {
  DType d = dtypes.at(0);
  for (size_t i = 1; i < dtypes.size(); ++i) d = promote_types(d, dtypes[i]);
  return d;
}

}  // namespace

// --- elementwise merges ---

MergeImpl::MergeImpl(std::string class_name, std::string name) : Layer(std::move(class_name), std::move(name)) {
  set_supports_masking(true);
  expected_inputs_ = std::nullopt;
}

// Keras's Merge rules: one known batch size at most; non-batch shapes aligned from the right, where a 1
// stretches and an unknown dimension stays unknown.
Shape MergeImpl::merged_shape(const std::vector<Shape>& shapes) const {
  check_at_least_two(*this, shapes);
  std::set<int64_t> batch_sizes;
  for (const Shape& s : shapes)
    if (s[0] != kUnknownDim) batch_sizes.insert(s[0]);
  KEEL_CHECK(batch_sizes.size() <= 1, ValueError, "Layer \"", name(),
             "\": cannot merge tensors with different batch sizes. Got tensors with shapes ", shapes_str(shapes));

  Shape out(shapes[0].begin() + 1, shapes[0].end());
  for (size_t i = 1; i < shapes.size(); ++i) {
    Shape rest(shapes[i].begin() + 1, shapes[i].end());
    const Shape& longer = out.size() >= rest.size() ? out : rest;
    const Shape& shorter = out.size() >= rest.size() ? rest : out;
    Shape next(longer.begin(), longer.end() - static_cast<int64_t>(shorter.size()));
    for (size_t k = 0; k < shorter.size(); ++k) {
      const int64_t a = longer[longer.size() - shorter.size() + k], b = shorter[k];
      if (a == kUnknownDim || b == kUnknownDim)
        next.push_back(kUnknownDim);
      else if (a == 1)
        next.push_back(b);
      else if (b == 1)
        next.push_back(a);
      else {
        KEEL_CHECK(a == b, ShapeError, "Layer \"", name(), "\" (", class_name(),
                   "): inputs have incompatible shapes. Received input shapes ", shapes_str(shapes), " (input ", i,
                   " does not broadcast with the inputs before it)");
        next.push_back(a);
      }
    }
    out = std::move(next);
  }
  out.insert(out.begin(), batch_sizes.empty() ? kUnknownDim : *batch_sizes.begin());
  return out;
}

void MergeImpl::build(const std::vector<Shape>& input_shapes) {
  merged_shape(input_shapes);  // validation only: merges have no weights
  Layer::build(input_shapes);
}

std::vector<Tensor> MergeImpl::call(const std::vector<Tensor>& inputs, const CallContext&) {
  std::vector<Shape> shapes;
  size_t max_rank = 0;
  for (const Tensor& x : inputs) {
    shapes.push_back(x.shape());
    max_rank = std::max(max_rank, static_cast<size_t>(x.ndim()));
  }
  merged_shape(shapes);
  // Lower-rank inputs get size-1 axes after the batch axis, as Keras's Merge does before broadcasting.
  std::vector<Tensor> aligned;
  for (Tensor x : inputs) {
    while (static_cast<size_t>(x.ndim()) < max_rank) x = ops::expand_dims(x, 1);
    aligned.push_back(x);
  }
  return {merge(aligned)};
}

std::vector<Shape> MergeImpl::compute_output_shape(const std::vector<Shape>& input_shapes) const {
  return {merged_shape(input_shapes)};
}

std::vector<DType> MergeImpl::compute_output_dtype(const std::vector<DType>& input_dtypes,
                                                   const std::vector<Shape>&) const {
  return {promoted(input_dtypes)};
}

AddImpl::AddImpl(MergeOptions options) : MergeImpl("Add", std::move(options.name)) {}
Tensor AddImpl::merge(const std::vector<Tensor>& inputs) const {
  Tensor out = inputs[0];
  for (size_t i = 1; i < inputs.size(); ++i) out = ops::add(out, inputs[i]);
  return out;
}

SubtractImpl::SubtractImpl(MergeOptions options) : MergeImpl("Subtract", std::move(options.name)) {
  expected_inputs_ = 2;
}
Tensor SubtractImpl::merge(const std::vector<Tensor>& inputs) const { return ops::subtract(inputs[0], inputs[1]); }

MultiplyImpl::MultiplyImpl(MergeOptions options) : MergeImpl("Multiply", std::move(options.name)) {}
Tensor MultiplyImpl::merge(const std::vector<Tensor>& inputs) const {
  Tensor out = inputs[0];
  for (size_t i = 1; i < inputs.size(); ++i) out = ops::multiply(out, inputs[i]);
  return out;
}

MaximumImpl::MaximumImpl(MergeOptions options) : MergeImpl("Maximum", std::move(options.name)) {}
Tensor MaximumImpl::merge(const std::vector<Tensor>& inputs) const {
  Tensor out = inputs[0];
  for (size_t i = 1; i < inputs.size(); ++i) out = ops::maximum(out, inputs[i]);
  return out;
}

MinimumImpl::MinimumImpl(MergeOptions options) : MergeImpl("Minimum", std::move(options.name)) {}
Tensor MinimumImpl::merge(const std::vector<Tensor>& inputs) const {
  Tensor out = inputs[0];
  for (size_t i = 1; i < inputs.size(); ++i) out = ops::minimum(out, inputs[i]);
  return out;
}

AverageImpl::AverageImpl(MergeOptions options) : MergeImpl("Average", std::move(options.name)) {}
Tensor AverageImpl::merge(const std::vector<Tensor>& inputs) const {
  Tensor out = inputs[0];
  for (size_t i = 1; i < inputs.size(); ++i) out = ops::add(out, inputs[i]);
  return out / static_cast<double>(inputs.size());
}
std::vector<DType> AverageImpl::compute_output_dtype(const std::vector<DType>& input_dtypes,
                                                     const std::vector<Shape>&) const {
  const DType d = promoted(input_dtypes);
  return {is_floating(d) ? d : DType::f32};
}

Add::Add(MergeOptions options) : LayerHolder(std::make_shared<AddImpl>(std::move(options))) {}
Subtract::Subtract(MergeOptions options) : LayerHolder(std::make_shared<SubtractImpl>(std::move(options))) {}
Multiply::Multiply(MergeOptions options) : LayerHolder(std::make_shared<MultiplyImpl>(std::move(options))) {}
Average::Average(MergeOptions options) : LayerHolder(std::make_shared<AverageImpl>(std::move(options))) {}
Maximum::Maximum(MergeOptions options) : LayerHolder(std::make_shared<MaximumImpl>(std::move(options))) {}
Minimum::Minimum(MergeOptions options) : LayerHolder(std::make_shared<MinimumImpl>(std::move(options))) {}

namespace {
template <class Handle>
LayerHandle merge_from_config(const nlohmann::json& c) {
  return detail::with_base_config(Handle(MergeOptions{.name = detail::name_from(c)}), c);
}
}  // namespace
KEEL_REGISTER_LAYER("Add", merge_from_config<Add>);
KEEL_REGISTER_LAYER("Subtract", merge_from_config<Subtract>);
KEEL_REGISTER_LAYER("Multiply", merge_from_config<Multiply>);
KEEL_REGISTER_LAYER("Average", merge_from_config<Average>);
KEEL_REGISTER_LAYER("Maximum", merge_from_config<Maximum>);
KEEL_REGISTER_LAYER("Minimum", merge_from_config<Minimum>);

// --- Dot ---

DotImpl::DotImpl(DotAxes axes, DotOptions options) : Layer("Dot", options.name), axes_(axes), options_(options) {
  expected_inputs_ = 2;
}

std::pair<int64_t, int64_t> DotImpl::resolved_axes(int64_t rank1, int64_t rank2) const {
  auto resolve = [&](int64_t axis, int64_t rank, const char* which) {
    const int64_t a = axis < 0 ? axis + rank : axis;
    KEEL_CHECK(a >= 1 && a < rank, ValueError, "Layer \"", name(), "\" (Dot): axis ", axis, " of the ", which,
               " input (rank ", rank, ") must name a non-batch axis");
    return a;
  };
  return {resolve(axes_.first, rank1, "first"), resolve(axes_.second, rank2, "second")};
}

void DotImpl::build(const std::vector<Shape>& input_shapes) {
  compute_output_shape(input_shapes);  // the checks
  Layer::build(input_shapes);
}

std::vector<Shape> DotImpl::compute_output_shape(const std::vector<Shape>& input_shapes) const {
  KEEL_CHECK(input_shapes.size() == 2, ValueError,
             "A `Dot` layer should be called on a list of 2 inputs. Received: ", input_shapes.size(), " inputs");
  const Shape& s1 = input_shapes[0];
  const Shape& s2 = input_shapes[1];
  KEEL_CHECK(s1.size() >= 2 && s2.size() >= 2, ValueError, "Layer \"", name(),
             "\" (Dot): inputs need a batch axis and at least one more; received shapes ", partial_shape_str(s1),
             " and ", partial_shape_str(s2));
  const auto [a1, a2] = resolved_axes(static_cast<int64_t>(s1.size()), static_cast<int64_t>(s2.size()));
  KEEL_CHECK(s1[a1] == kUnknownDim || s2[a2] == kUnknownDim || s1[a1] == s2[a2], ValueError,
             "Incompatible input shapes: axis values ", s1[a1], " (at axis ", a1, ") != ", s2[a2], " (at axis ", a2,
             "). Full input shapes: ", partial_shape_str(s1), ", ", partial_shape_str(s2));
  Shape out{s1[0]};
  for (int64_t i = 1; i < static_cast<int64_t>(s1.size()); ++i)
    if (i != a1) out.push_back(s1[i]);
  for (int64_t i = 1; i < static_cast<int64_t>(s2.size()); ++i)
    if (i != a2) out.push_back(s2[i]);
  if (out.size() == 1) out.push_back(1);
  return {out};
}

std::vector<Tensor> DotImpl::call(const std::vector<Tensor>& inputs, const CallContext&) {
  const Shape out = compute_output_shape({inputs.at(0).shape(), inputs.at(1).shape()})[0];
  Tensor x1 = inputs[0], x2 = inputs[1];
  const auto [a1, a2] = resolved_axes(x1.ndim(), x2.ndim());
  if (options_.normalize) {
    // Keras's ops.normalize with its default epsilon (1e-7): x · min(1/‖x‖, 1/ε).
    auto l2_normalize = [](const Tensor& x, int64_t axis) {
      return x * ops::minimum(ops::rsqrt(ops::sum(ops::square(x), {axis}, true)),
                              scalar_tensor(1e7, x.dtype(), x.device()));
    };
    x1 = l2_normalize(x1, a1);
    x2 = l2_normalize(x2, a2);
  }
  // batch_dot: x1 to (B, X, d) with the contracted axis last, x2 to (B, d, Y), one batched matmul.
  const int64_t batch = x1.dim(0), d = x1.dim(a1);
  std::vector<int64_t> p1{0}, p2{0, a2};
  for (int64_t i = 1; i < x1.ndim(); ++i)
    if (i != a1) p1.push_back(i);
  p1.push_back(a1);
  for (int64_t i = 1; i < x2.ndim(); ++i)
    if (i != a2) p2.push_back(i);
  const Tensor m1 = ops::reshape(ops::transpose(x1, p1), {batch, -1, d});
  const Tensor m2 = ops::reshape(ops::transpose(x2, p2), {batch, d, -1});
  return {ops::reshape(ops::matmul(m1, m2), out)};
}

nlohmann::json DotImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axes"] = axes_.is_pair ? nlohmann::json({axes_.first, axes_.second}) : nlohmann::json(axes_.first);
  c["normalize"] = options_.normalize;
  return c;
}

Dot::Dot(DotAxes axes, DotOptions options) : LayerHolder(std::make_shared<DotImpl>(axes, std::move(options))) {}

KEEL_REGISTER_LAYER("Dot", [](const nlohmann::json& c) -> LayerHandle {
  const nlohmann::json& axes = c.at("axes");
  KEEL_CHECK(axes.is_number_integer() || (axes.is_array() && axes.size() == 2), ValueError,
             "Dot: `axes` must be an integer or a list of 2 integers; received ", axes.dump());
  const DotAxes a = axes.is_number_integer() ? DotAxes(axes.get<int64_t>())
                                             : DotAxes(axes.at(0).get<int64_t>(), axes.at(1).get<int64_t>());
  return detail::with_base_config(Dot(a, {.normalize = c.value("normalize", false), .name = detail::name_from(c)}), c);
});

// --- Concatenate ---

std::vector<Tensor> MergeImpl::compute_mask(const std::vector<Tensor>&, const std::vector<Tensor>& masks) const {
  Tensor out;
  for (const Tensor& m : masks)
    if (m.defined()) out = out.defined() ? ops::logical_and(out, m) : m;
  return {out};
}

ConcatenateImpl::ConcatenateImpl(ConcatenateOptions options)
    : Layer("Concatenate", options.name), options_(std::move(options)) {
  set_supports_masking(true);
  expected_inputs_ = std::nullopt;
}

std::vector<Shape> ConcatenateImpl::compute_output_shape(const std::vector<Shape>& input_shapes) const {
  check_at_least_two(*this, input_shapes);
  const int64_t rank = static_cast<int64_t>(input_shapes[0].size());
  auto require = [&](bool ok) {
    KEEL_CHECK(ok, ShapeError,
               "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis (axis=",
               options_.axis, "). Layer \"", name(), "\" received input shapes ", shapes_str(input_shapes));
  };
  KEEL_CHECK(options_.axis >= -rank && options_.axis < rank, ValueError, "Layer \"", name(), "\": axis ", options_.axis,
             " is out of range for inputs of rank ", rank, " (input shapes ", shapes_str(input_shapes), ")");
  const int64_t axis = options_.axis < 0 ? options_.axis + rank : options_.axis;
  Shape out(rank, kUnknownDim);
  int64_t joined = 0;
  for (const Shape& s : input_shapes) {
    require(static_cast<int64_t>(s.size()) == rank);
    for (int64_t d = 0; d < rank; ++d) {
      if (d == axis) continue;
      if (s[d] == kUnknownDim) continue;
      require(out[d] == kUnknownDim || out[d] == s[d]);
      out[d] = s[d];
    }
    joined = (joined == kUnknownDim || s[axis] == kUnknownDim) ? kUnknownDim : joined + s[axis];
  }
  out[axis] = joined;
  return {out};
}

void ConcatenateImpl::build(const std::vector<Shape>& input_shapes) {
  compute_output_shape(input_shapes);  // validation only
  Layer::build(input_shapes);
}

std::vector<Tensor> ConcatenateImpl::compute_mask(const std::vector<Tensor>& inputs,
                                                  const std::vector<Tensor>& masks) const {
  bool any = false;
  for (const Tensor& m : masks) any = any || m.defined();
  if (!any) return {Tensor()};
  // Worked in float32 (1 = kept): an unmasked input counts as all kept; a mask of the leading axes covers
  // the input's last axis.
  std::vector<Tensor> parts;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    const Tensor m = i < masks.size() ? masks[i] : Tensor();
    if (!m.defined())
      parts.push_back(ones(x.shape(), DType::f32, x.device()));
    else if (m.ndim() < x.ndim())
      parts.push_back(ops::broadcast_to(ops::expand_dims(ops::cast(m, DType::f32), -1), x.shape()));
    else
      parts.push_back(ops::cast(m, DType::f32));
  }
  const Tensor joined = ops::concatenate(parts, options_.axis);
  return {ops::greater(ops::max(joined, {-1}), zeros({}, DType::f32, joined.device()))};
}

std::vector<Tensor> ConcatenateImpl::call(const std::vector<Tensor>& inputs, const CallContext&) {
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  for (const Tensor& x : inputs) {
    shapes.push_back(x.shape());
    dtypes.push_back(x.dtype());
  }
  compute_output_shape(shapes);
  const DType dtype = promoted(dtypes);
  std::vector<Tensor> cast;
  for (const Tensor& x : inputs) cast.push_back(ops::cast(x, dtype));
  return {ops::concatenate(cast, options_.axis)};
}

std::vector<DType> ConcatenateImpl::compute_output_dtype(const std::vector<DType>& input_dtypes,
                                                         const std::vector<Shape>&) const {
  return {promoted(input_dtypes)};
}

nlohmann::json ConcatenateImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = options_.axis;
  return c;
}

Concatenate::Concatenate(ConcatenateOptions options)
    : LayerHolder(std::make_shared<ConcatenateImpl>(std::move(options))) {}

KEEL_REGISTER_LAYER("Concatenate", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(Concatenate({.axis = c.value("axis", int64_t{-1}), .name = detail::name_from(c)}), c);
});

}  // namespace keel::layers
