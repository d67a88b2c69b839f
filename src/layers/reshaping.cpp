#include "keel/layers/reshaping.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "keel/ops/manipulation.h"
#include "layers/config_util.h"

namespace keel::layers {
namespace {

// keras.backend.standardize_data_format: empty means the global default, channels_last.
std::string standardize_data_format(std::string data_format) {
  if (data_format.empty()) return "channels_last";
  std::transform(data_format.begin(), data_format.end(), data_format.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  KEEL_CHECK(data_format == "channels_first" || data_format == "channels_last", ValueError,
             "The `data_format` argument must be one of {'channels_first', 'channels_last'}. Received: data_format=",
             data_format);
  return data_format;
}

std::string join(const std::vector<int64_t>& v) {
  std::ostringstream os;
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  return os.str();
}

// As Python prints a tuple: "(2, 3)", "(2,)".
std::string tuple_str(const std::vector<int64_t>& v) {
  std::ostringstream os;
  os << '(' << join(v) << (v.size() == 1 ? ",)" : ")");
  return os.str();
}

// keras.utils.argument_validation.standardize_tuple's check on the values (allow_zero: ≥ 0, else > 0).
void check_tuple_values(const std::vector<int64_t>& values, const char* arg_name, bool allow_zero) {
  std::vector<int64_t> bad;
  for (int64_t v : values)
    if ((v < 0 || (!allow_zero && v == 0)) && std::find(bad.begin(), bad.end(), v) == bad.end()) bad.push_back(v);
  KEEL_CHECK(bad.empty(), ValueError, "The `", arg_name, "` argument must be a tuple of ", values.size(),
             " integers. Received ", arg_name, "=", tuple_str(values), " including values {", join(bad),
             "} that do not satisfy `value ", allow_zero ? ">= 0" : "> 0", "`");
}

InputSpec ndim_spec(int64_t ndim) {
  InputSpec spec;
  spec.ndim = ndim;
  return spec;
}

InputSpec min_ndim_spec(int64_t min_ndim) {
  InputSpec spec;
  spec.min_ndim = min_ndim;
  return spec;
}

int64_t known_product(const Shape& dims) {
  return std::accumulate(dims.begin(), dims.end(), int64_t{1}, std::multiplies<>());
}

bool all_known(const Shape& dims) {
  return std::none_of(dims.begin(), dims.end(), [](int64_t d) { return d == kUnknownDim; });
}

}  // namespace

// --- Flatten ---

FlattenImpl::FlattenImpl(FlattenOptions options)
    : UnaryLayer("Flatten", options.name), data_format_(standardize_data_format(options.data_format)) {
  input_spec_ = {min_ndim_spec(1)};
}

Tensor FlattenImpl::call(const Tensor& x, const CallContext&) {
  Tensor in = x;
  const int64_t rank = x.ndim();
  if (data_format_ == "channels_first" && rank > 2) {
    std::vector<int64_t> axes{0};
    for (int64_t a = 2; a < rank; ++a) axes.push_back(a);
    axes.push_back(1);
    in = ops::transpose(x, axes);
  }
  return ops::reshape(in, compute_output_shape(x.shape()));
}

Shape FlattenImpl::compute_output_shape(const Shape& input_shape) const {
  const Shape rest(input_shape.begin() + 1, input_shape.end());
  return {input_shape[0], all_known(rest) ? known_product(rest) : kUnknownDim};
}

nlohmann::json FlattenImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["data_format"] = data_format_;
  return c;
}

Flatten::Flatten(FlattenOptions options) : LayerHolder(std::make_shared<FlattenImpl>(std::move(options))) {}

KEEL_REGISTER_LAYER("Flatten", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      Flatten({.data_format = c.value("data_format", std::string()), .name = detail::name_from(c)}), c);
});

// --- Reshape ---

ReshapeImpl::ReshapeImpl(Shape target_shape, ReshapeOptions options)
    : UnaryLayer("Reshape", options.name), target_shape_(std::move(target_shape)) {
  KEEL_CHECK(std::count(target_shape_.begin(), target_shape_.end(), int64_t{-1}) <= 1, ValueError,
             "The `target_shape` argument must not contain more than one `-1` value. Received: target_shape=",
             tuple_str(target_shape_));
  for (int64_t d : target_shape_)
    KEEL_CHECK(d > 0 || d == -1, ValueError, "Reshape: every entry of `target_shape` must be positive or -1. ",
               "Received: target_shape=", tuple_str(target_shape_));
}

