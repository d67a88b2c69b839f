// Reference pooling: each output element's window, clipped to the real input (padding never counts),
// in double over row-major NHWC copies. Max pooling's gradient goes to the first maximum of the window
// in row-major window order (strict >), the convention of PyTorch and of oneDNN's workspace.
#include <vector>

#include "core/dtype_dispatch.h"
#include "backends/cpu/ref/ref_common.h"
#include "ops/dispatch.h"
#include "ops/pooling_attrs.h"

namespace keel::cpu_ref {
namespace {

// Calls fn(y_index, x_indices) for every output element of pooling input shape xs into output shape ys,
// x_indices being the window's in-range input elements in row-major window order.
template <class F>
void for_each_window(const Shape& xs, const Shape& ys, const PoolAttrs& a, F&& fn) {
  const int64_t N = xs[0], H = xs[1], W = xs[2], C = xs[3], OH = ys[1], OW = ys[2];
  std::vector<int64_t> window;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t c = 0; c < C; ++c) {
          window.clear();
          for (int64_t kh = 0; kh < a.window[0]; ++kh) {
            const int64_t ih = oh * a.strides[0] - a.pad_before[0] + kh;
            if (ih < 0 || ih >= H) continue;
            for (int64_t kw = 0; kw < a.window[1]; ++kw) {
              const int64_t iw = ow * a.strides[1] - a.pad_before[1] + kw;
              if (iw >= 0 && iw < W) window.push_back(((n * H + ih) * W + iw) * C + c);
            }
          }
          fn(((n * OH + oh) * OW + ow) * C + c, window);
        }
}

// Index of the window's first maximum.
int64_t argmax_first(const std::vector<double>& xv, const std::vector<int64_t>& window) {
  int64_t best = window.front();
  for (int64_t i : window)
    if (xv[i] > xv[best]) best = i;
  return best;
}

void max_pool_ref(const KernelArgs& args) {
  const Tensor &x = args.in[0], &y = args.out[0];
  const std::vector<double> xv = to_doubles(x);
  std::vector<double> out(y.numel());
  for_each_window(x.shape(), y.shape(), args.get<PoolAttrs>(),
                  [&](int64_t yi, const std::vector<int64_t>& w) { out[yi] = xv[argmax_first(xv, w)]; });
  write_doubles(y, out);
}

void max_pool_backward_ref(const KernelArgs& args) {
  const Tensor &x = args.in[0], &gy = args.in[1], &gx = args.out[0];
  const std::vector<double> xv = to_doubles(x), gv = to_doubles(gy);
  std::vector<double> out(gx.numel(), 0.0);
  for_each_window(x.shape(), gy.shape(), args.get<PoolAttrs>(),
                  [&](int64_t yi, const std::vector<int64_t>& w) { out[argmax_first(xv, w)] += gv[yi]; });
  write_doubles(gx, out);
}

void avg_pool_ref(const KernelArgs& args) {
  const Tensor &x = args.in[0], &y = args.out[0];
  const std::vector<double> xv = to_doubles(x);
  std::vector<double> out(y.numel());
  for_each_window(x.shape(), y.shape(), args.get<PoolAttrs>(), [&](int64_t yi, const std::vector<int64_t>& w) {
    double s = 0;
    for (int64_t i : w) s += xv[i];
    out[yi] = s / static_cast<double>(w.size());
  });
  write_doubles(y, out);
}

void avg_pool_backward_ref(const KernelArgs& args) {
  const Tensor &gy = args.in[0], &gx = args.out[0];
  const std::vector<double> gv = to_doubles(gy);
  std::vector<double> out(gx.numel(), 0.0);
  for_each_window(gx.shape(), gy.shape(), args.get<PoolAttrs>(), [&](int64_t yi, const std::vector<int64_t>& w) {
    for (int64_t i : w) out[i] += gv[yi] / static_cast<double>(w.size());
  });
  write_doubles(gx, out);
}

KEEL_REGISTER_KERNEL(MaxPool, kCpuRef, max_pool_ref);
KEEL_REGISTER_KERNEL(MaxPoolBackward, kCpuRef, max_pool_backward_ref);
KEEL_REGISTER_KERNEL(AvgPool, kCpuRef, avg_pool_ref);
KEEL_REGISTER_KERNEL(AvgPoolBackward, kCpuRef, avg_pool_backward_ref);

}  // namespace
}  // namespace keel::cpu_ref
