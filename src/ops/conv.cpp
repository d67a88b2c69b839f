// Convolutions (channels-last data, HWIO kernels as Keras stores them): conv1d/conv2d/depthwise_conv2d
// resolve "valid"/"same" into explicit padding with TensorFlow's rule and run Conv; conv2d_transpose runs
// ConvBackwardInput with Keras's output size. conv1d and depthwise are views over the 2-D op.
#include <algorithm>

#include "conv_attrs.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "record.h"
#include "spatial_args.h"

namespace keel {
namespace {

bool is_same_padding(const std::string& padding, const char* op) {
  KEEL_CHECK(padding == "valid" || padding == "same", ValueError, op, ": padding must be \"valid\" or \"same\", got \"",
             padding, "\"");
  return padding == "same";
}

void check_float_pair(const Tensor& x, const Tensor& k, const char* op, const char* xn, const char* kn) {
  KEEL_CHECK(x.defined() && k.defined(), ValueError, op, ": ", xn, " or ", kn, " is an undefined tensor");
  KEEL_CHECK(is_floating(x.dtype()) && x.dtype() == k.dtype(), DTypeError, op, ": ", xn, " and ", kn,
             " must have the same floating-point dtype, got ", dtype_name(x.dtype()), " and ", dtype_name(k.dtype()));
}

// Resolves options into attrs for input spatial extents `in` and kernel extents `k` (2-D geometry).
ConvAttrs resolve_conv(const std::array<int64_t, 2>& in, const std::array<int64_t, 2>& k,
                       const std::array<int64_t, 2>& strides, const std::array<int64_t, 2>& dilation, bool same,
                       int64_t groups) {
  ConvAttrs a;
  a.strides = strides;
  a.dilation = dilation;
  a.groups = groups;
  for (int i = 0; i < 2; ++i) {
    if (!same) continue;
    const int64_t keff = (k[i] - 1) * dilation[i] + 1;
    const int64_t out = (in[i] + strides[i] - 1) / strides[i];
    const int64_t total = std::max((out - 1) * strides[i] + keff - in[i], int64_t{0});
    a.pad_before[i] = total / 2;
    a.pad_after[i] = total - a.pad_before[i];
  }
  return a;
}

// Checks rank, channels and groups of a 2-D Conv and returns its output shape.
Shape conv_output_shape(const Shape& xs, const Shape& ks, const ConvAttrs& a, const char* op) {
  KEEL_CHECK(xs.size() == 4, ShapeError, op, ": x must be 4-D (N, H, W, C), got shape ", shape_str(xs));
  KEEL_CHECK(ks.size() == 4, ShapeError, op, ": kernel must be 4-D (KH, KW, Cin/groups, Cout), got shape ",
             shape_str(ks));
  KEEL_CHECK(a.groups >= 1 && xs[3] % a.groups == 0 && ks[3] % a.groups == 0, ValueError, op, ": groups=", a.groups,
             " must divide the input channels (x has shape ", shape_str(xs), ") and the output channels (kernel has ",
             "shape ", shape_str(ks), ")");
  KEEL_CHECK(ks[2] * a.groups == xs[3], ShapeError, op, ": x has shape ", shape_str(xs), " with ", xs[3],
             " channels but kernel has shape ", shape_str(ks), " expecting ", ks[2], " x groups ", a.groups, " = ",
             ks[2] * a.groups, " input channels");
  Shape out{xs[0], 0, 0, ks[3]};
  for (int i = 0; i < 2; ++i) {
    out[i + 1] = conv_out_extent(xs[i + 1], ks[i], a.strides[i], a.dilation[i], a.pad_before[i], a.pad_after[i]);
    KEEL_CHECK(ks[i] >= 1 && out[i + 1] >= 1, ValueError, op,
               ": the output size would be zero or negative: x has shape ", shape_str(xs), ", kernel has shape ",
               shape_str(ks), ", dilation (", a.dilation[0], ", ", a.dilation[1], "), strides (", a.strides[0], ", ",
               a.strides[1], "), padding (", a.pad_before[0], "+", a.pad_after[0], ", ", a.pad_before[1], "+",
               a.pad_after[1], ")");
  }
  return out;
}

Tensor conv2d_impl(const Tensor& x, const Tensor& kernel, const ops::ConvOptions& o, int64_t groups, const char* op) {
  check_float_pair(x, kernel, op, "x", "kernel");
  KEEL_CHECK(x.ndim() == 4 && kernel.ndim() == 4, ShapeError, op, ": x must be (N, H, W, C) and kernel (KH, KW, ",
             "Cin/groups, Cout), got shapes ", shape_str(x.shape()), " and ", shape_str(kernel.shape()));
  auto s = per_axis(o.strides, 2, "strides", op);
  auto d = per_axis(o.dilation_rate, 2, "dilation_rate", op);
  ConvAttrs a = resolve_conv({x.shape()[1], x.shape()[2]}, {kernel.shape()[0], kernel.shape()[1]}, {s[0], s[1]},
                             {d[0], d[1]}, is_same_padding(o.padding, op), groups);
  conv_output_shape(x.shape(), kernel.shape(), a, op);
  return detail::conv_forward(x, kernel, a);
}

}  // namespace

namespace detail {

Tensor conv_forward(const Tensor& x, const Tensor& kernel, const ConvAttrs& attrs) {
  check_float_pair(x, kernel, "conv", "x", "kernel");
  Shape out_shape = conv_output_shape(x.shape(), kernel.shape(), attrs, "conv");
  Tensor y = empty(out_shape, x.dtype(), x.device());
  Tensor in[] = {x, kernel};
  Tensor out[] = {y};
  run_op(OpId::Conv, in, out, attrs);
  return y;
}

Tensor conv_backward_input(const Tensor& grad_y, const Tensor& kernel, const ConvAttrs& attrs) {
  check_float_pair(grad_y, kernel, "conv_backward_input", "grad_y", "kernel");
  KEEL_CHECK(attrs.input_shape.size() == 4, ShapeError, "conv_backward_input: input_shape must be 4-D, got ",
             shape_str(attrs.input_shape));
  Shape expect = conv_output_shape(attrs.input_shape, kernel.shape(), attrs, "conv_backward_input");
  KEEL_CHECK(grad_y.shape() == expect, ShapeError, "conv_backward_input: grad_y has shape ", shape_str(grad_y.shape()),
             " but a convolution of input shape ", shape_str(attrs.input_shape), " with kernel ",
             shape_str(kernel.shape()), " gives ", shape_str(expect));
  Tensor gx = empty(attrs.input_shape, grad_y.dtype(), grad_y.device());
  Tensor in[] = {grad_y, kernel};
  Tensor out[] = {gx};
  run_op(OpId::ConvBackwardInput, in, out, attrs);
  return gx;
}

Tensor conv_backward_kernel(const Tensor& x, const Tensor& grad_y, const ConvAttrs& attrs) {
  check_float_pair(x, grad_y, "conv_backward_kernel", "x", "grad_y");
  KEEL_CHECK(attrs.kernel_shape.size() == 4, ShapeError, "conv_backward_kernel: kernel_shape must be 4-D, got ",
             shape_str(attrs.kernel_shape));
  Shape expect = conv_output_shape(x.shape(), attrs.kernel_shape, attrs, "conv_backward_kernel");
  KEEL_CHECK(grad_y.shape() == expect, ShapeError, "conv_backward_kernel: grad_y has shape ",
             shape_str(grad_y.shape()), " but a convolution of x ", shape_str(x.shape()), " with kernel shape ",
             shape_str(attrs.kernel_shape), " gives ", shape_str(expect));
  Tensor gk = empty(attrs.kernel_shape, x.dtype(), x.device());
  Tensor in[] = {x, grad_y};
  Tensor out[] = {gk};
  run_op(OpId::ConvBackwardKernel, in, out, attrs);
  return gk;
}

}  // namespace detail

namespace ops {

Tensor conv2d(const Tensor& x, const Tensor& kernel, const ConvOptions& options) {
  return conv2d_impl(x, kernel, options, options.groups, "conv2d");
}

Tensor conv1d(const Tensor& x, const Tensor& kernel, const ConvOptions& options) {
  check_float_pair(x, kernel, "conv1d", "x", "kernel");
  KEEL_CHECK(x.ndim() == 3 && kernel.ndim() == 3, ShapeError, "conv1d: x must be (N, W, C) and kernel (K, ",
             "Cin/groups, Cout), got shapes ", shape_str(x.shape()), " and ", shape_str(kernel.shape()));
  KEEL_CHECK(options.groups >= 1 && kernel.shape()[1] * options.groups == x.shape()[2], ShapeError,
             "conv1d: x has shape ", shape_str(x.shape()), " with ", x.shape()[2], " channels but kernel has shape ",
             shape_str(kernel.shape()), " expecting ", kernel.shape()[1], " x groups ", options.groups,
             " input channels");
  ConvOptions o = options;
  o.strides = {1, per_axis(options.strides, 1, "strides", "conv1d")[0]};
  o.dilation_rate = {1, per_axis(options.dilation_rate, 1, "dilation_rate", "conv1d")[0]};
  // A height-1 image; 'same' on a height-1 axis with a height-1 kernel adds no padding.
  Tensor y = conv2d_impl(expand_dims(x, 1), expand_dims(kernel, 0), o, options.groups, "conv1d");
  return squeeze(y, {1});
}

Tensor depthwise_conv2d(const Tensor& x, const Tensor& kernel, const ConvOptions& options) {
  check_float_pair(x, kernel, "depthwise_conv2d", "x", "kernel");
  KEEL_CHECK(x.ndim() == 4 && kernel.ndim() == 4, ShapeError, "depthwise_conv2d: x must be (N, H, W, C) and ",
             "kernel (KH, KW, C, multiplier), got shapes ", shape_str(x.shape()), " and ", shape_str(kernel.shape()));
  const Shape& ks = kernel.shape();
  KEEL_CHECK(ks[2] == x.shape()[3], ShapeError, "depthwise_conv2d: x has shape ", shape_str(x.shape()), " with ",
             x.shape()[3], " channels but kernel has shape ", shape_str(ks), " for ", ks[2], " channels");
  KEEL_CHECK(options.groups == 1, ValueError, "depthwise_conv2d: groups is implied (one per channel), got groups=",
             options.groups);
  // Output channel c·M + m: the kernel as (KH, KW, 1, C·M) with one group per input channel.
  Tensor k2 = reshape(kernel, {ks[0], ks[1], 1, ks[2] * ks[3]});
  return conv2d_impl(x, k2, options, ks[2], "depthwise_conv2d");
}

Tensor conv2d_transpose(const Tensor& x, const Tensor& kernel, const ConvOptions& options,
                        std::optional<std::vector<int64_t>> output_padding) {
  const char* op = "conv2d_transpose";
  check_float_pair(x, kernel, op, "x", "kernel");
  KEEL_CHECK(x.ndim() == 4 && kernel.ndim() == 4, ShapeError, op, ": x must be (N, H, W, Cin) and kernel (KH, KW, ",
             "Cout, Cin), got shapes ", shape_str(x.shape()), " and ", shape_str(kernel.shape()));
  KEEL_CHECK(kernel.shape()[3] == x.shape()[3], ShapeError, op, ": x has shape ", shape_str(x.shape()), " with ",
             x.shape()[3], " channels but kernel has shape ", shape_str(kernel.shape()), " expecting ",
             kernel.shape()[3], " input channels (kernel layout (KH, KW, Cout, Cin))");
  KEEL_CHECK(options.groups == 1, ValueError, op, ": groups must be 1, got ", options.groups);
  auto s = per_axis(options.strides, 2, "strides", op);
  auto d = per_axis(options.dilation_rate, 2, "dilation_rate", op);
  const bool same = is_same_padding(options.padding, op);
  std::vector<int64_t> op_pad;
  if (output_padding) {
    KEEL_CHECK(output_padding->size() == 1 || output_padding->size() == 2, ValueError, op,
               ": output_padding must have 1 or 2 values, got ", vec_str(*output_padding));
    op_pad = output_padding->size() == 2 ? *output_padding : std::vector<int64_t>(2, (*output_padding)[0]);
  }
  // The forward convolution this op is the input-gradient of: input (N, OH, OW, Cout), kernel HWIO with
  // I = Cout, O = Cin, which is exactly Keras's (KH, KW, filters, Cin) layout.
  ConvAttrs a;
  a.strides = {s[0], s[1]};
  a.dilation = {d[0], d[1]};
  a.input_shape = {x.shape()[0], 0, 0, kernel.shape()[2]};
  for (int i = 0; i < 2; ++i) {
    const int64_t in = x.shape()[i + 1], keff = (kernel.shape()[i] - 1) * d[i] + 1;
    int64_t out = 0;
    if (output_padding) {
      KEEL_CHECK(op_pad[i] >= 0 && op_pad[i] < s[i], ValueError, op, ": output_padding ", vec_str(op_pad),
                 " must be non-negative and smaller than the strides ", vec_str(s));
    }
    // Keras's deconv output length; pad_before is the forward convolution's padding, as the JAX backend's
    // (k_eff - 1 - left_pad) = floor((k_eff - s)/2) for 'same' without output_padding.
    if (!same) {
      out = (in - 1) * s[i] + keff + (output_padding ? op_pad[i] : std::max(keff, s[i]) - keff);
      a.pad_before[i] = 0;
    } else if (!output_padding) {
      out = in * s[i];
      a.pad_before[i] = std::max((keff - s[i]) / 2, int64_t{0});
    } else {
      out = (in - 1) * s[i] + keff % 2 + op_pad[i];
      a.pad_before[i] = std::max((keff - keff % 2 - op_pad[i]) / 2, int64_t{0});
    }
    KEEL_CHECK(in >= 1 && out >= 1, ValueError, op, ": the output size would be zero or negative: x has shape ",
               shape_str(x.shape()), ", kernel has shape ", shape_str(kernel.shape()), ", strides ", vec_str(s),
               ", padding \"", options.padding, "\"");
    // The largest pad_after for which the forward convolution of `out` still yields exactly `in` outputs.
    a.pad_after[i] = in * s[i] + keff - 1 - out - a.pad_before[i];
    a.input_shape[i + 1] = out;
  }
  return detail::conv_backward_input(x, kernel, a);
}

}  // namespace ops
}  // namespace keel