// keras.ops.operation_utils.compute_reshape_output_shape on the non-batch dimensions.
Shape ReshapeImpl::resolve(const Shape& input_shape) const {
  const Shape rest(input_shape.begin() + 1, input_shape.end());
  if (!all_known(rest)) return target_shape_;  // -1 (kUnknownDim) stays unknown
  const int64_t input_size = known_product(rest);
  auto minus_one = std::find(target_shape_.begin(), target_shape_.end(), int64_t{-1});
  if (minus_one == target_shape_.end()) {
    KEEL_CHECK(input_size == known_product(target_shape_), ShapeError, "Layer \"", name(),
               "\": the total size of the tensor must be unchanged. Received: input_shape=", partial_shape_str(rest),
               ", target_shape=", tuple_str(target_shape_));
    return target_shape_;
  }
  const int64_t known_size = -known_product(target_shape_);  // the product includes the single -1
  KEEL_CHECK(input_size % known_size == 0, ShapeError, "Layer \"", name(),
             "\": the total size of the tensor must be unchanged, however, the input size cannot be divided by the "
             "specified dimensions in target_shape. Received: input_shape=",
             partial_shape_str(rest), ", target_shape=", tuple_str(target_shape_));
  Shape out = target_shape_;
  out[minus_one - target_shape_.begin()] = input_size / known_size;
  return out;
}

void ReshapeImpl::build(const Shape& input_shape) {
  resolved_ = resolve(input_shape);
  UnaryLayer::build(input_shape);
}

Tensor ReshapeImpl::call(const Tensor& x, const CallContext&) {
  Shape shape{x.dim(0)};
  shape.insert(shape.end(), resolved_.begin(), resolved_.end());
  return ops::reshape(x, shape);
}

Shape ReshapeImpl::compute_output_shape(const Shape& input_shape) const {
  Shape out{input_shape[0]};
  const Shape resolved = resolve(input_shape);
  out.insert(out.end(), resolved.begin(), resolved.end());
  return out;
}

nlohmann::json ReshapeImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["target_shape"] = target_shape_;
  return c;
}

Reshape::Reshape(Shape target_shape, ReshapeOptions options)
    : LayerHolder(std::make_shared<ReshapeImpl>(std::move(target_shape), std::move(options))) {}

KEEL_REGISTER_LAYER("Reshape", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(Reshape(c.at("target_shape").get<Shape>(), {.name = detail::name_from(c)}), c);
});

// --- Permute ---

PermuteImpl::PermuteImpl(std::vector<int64_t> dims, PermuteOptions options)
    : UnaryLayer("Permute", options.name), dims_(std::move(dims)) {
  std::vector<int64_t> sorted = dims_, expected(dims_.size());
  std::sort(sorted.begin(), sorted.end());
  std::iota(expected.begin(), expected.end(), int64_t{1});
  KEEL_CHECK(!dims_.empty() && sorted == expected, ValueError,
             "Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` must be consecutive "
             "and start from 1. Received dims=",
             tuple_str(dims_));
  input_spec_ = {ndim_spec(static_cast<int64_t>(dims_.size()) + 1)};
}

Tensor PermuteImpl::call(const Tensor& x, const CallContext&) {
  std::vector<int64_t> axes{0};
  axes.insert(axes.end(), dims_.begin(), dims_.end());
  return ops::transpose(x, axes);
}

Shape PermuteImpl::compute_output_shape(const Shape& input_shape) const {
  Shape out{input_shape[0]};
  for (int64_t d : dims_) out.push_back(input_shape.at(d));
  return out;
}

nlohmann::json PermuteImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["dims"] = dims_;
  return c;
}

Permute::Permute(std::vector<int64_t> dims, PermuteOptions options)
    : LayerHolder(std::make_shared<PermuteImpl>(std::move(dims), std::move(options))) {}

KEEL_REGISTER_LAYER("Permute", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(Permute(c.at("dims").get<std::vector<int64_t>>(), {.name = detail::name_from(c)}), c);
});

// --- RepeatVector ---

