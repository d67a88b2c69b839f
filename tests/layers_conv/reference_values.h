// Reference outputs for the convolution and pooling layer tests, computed with PyTorch 1.13 in float64 by the
// script below (run it with /usr/bin/python3 and paste its output here to regenerate). Inputs and weights are
// closed-form patterns, `pattern(shape, a, b, s)[i] = s·sin(a·i + b)` over the row-major flat index i, so the
// C++ tests rebuild them without embedding them. Keras layouts (NHWC data, HWIO kernels, (kh, kw, F, C_in)
// transpose kernels) are permuted to PyTorch's; "same" padding is applied explicitly with TensorFlow's rule
// (extra padding on the bottom/right).
//
// import torch, torch.nn.functional as F, math
// torch.set_default_dtype(torch.float64)
// def pat(shape, a, b, s):  # value at flat (row-major) index i: s*sin(a*i+b)
//     n = math.prod(shape)
//     return (s*torch.sin(a*torch.arange(n, dtype=torch.float64)+b)).reshape(shape)
// def x_nhwc(shape): return pat(shape, 0.37, 0.1, 1.0)
// def kern(shape): return pat(shape, 0.23, 0.2, 0.5)
// def bias(n): return pat((n,), 0.9, 0.3, 0.2)
// def tf_same(inn, k, s, d=1):
//     out = -(-inn // s); keff = (k-1)*d+1; tot = max((out-1)*s+keff-inn, 0); return tot//2, tot-tot//2
// def show(name, t):
//     v = t.flatten().tolist()
//     print(f"// {name}: shape {tuple(t.shape)}")
//     print("const std::vector<float> k" + name + " = {" + ", ".join(f"{x:.6f}f" for x in v) + "};")
//
// # A. Conv2D 3 filters, kernel 3x3, strides 2, same, input (1,6,5,2)
// x = x_nhwc((1,6,5,2)); k = kern((3,3,2,3)); b = bias(3)
// ph = tf_same(6,3,2); pw = tf_same(5,3,2)
// xt = F.pad(x.permute(0,3,1,2), (pw[0], pw[1], ph[0], ph[1]))
// y = F.conv2d(xt, k.permute(3,2,0,1), b, stride=2).permute(0,2,3,1)
// show("Conv2DSameStrided", y)
// # B. Conv2D grouped: 4 filters, groups 2, kernel 2x2, same, input (1,3,4,4)
// x = x_nhwc((1,3,4,4)); k = kern((2,2,2,4)); b = bias(4)
// ph = tf_same(3,2,1); pw = tf_same(4,2,1)
// xt = F.pad(x.permute(0,3,1,2), (pw[0], pw[1], ph[0], ph[1]))
// y = F.conv2d(xt, k.permute(3,2,0,1), b, groups=2).permute(0,2,3,1)
// show("Conv2DGroups", y)
// # C. Conv1D causal, 2 filters, kernel 3, dilation 2, input (1,7,2)
// x = x_nhwc((1,7,2)); k = kern((3,2,2)); b = bias(2)
// xt = F.pad(x.permute(0,2,1), (4, 0))
// y = F.conv1d(xt, k.permute(2,1,0), b, dilation=2).permute(0,2,1)
// show("Conv1DCausal", y)
// # C2. Conv1D same, kernel 4, input (1,6,2) 2 filters (pad 1 before, 2 after)
// x = x_nhwc((1,6,2)); k = kern((4,2,2)); b = bias(2)
// p = tf_same(6,4,1)
// y = F.conv1d(F.pad(x.permute(0,2,1), p), k.permute(2,1,0), b).permute(0,2,1)
// show("Conv1DSame", y)
// # D. Conv2DTranspose 3 filters, kernel 3x3, strides 2, same: TF places the transposed conv's full output
// #    (length (in-1)*s+k = 7) at offset pad_before = 0 of the forward 'same' conv and keeps in*s = 6.
// x = x_nhwc((1,3,3,2)); k = kern((3,3,3,2)); b = bias(3)
// full = F.conv_transpose2d(x.permute(0,3,1,2), k.permute(3,2,0,1), b, stride=2)
// y = full[:, :, 0:6, 0:6].permute(0,2,3,1)
// show("Conv2DTransposeSame", y)
// # D2. Conv2DTranspose valid with output_padding 1: torch's output_padding is the same extra far-side row.
// y = F.conv_transpose2d(x.permute(0,3,1,2), k.permute(3,2,0,1), b, stride=2, output_padding=1).permute(0,2,3,1)
// show("Conv2DTransposeValidOutPad", y)
// # E. DepthwiseConv2D kernel 3x3, M=2, valid, input (1,4,4,3): out channel c*M+m
// x = x_nhwc((1,4,4,3)); k = kern((3,3,3,2)); b = bias(6)
// w = k.reshape(3,3,1,6).permute(3,2,0,1)
// y = F.conv2d(x.permute(0,3,1,2), w, b, groups=3).permute(0,2,3,1)
// show("Depthwise", y)
// # F. SeparableConv2D 3 filters, kernel 3x3, M=2, strides 2, same, input (1,6,6,2)
// x = x_nhwc((1,6,6,2)); dk = kern((3,3,2,2)); pk = pat((1,1,4,3), 0.41, 0.5, 0.5); b = bias(3)
// p = tf_same(6,3,2)
// xt = F.pad(x.permute(0,3,1,2), (p[0], p[1], p[0], p[1]))
// d = F.conv2d(xt, dk.reshape(3,3,1,4).permute(3,2,0,1), None, stride=2, groups=2)
// y = F.conv2d(d, pk.permute(3,2,0,1), b).permute(0,2,3,1)
// show("Separable", y)
// # G. MaxPooling2D pool 3, strides 2, same on (1,6,5,2): -inf padding
// x = x_nhwc((1,6,5,2))
// ph = tf_same(6,3,2); pw = tf_same(5,3,2)
// xt = F.pad(x.permute(0,3,1,2), (pw[0], pw[1], ph[0], ph[1]), value=-math.inf)
// show("MaxPoolSame", F.max_pool2d(xt, 3, 2).permute(0,2,3,1))
// # H. AveragePooling2D pool 3, strides 2, same: mean of the real elements only
// s = F.avg_pool2d(F.pad(x.permute(0,3,1,2), (pw[0], pw[1], ph[0], ph[1])), 3, 2, divisor_override=1)
// c = F.avg_pool2d(F.pad(torch.ones(1,2,6,5), (pw[0], pw[1], ph[0], ph[1])), 3, 2, divisor_override=1)
// show("AvgPoolSame", (s/c).permute(0,2,3,1))
// # I. MaxPooling1D default (2, stride 2, valid) and AveragePooling1D pool 3 stride 1 valid on (1,7,2)
// x = x_nhwc((1,7,2))
// show("MaxPool1D", F.max_pool1d(x.permute(0,2,1), 2).permute(0,2,1))
// show("AvgPool1D", F.avg_pool1d(x.permute(0,2,1), 3, 1).permute(0,2,1))
// # J. global pools on (2,3,4,2) and (2,5,3)
// x = x_nhwc((2,3,4,2))
// show("GlobalAvg2D", x.mean(dim=(1,2)))
// show("GlobalMax2D", x.amax(dim=(1,2)))
// x = x_nhwc((2,5,3))
// show("GlobalAvg1D", x.mean(dim=1))
// show("GlobalMax1D", x.amax(dim=1))
// # K. MaxPooling2D pool 3, strides 2, same on (1,5,4,2): gradient of sum(y * pattern(y.shape, 0.5, 0.2, 1)) wrt x
// x = x_nhwc((1,5,4,2)).requires_grad_()
// ph = tf_same(5,3,2); pw = tf_same(4,3,2)
// y = F.max_pool2d(F.pad(x.permute(0,3,1,2), (pw[0], pw[1], ph[0], ph[1]), value=-math.inf), 3, 2).permute(0,2,3,1)
// (y * pat(tuple(y.shape), 0.5, 0.2, 1.0)).sum().backward()
// show("MaxPoolSameGrad", x.grad)
#pragma once
#include <vector>

