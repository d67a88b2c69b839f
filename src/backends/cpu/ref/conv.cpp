// Reference Conv, ConvBackwardInput and ConvBackwardKernel: one nested loop over every (output element,
// kernel tap) pair that lands inside the input, in double over row-major NHWC / HWIO copies. The forward
// gathers, the two backward ops scatter along the same pairs, so they are the adjoints by construction.
#include <vector>

#include "core/dtype_dispatch.h"
#include "ops/conv_attrs.h"
#include "backends/cpu/ref/ref_common.h"
#include "ops/dispatch.h"

namespace keel::cpu_ref {
namespace {

// Calls fn(x_index, kernel_index, y_index) (row-major flat indices) for every multiply of the convolution
// of input shape xs (N, H, W, Cin) with kernel shape ks (KH, KW, Cin/G, Cout) into output shape ys.
template <class F>
void for_each_tap(const Shape& xs, const Shape& ks, const Shape& ys, const ConvAttrs& a, F&& fn) {
  const int64_t N = xs[0], H = xs[1], W = xs[2], C = xs[3];
  const int64_t KH = ks[0], KW = ks[1], CI = ks[2], CO = ks[3];
  const int64_t OH = ys[1], OW = ys[2];
  const int64_t co_per_group = CO / a.groups;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t o = 0; o < CO; ++o) {
          const int64_t g = o / co_per_group;
          const int64_t yi = ((n * OH + oh) * OW + ow) * CO + o;
          for (int64_t kh = 0; kh < KH; ++kh) {
            const int64_t ih = oh * a.strides[0] - a.pad_before[0] + kh * a.dilation[0];
            if (ih < 0 || ih >= H) continue;
            for (int64_t kw = 0; kw < KW; ++kw) {
              const int64_t iw = ow * a.strides[1] - a.pad_before[1] + kw * a.dilation[1];
              if (iw < 0 || iw >= W) continue;
              for (int64_t ci = 0; ci < CI; ++ci) {
                const int64_t xi = ((n * H + ih) * W + iw) * C + g * CI + ci;
                const int64_t ki = ((kh * KW + kw) * CI + ci) * CO + o;
                fn(xi, ki, yi);
              }
            }
          }
        }
}

void conv_ref(const KernelArgs& args) {
  const Tensor &x = args.in[0], &k = args.in[1], &y = args.out[0];
  const std::vector<double> xv = to_doubles(x), kv = to_doubles(k);
  std::vector<double> out(y.numel(), 0.0);
  for_each_tap(x.shape(), k.shape(), y.shape(), args.get<ConvAttrs>(),
               [&](int64_t xi, int64_t ki, int64_t yi) { out[yi] += xv[xi] * kv[ki]; });
  write_doubles(y, out);
}

void conv_backward_input_ref(const KernelArgs& args) {
  const Tensor &gy = args.in[0], &k = args.in[1], &gx = args.out[0];
  const std::vector<double> gv = to_doubles(gy), kv = to_doubles(k);
  std::vector<double> out(gx.numel(), 0.0);
  for_each_tap(gx.shape(), k.shape(), gy.shape(), args.get<ConvAttrs>(),
               [&](int64_t xi, int64_t ki, int64_t yi) { out[xi] += gv[yi] * kv[ki]; });
  write_doubles(gx, out);
}

void conv_backward_kernel_ref(const KernelArgs& args) {
  const Tensor &x = args.in[0], &gy = args.in[1], &gk = args.out[0];
  const std::vector<double> xv = to_doubles(x), gv = to_doubles(gy);
  std::vector<double> out(gk.numel(), 0.0);
  for_each_tap(x.shape(), gk.shape(), gy.shape(), args.get<ConvAttrs>(),
               [&](int64_t xi, int64_t ki, int64_t yi) { out[ki] += xv[xi] * gv[yi]; });
  write_doubles(gk, out);
}

KEEL_REGISTER_KERNEL(Conv, kCpuRef, conv_ref);
KEEL_REGISTER_KERNEL(ConvBackwardInput, kCpuRef, conv_backward_input_ref);
KEEL_REGISTER_KERNEL(ConvBackwardKernel, kCpuRef, conv_backward_kernel_ref);

}  // namespace
}  // namespace keel::cpu_ref