RepeatVectorImpl::RepeatVectorImpl(int64_t n, RepeatVectorOptions options)
    : UnaryLayer("RepeatVector", options.name), n_(n) {
  KEEL_CHECK(n >= 1, ValueError, "RepeatVector: `n` must be a positive integer. Received: n=", n);
  input_spec_ = {ndim_spec(2)};
}

Tensor RepeatVectorImpl::call(const Tensor& x, const CallContext&) {
  return ops::tile(ops::expand_dims(x, 1), {1, n_, 1});
}

Shape RepeatVectorImpl::compute_output_shape(const Shape& input_shape) const {
  return {input_shape[0], n_, input_shape[1]};
}

nlohmann::json RepeatVectorImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["n"] = n_;
  return c;
}

RepeatVector::RepeatVector(int64_t n, RepeatVectorOptions options)
    : LayerHolder(std::make_shared<RepeatVectorImpl>(n, std::move(options))) {}

KEEL_REGISTER_LAYER("RepeatVector", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(RepeatVector(c.at("n").get<int64_t>(), {.name = detail::name_from(c)}), c);
});

// --- ZeroPadding2D ---

ZeroPadding2DImpl::ZeroPadding2DImpl(Padding2D padding, ZeroPadding2DOptions options)
    : UnaryLayer("ZeroPadding2D", options.name),
      padding_(padding),
      data_format_(standardize_data_format(options.data_format)) {
  check_tuple_values({padding_.height.first, padding_.height.second}, "1st entry of padding", true);
  check_tuple_values({padding_.width.first, padding_.width.second}, "2nd entry of padding", true);
  input_spec_ = {ndim_spec(4)};
}

Tensor ZeroPadding2DImpl::call(const Tensor& x, const CallContext&) {
  if (data_format_ == "channels_first") return ops::pad(x, {{0, 0}, {0, 0}, padding_.height, padding_.width});
  return ops::pad(x, {{0, 0}, padding_.height, padding_.width, {0, 0}});
}

Shape ZeroPadding2DImpl::compute_output_shape(const Shape& input_shape) const {
  Shape out = input_shape;
  const size_t h = data_format_ == "channels_first" ? 2 : 1;
  if (out[h] != kUnknownDim) out[h] += padding_.height.first + padding_.height.second;
  if (out[h + 1] != kUnknownDim) out[h + 1] += padding_.width.first + padding_.width.second;
  return out;
}

nlohmann::json ZeroPadding2DImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["padding"] = {{padding_.height.first, padding_.height.second}, {padding_.width.first, padding_.width.second}};
  c["data_format"] = data_format_;
  return c;
}

ZeroPadding2D::ZeroPadding2D(Padding2D padding, ZeroPadding2DOptions options)
    : LayerHolder(std::make_shared<ZeroPadding2DImpl>(padding, std::move(options))) {}
ZeroPadding2D::ZeroPadding2D(const int64_t (&padding)[2][2], ZeroPadding2DOptions options)
    : ZeroPadding2D(Padding2D({padding[0][0], padding[0][1]}, {padding[1][0], padding[1][1]}), std::move(options)) {}

namespace {
// Accepts Keras's saved ((top, bottom), (left, right)) and the shorter int / (height, width) forms.
LayerHandle zero_padding2d_from_config(const nlohmann::json& c) {
  auto pair_from = [](const nlohmann::json& j) -> std::pair<int64_t, int64_t> {
    if (j.is_number_integer()) return {j.get<int64_t>(), j.get<int64_t>()};
    KEEL_CHECK(j.is_array() && j.size() == 2, ValueError, "ZeroPadding2D: cannot read padding entry ", j.dump());
    return {j.at(0).get<int64_t>(), j.at(1).get<int64_t>()};
  };
  const nlohmann::json p = c.value("padding", nlohmann::json::array({1, 1}));
  KEEL_CHECK(p.is_number_integer() || (p.is_array() && p.size() == 2), ValueError,
             "`padding` should have two elements. Received: padding=", p.dump());
  const Padding2D padding =
      p.is_number_integer() ? Padding2D(p.get<int64_t>()) : Padding2D(pair_from(p.at(0)), pair_from(p.at(1)));
  return detail::with_base_config(
      ZeroPadding2D(padding, {.data_format = c.value("data_format", std::string()), .name = detail::name_from(c)}), c);
}
}  // namespace