namespace keel::testing::conv_ref {

// Conv2DSameStrided: shape (1, 3, 3, 3)
const std::vector<float> kConv2DSameStrided = {
    -1.931825f, -2.255725f, -2.592075f, 3.049760f,  2.637243f, 1.954578f, 0.659318f,  1.273105f,  1.688588f,
    0.397095f,  -0.092994f, -0.709438f, 3.218404f,  3.668980f, 3.795069f, -2.108266f, -1.435656f, -0.818686f,
    1.284849f,  1.402069f,  1.314194f,  -0.616387f, 0.075459f, 0.632079f, -1.936807f, -1.859379f, -1.815275f};
// Conv2DGroups: shape (1, 3, 4, 4)
const std::vector<float> kConv2DGroups = {
    0.761360f,  0.968323f,  0.711769f,  0.691770f,  -0.328336f, -0.024947f, -0.402133f, -0.392584f,
    -0.713411f, -0.633835f, -0.470717f, -0.711632f, 0.300650f,  0.325494f,  0.432715f,  0.196928f,
    0.876475f,  1.018004f,  0.899075f,  0.820061f,  -0.040021f, 0.274603f,  -0.153731f, -0.114822f,
    -0.776242f, -0.629195f, -0.612977f, -0.789553f, 0.169377f,  0.192591f,  0.330002f,  0.077069f,
    0.307775f,  0.206175f,  0.612102f,  0.273285f,  0.917844f,  1.068625f,  1.002212f,  0.951406f,
    -0.033840f, 0.326624f,  -0.116381f, -0.049424f, -0.391328f, -0.364596f, -0.618926f, -0.830391f};
// Conv1DCausal: shape (1, 7, 2)
const std::vector<float> kConv1DCausal = {0.239146f, 0.315205f, 0.671158f, 0.658522f, 1.054391f, 1.023594f,  1.319154f,
                                          1.371682f, 1.073585f, 1.296569f, 0.438469f, 0.868883f, -0.395078f, 0.084220f};
// Conv1DSame: shape (1, 6, 2)
const std::vector<float> kConv1DSame = {0.905166f, 0.676926f, 1.740848f,  1.645503f, 1.837964f,  2.078993f,
                                        1.004624f, 1.522541f, -0.369061f, 0.004716f, -0.723581f, -0.621662f};
// Conv2DTransposeSame: shape (1, 6, 6, 3)
const std::vector<float> kConv2DTransposeSame = {
    0.163418f,  0.392975f,  0.438518f,  0.329014f,  0.404239f,  0.293109f,  0.326146f,  0.654257f,  0.744035f,
    0.885898f,  0.876531f,  0.582622f,  0.396666f,  0.523842f,  0.439797f,  1.010316f,  0.987845f,  0.657689f,
    -0.211543f, -0.078435f, -0.031337f, -0.041605f, 0.209906f,  0.315461f,  -0.518323f, -0.355141f, -0.220444f,
    -0.292671f, 0.207224f,  0.561721f,  -0.189931f, 0.070297f,  0.213594f,  -0.359736f, 0.193654f,  0.604468f,
    0.411674f,  0.660769f,  0.670176f,  0.476377f,  0.436671f,  0.203866f,  0.421951f,  0.012851f,  -0.501238f,
    -0.484032f, -0.598762f, -0.691328f, -0.233740f, -0.487560f, -0.742334f, -1.160347f, -1.223501f, -1.134611f,
    -0.497910f, -0.385590f, -0.295424f, -0.207722f, 0.176294f,  0.421342f,  0.617731f,  0.849075f,  0.801583f,
    0.083859f,  0.164224f,  0.108131f,  0.674544f,  0.795065f,  0.647979f,  0.362492f,  0.163758f,  -0.171337f,
    0.196570f,  -0.270974f, -0.784500f, -1.198813f, -1.110769f, -0.894119f, -0.822749f, -0.353447f, 0.087019f,
    -0.579308f, -0.319532f, -0.095644f, -0.447977f, 0.210928f,  0.723665f,  0.374126f,  0.736343f,  0.843162f,
    1.003239f,  1.142855f,  0.942562f,  0.482433f,  0.175139f,  -0.270883f, -0.038908f, -0.073277f, -0.194728f,
    0.380947f,  0.192414f,  -0.138437f, -0.435992f, -0.433411f, -0.443043f, 0.111117f,  0.206548f,  0.156723f};
// Conv2DTransposeValidOutPad: shape (1, 8, 8, 3)
const std::vector<float> kConv2DTransposeValidOutPad = {
    0.163418f,  0.392975f,  0.438518f,  0.329014f,  0.404239f,  0.293109f,  0.326146f,  0.654257f,  0.744035f,
    0.885898f,  0.876531f,  0.582622f,  0.396666f,  0.523842f,  0.439797f,  1.010316f,  0.987845f,  0.657689f,
    0.126923f,  -0.177101f, -0.546623f, 0.059104f,  0.186408f,  0.172642f,  -0.211543f, -0.078435f, -0.031337f,
    -0.041605f, 0.209906f,  0.315461f,  -0.518323f, -0.355141f, -0.220444f, -0.292671f, 0.207224f,  0.561721f,
    -0.189931f, 0.070297f,  0.213594f,  -0.359736f, 0.193654f,  0.604468f,  0.825736f,  1.128466f,  1.094277f,
    0.059104f,  0.186408f,  0.172642f,  0.411674f,  0.660769f,  0.670176f,  0.476377f,  0.436671f,  0.203866f,
    0.421951f,  0.012851f,  -0.501238f, -0.484032f, -0.598762f, -0.691328f, -0.233740f, -0.487560f, -0.742334f,
    -1.160347f, -1.223501f, -1.134611f, -0.873722f, -0.178061f, 0.452301f,  0.059104f,  0.186408f,  0.172642f,
    -0.497910f, -0.385590f, -0.295424f, -0.207722f, 0.176294f,  0.421342f,  0.617731f,  0.849075f,  0.801583f,
    0.083859f,  0.164224f,  0.108131f,  0.674544f,  0.795065f,  0.647979f,  0.362492f,  0.163758f,  -0.171337f,
    -0.534693f, -0.533759f, -0.524176f, 0.059104f,  0.186408f,  0.172642f,  0.196570f,  -0.270974f, -0.784500f,
    -1.198813f, -1.110769f, -0.894119f, -0.822749f, -0.353447f, 0.087019f,  -0.579308f, -0.319532f, -0.095644f,
    -0.447977f, 0.210928f,  0.723665f,  0.374126f,  0.736343f,  0.843162f,  0.710811f,  0.683815f,  0.412341f,
    0.059104f,  0.186408f,  0.172642f,  1.003239f,  1.142855f,  0.942562f,  0.482433f,  0.175139f,  -0.270883f,
    -0.038908f, -0.073277f, -0.194728f, 0.380947f,  0.192414f,  -0.138437f, -0.435992f, -0.433411f, -0.443043f,
    0.111117f,  0.206548f,  0.156723f,  0.010435f,  0.115107f,  0.093532f,  0.059104f,  0.186408f,  0.172642f,
    -0.661420f, -0.166707f, 0.260347f,  0.569396f,  1.013199f,  1.144047f,  0.437607f,  0.582077f,  0.503219f,
    0.419466f,  0.782369f,  0.880304f,  0.660876f,  0.636294f,  0.377114f,  0.081045f,  0.239813f,  0.246409f,
    0.137898f,  0.253847f,  0.214706f,  0.059104f,  0.186408f,  0.172642f,  0.059104f,  0.186408f,  0.172642f,
    0.059104f,  0.186408f,  0.172642f,  0.059104f,  0.186408f,  0.172642f,  0.059104f,  0.186408f,  0.172642f,
    0.059104f,  0.186408f,  0.172642f,  0.059104f,  0.186408f,  0.172642f,  0.059104f,  0.186408f,  0.172642f,
    0.059104f,  0.186408f,  0.172642f};
// Depthwise: shape (1, 2, 2, 6)
const std::vector<float> kDepthwise = {2.166476f,  2.194054f,  2.230552f,  1.950618f,  1.883238f,  1.653121f,
                                       1.089306f,  1.607361f,  1.376189f,  1.602582f,  1.252458f,  1.533252f,
                                       -0.607995f, -0.921713f, -0.691195f, -1.262677f, -1.209654f, -1.674811f,
                                       1.555392f,  1.283504f,  1.486226f,  0.919031f,  0.996796f,  0.498113f};
// Separable: shape (1, 3, 3, 3)
const std::vector<float> kSeparable = {0.316141f,  0.331116f,  0.181036f,  0.008311f,  0.308990f, 0.448281f,  0.043387f,
                                       0.386570f,  0.555504f,  -0.199284f, 0.119607f,  0.308502f, -0.033607f, 0.012052f,
                                       -0.054458f, -0.082488f, -0.165585f, -0.331406f, 0.286572f, 0.216618f,  0.000587f,
                                       0.450635f,  0.374989f,  0.127013f,  0.202349f,  0.398634f, 0.418670f};
// MaxPoolSame: shape (1, 3, 3, 2)
const std::vector<float> kMaxPoolSame = {0.938000f, 0.999872f, 0.999958f, 0.935616f, 0.732231f, 0.749174f,
                                         0.938000f, 0.999872f, 0.926415f, 0.940340f, 0.999739f, 0.940340f,
                                         0.722881f, 0.758132f, 0.942637f, 0.999561f, 0.921198f, 0.718156f};
// AvgPoolSame: shape (1, 3, 3, 2)
const std::vector<float> kAvgPoolSame = {0.185309f, 0.213155f, 0.161559f,  0.113376f,  -0.023067f, -0.099300f,
                                         0.181637f, 0.126833f, -0.021725f, -0.089095f, -0.203454f, -0.216306f,
                                         0.253709f, 0.251229f, 0.132126f,  0.056196f,  -0.121023f, -0.194795f};
// MaxPool1D: shape (1, 3, 2)
const std::vector<float> kMaxPool1D = {0.744643f, 0.935616f, 0.999958f, 0.928960f, 0.081502f, -0.284426f};
// AvgPool1D: shape (1, 5, 2)
const std::vector<float> kAvgPool1D = {0.614811f, 0.772487f, 0.825611f,  0.766992f,  0.604564f,
                                       0.360311f, 0.067292f, -0.234835f, -0.505178f, -0.707147f};
// GlobalAvg2D: shape (2, 2)
const std::vector<float> kGlobalAvg2D = {0.190096f, 0.218661f, -0.103206f, -0.167278f};
// GlobalMax2D: shape (2, 2)
const std::vector<float> kGlobalMax2D = {0.999958f, 0.999872f, 0.999739f, 0.940340f};
// GlobalAvg1D: shape (2, 3)
const std::vector<float> kGlobalAvg1D = {0.099615f, 0.059369f, 0.011088f, 0.136026f, 0.126033f, 0.098982f};
// GlobalMax1D: shape (2, 3)
const std::vector<float> kGlobalMax1D = {0.935616f, 0.999958f, 0.928960f, 0.999872f, 0.926415f, 0.938000f};
// MaxPoolSameGrad: shape (1, 5, 4, 2)
const std::vector<float> kMaxPoolSameGrad = {
    0.000000f, 0.000000f,  0.000000f, 0.644218f, 1.130708f, 0.991665f, 0.000000f,  0.000000f,  0.000000f,  0.000000f,
    0.000000f, 0.000000f,  0.000000f, 0.000000f, 0.000000f, 0.000000f, 0.000000f,  0.000000f,  0.000000f,  0.000000f,
    0.750122f, -0.102456f, 0.000000f, 0.000000f, 0.000000f, 0.000000f, 0.000000f,  0.000000f,  0.000000f,  0.000000f,
    0.000000f, 0.000000f,  0.000000f, 0.000000f, 0.000000f, 0.000000f, -0.871576f, -1.550609f, -0.883455f, 0.000000f};

}  // namespace keel::testing::conv_ref