KEEL_REGISTER_LAYER("ZeroPadding2D", zero_padding2d_from_config);

// --- ZeroPadding1D, UpSampling1D ---

ZeroPadding1DImpl::ZeroPadding1DImpl(std::pair<int64_t, int64_t> padding, ZeroPadding1DOptions options)
    : UnaryLayer("ZeroPadding1D", options.name), padding_(padding) {
  check_tuple_values({padding.first, padding.second}, "padding", true);
  input_spec_ = {ndim_spec(3)};
}

Tensor ZeroPadding1DImpl::call(const Tensor& x, const CallContext&) { return ops::pad(x, {{0, 0}, padding_, {0, 0}}); }

Shape ZeroPadding1DImpl::compute_output_shape(const Shape& input_shape) const {
  Shape out = input_shape;
  if (out[1] != kUnknownDim) out[1] += padding_.first + padding_.second;
  return out;
}

nlohmann::json ZeroPadding1DImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["padding"] = {padding_.first, padding_.second};
  return c;
}

ZeroPadding1D::ZeroPadding1D(std::pair<int64_t, int64_t> padding, ZeroPadding1DOptions options)
    : LayerHolder(std::make_shared<ZeroPadding1DImpl>(padding, std::move(options))) {}
ZeroPadding1D::ZeroPadding1D(int64_t padding, ZeroPadding1DOptions options)
    : ZeroPadding1D(std::pair{padding, padding}, std::move(options)) {}

UpSampling1DImpl::UpSampling1DImpl(int64_t size, UpSampling1DOptions options)
    : UnaryLayer("UpSampling1D", options.name), size_(size) {
  check_tuple_values({size}, "size", false);
  input_spec_ = {ndim_spec(3)};
}

Tensor UpSampling1DImpl::call(const Tensor& x, const CallContext&) {
  // (B, T, C) -> (B, T, 1, C), tiled to (B, T, size, C), merged to (B, T·size, C).
  const Shape& s = x.shape();
  return ops::reshape(ops::tile(ops::reshape(x, {s[0], s[1], 1, s[2]}), {1, 1, size_, 1}), {s[0], s[1] * size_, s[2]});
}

Shape UpSampling1DImpl::compute_output_shape(const Shape& input_shape) const {
  Shape out = input_shape;
  if (out[1] != kUnknownDim) out[1] *= size_;
  return out;
}

nlohmann::json UpSampling1DImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["size"] = size_;
  return c;
}

UpSampling1D::UpSampling1D(int64_t size, UpSampling1DOptions options)
    : LayerHolder(std::make_shared<UpSampling1DImpl>(size, std::move(options))) {}

KEEL_REGISTER_LAYER("UpSampling1D", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(UpSampling1D(c.value("size", int64_t{2}), {.name = detail::name_from(c)}), c);
});

// --- Cropping1D, Cropping2D ---

namespace {

// The extent left on an axis after cropping; ValueError (Keras's message) when nothing would be left.
int64_t cropped_extent(int64_t extent, std::pair<int64_t, int64_t> crop, const std::string& layer,
                       const Shape& input_shape, const std::string& cropping) {
  if (extent == kUnknownDim) return kUnknownDim;
  KEEL_CHECK(crop.first + crop.second < extent, ValueError, "`cropping` parameter of `", layer,
             "` layer must be smaller than the input size. Received: inputs.shape=", partial_shape_str(input_shape),
             ", and cropping=", cropping);
  return extent - crop.first - crop.second;
}

std::string pair_str(std::pair<int64_t, int64_t> p) { return tuple_str({p.first, p.second}); }

std::string cropping2d_str(const Padding2D& c) {
  std::ostringstream os;
  os << '(' << pair_str(c.height) << ", " << pair_str(c.width) << ')';
  return os.str();
}

std::pair<int64_t, int64_t> pair_from_json(const nlohmann::json& j, const char* layer) {
  if (j.is_number_integer()) return {j.get<int64_t>(), j.get<int64_t>()};
  KEEL_CHECK(j.is_array() && j.size() == 2, ValueError, layer, ": cannot read the pair ", j.dump());
  return {j.at(0).get<int64_t>(), j.at(1).get<int64_t>()};
}

}  // namespace

Cropping1DImpl::Cropping1DImpl(std::pair<int64_t, int64_t> cropping, Cropping1DOptions options)
    : UnaryLayer("Cropping1D", options.name), cropping_(cropping) {
  check_tuple_values({cropping.first, cropping.second}, "cropping", true);
  input_spec_ = {ndim_spec(3)};
}

Tensor Cropping1DImpl::call(const Tensor& x, const CallContext&) {
  const int64_t steps = cropped_extent(x.shape()[1], cropping_, "Cropping1D", x.shape(), pair_str(cropping_));
  return ops::slice_axis(x, 1, cropping_.first, cropping_.first + steps);
}

Shape Cropping1DImpl::compute_output_shape(const Shape& input_shape) const {
  Shape out = input_shape;
  out[1] = cropped_extent(out[1], cropping_, "Cropping1D", input_shape, pair_str(cropping_));
  return out;
}

nlohmann::json Cropping1DImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["cropping"] = {cropping_.first, cropping_.second};
  return c;
}

Cropping1D::Cropping1D(std::pair<int64_t, int64_t> cropping, Cropping1DOptions options)
    : LayerHolder(std::make_shared<Cropping1DImpl>(cropping, std::move(options))) {}
Cropping1D::Cropping1D(int64_t cropping, Cropping1DOptions options)
    : Cropping1D(std::pair{cropping, cropping}, std::move(options)) {}

KEEL_REGISTER_LAYER("ZeroPadding1D", [](const nlohmann::json& c) -> LayerHandle {
  const auto padding = pair_from_json(c.value("padding", nlohmann::json::array({1, 1})), "ZeroPadding1D");
  return detail::with_base_config(ZeroPadding1D(padding, {.name = detail::name_from(c)}), c);
});

KEEL_REGISTER_LAYER("Cropping1D", [](const nlohmann::json& c) -> LayerHandle {
  const auto cropping = pair_from_json(c.value("cropping", nlohmann::json::array({1, 1})), "Cropping1D");
  return detail::with_base_config(Cropping1D(cropping, {.name = detail::name_from(c)}), c);
});

Cropping2DImpl::Cropping2DImpl(Padding2D cropping, Cropping2DOptions options)
    : UnaryLayer("Cropping2D", options.name),
      cropping_(cropping),
      data_format_(standardize_data_format(options.data_format)) {
  check_tuple_values({cropping_.height.first, cropping_.height.second}, "1st entry of cropping", true);
  check_tuple_values({cropping_.width.first, cropping_.width.second}, "2nd entry of cropping", true);
  input_spec_ = {ndim_spec(4)};
}

Tensor Cropping2DImpl::call(const Tensor& x, const CallContext&) {
  const Shape out = compute_output_shape(x.shape());
  const int64_t h = data_format_ == "channels_first" ? 2 : 1;
  const Tensor rows = ops::slice_axis(x, h, cropping_.height.first, cropping_.height.first + out[h]);
  return ops::slice_axis(rows, h + 1, cropping_.width.first, cropping_.width.first + out[h + 1]);
}

Shape Cropping2DImpl::compute_output_shape(const Shape& input_shape) const {
  Shape out = input_shape;
  const size_t h = data_format_ == "channels_first" ? 2 : 1;
  const std::string cropping = cropping2d_str(cropping_);
  out[h] = cropped_extent(out[h], cropping_.height, "Cropping2D", input_shape, cropping);
  out[h + 1] = cropped_extent(out[h + 1], cropping_.width, "Cropping2D", input_shape, cropping);
  return out;
}

nlohmann::json Cropping2DImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["cropping"] = {{cropping_.height.first, cropping_.height.second}, {cropping_.width.first, cropping_.width.second}};
  c["data_format"] = data_format_;
  return c;
}

Cropping2D::Cropping2D(Padding2D cropping, Cropping2DOptions options)
    : LayerHolder(std::make_shared<Cropping2DImpl>(cropping, std::move(options))) {}
Cropping2D::Cropping2D(const int64_t (&cropping)[2][2], Cropping2DOptions options)
    : Cropping2D(Padding2D({cropping[0][0], cropping[0][1]}, {cropping[1][0], cropping[1][1]}), std::move(options)) {}

KEEL_REGISTER_LAYER("Cropping2D", [](const nlohmann::json& c) -> LayerHandle {
  const nlohmann::json p = c.value("cropping", nlohmann::json::array({{0, 0}, {0, 0}}));
  KEEL_CHECK(p.is_number_integer() || (p.is_array() && p.size() == 2), ValueError,
             "`cropping` should have two elements. Received: cropping=", p.dump());
  const Padding2D cropping =
      p.is_number_integer() ? Padding2D(p.get<int64_t>())
                            : Padding2D(pair_from_json(p.at(0), "Cropping2D"), pair_from_json(p.at(1), "Cropping2D"));
  return detail::with_base_config(
      Cropping2D(cropping, {.data_format = c.value("data_format", std::string()), .name = detail::name_from(c)}), c);
});

// --- UpSampling2D ---

UpSampling2DImpl::UpSampling2DImpl(std::vector<int64_t> size, UpSampling2DOptions options)
    : UnaryLayer("UpSampling2D", options.name),
      size_(std::move(size)),
      data_format_(standardize_data_format(options.data_format)),
      interpolation_(std::move(options.interpolation)) {
  if (size_.size() == 1) size_.push_back(size_[0]);
  KEEL_CHECK(size_.size() == 2, ValueError,
             "The `size` argument must be a tuple of 2 integers. Received size=", tuple_str(size_));
  check_tuple_values(size_, "size", false);
  std::transform(interpolation_.begin(), interpolation_.end(), interpolation_.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const std::vector<std::string> resize_methods = {"bilinear", "lanczos3", "lanczos5", "bicubic", "area"};
  if (std::find(resize_methods.begin(), resize_methods.end(), interpolation_) != resize_methods.end())
    throw UnimplementedError("UpSampling2D: interpolation=\"" + interpolation_ +
                             "\" is not implemented in Keel; only \"nearest\" is");
  KEEL_CHECK(interpolation_ == "nearest", ValueError, "UpSampling2D: invalid `interpolation` \"", interpolation_,
             "\"; expected one of nearest, bilinear, lanczos3, lanczos5, bicubic, area");
  input_spec_ = {ndim_spec(4)};
}

Tensor UpSampling2DImpl::call(const Tensor& x, const CallContext&) {
  // Nearest neighbour: give each spatial axis a size-1 twin after it, tile the twins, merge each pair.
  const int64_t h = data_format_ == "channels_first" ? 2 : 1;
  Shape expanded, repeats, out;
  for (int64_t a = 0; a < 4; ++a) {
    expanded.push_back(x.dim(a));
    repeats.push_back(1);
    out.push_back(x.dim(a));
    if (a == h || a == h + 1) {
      const int64_t factor = size_[a - h];
      expanded.push_back(1);
      repeats.push_back(factor);
      out.back() *= factor;
    }
  }
  return ops::reshape(ops::tile(ops::reshape(x, expanded), repeats), out);
}

Shape UpSampling2DImpl::compute_output_shape(const Shape& input_shape) const {
  Shape out = input_shape;
  const size_t h = data_format_ == "channels_first" ? 2 : 1;
  for (size_t i = 0; i < 2; ++i)
    if (out[h + i] != kUnknownDim) out[h + i] *= size_[i];
  return out;
}

nlohmann::json UpSampling2DImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["size"] = size_;
  c["data_format"] = data_format_;
  c["interpolation"] = interpolation_;
  return c;
}

UpSampling2D::UpSampling2D(std::vector<int64_t> size, UpSampling2DOptions options)
    : LayerHolder(std::make_shared<UpSampling2DImpl>(std::move(size), std::move(options))) {}
UpSampling2D::UpSampling2D(int64_t size, UpSampling2DOptions options)
    : LayerHolder(std::make_shared<UpSampling2DImpl>(std::vector<int64_t>{size, size}, std::move(options))) {}

KEEL_REGISTER_LAYER("UpSampling2D", [](const nlohmann::json& c) -> LayerHandle {
  const nlohmann::json s = c.value("size", nlohmann::json::array({2, 2}));
  std::vector<int64_t> size =
      s.is_number_integer() ? std::vector<int64_t>{s.get<int64_t>()} : s.get<std::vector<int64_t>>();
  return detail::with_base_config(
      UpSampling2D(std::move(size), {.data_format = c.value("data_format", std::string()),
                                     .interpolation = c.value("interpolation", std::string("nearest")),
                                     .name = detail::name_from(c)}),
      c);
});

}  // namespace keel::layers
