// Reference batch and layer normalisation, forward and backward: two-pass statistics in double, any
// input strides. Batch norm sees x as (outer, C, inner) around the channel axis; layer norm as (rows, cols).
#include <cmath>

#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "ops/dispatch.h"
#include "ops/normalization_attrs.h"

namespace keel::cpu_ref {
namespace {

using detail::read_as_double;

template <class T>
T* ptr(const Tensor& t) { return static_cast<T*>(t.data_ptr()); }

void batch_norm_train_ref(const KernelArgs& a) {
  const Tensor &x = a.in[0], &gamma = a.in[1], &beta = a.in[2];
  const auto& attrs = a.get<BatchNormAttrs>();
  AxisSplit sp = split_at_axis(x.shape(), attrs.axis);
  const double m = static_cast<double>(sp.outer * sp.inner);
  detail::visit_float(x.dtype(), "batch_norm_train", [&]<class T>(detail::TypeTag<T>) {
    for (int64_t ch = 0; ch < sp.n; ++ch) {
      double mean = 0, var = 0;
      for (int64_t o = 0; o < sp.outer; ++o)
        for (int64_t i = 0; i < sp.inner; ++i) mean += read_as_double(x, sp.at(o, ch, i));
      mean /= m;
      for (int64_t o = 0; o < sp.outer; ++o)
        for (int64_t i = 0; i < sp.inner; ++i) var += std::pow(read_as_double(x, sp.at(o, ch, i)) - mean, 2);
      var /= m;  // biased (population) variance, as Keras; NaN when the batch is empty
      double inv = 1.0 / std::sqrt(var + attrs.epsilon);
      double g = read_as_double(gamma, ch), b = read_as_double(beta, ch);
      for (int64_t o = 0; o < sp.outer; ++o)
        for (int64_t i = 0; i < sp.inner; ++i) {
          int64_t k = sp.at(o, ch, i);
          ptr<T>(a.out[0])[k] = static_cast<T>((read_as_double(x, k) - mean) * inv * g + b);
        }
      ptr<T>(a.out[1])[ch] = static_cast<T>(mean);
      ptr<T>(a.out[2])[ch] = static_cast<T>(var);
    }
  });
}

void batch_norm_inference_ref(const KernelArgs& a) {
  const Tensor &x = a.in[0], &mean = a.in[1], &var = a.in[2], &gamma = a.in[3], &beta = a.in[4];
  const auto& attrs = a.get<BatchNormAttrs>();
  AxisSplit sp = split_at_axis(x.shape(), attrs.axis);
  detail::visit_float(x.dtype(), "batch_norm_inference", [&]<class T>(detail::TypeTag<T>) {
    for (int64_t o = 0; o < sp.outer; ++o)
      for (int64_t ch = 0; ch < sp.n; ++ch)
        for (int64_t i = 0; i < sp.inner; ++i) {
          int64_t k = sp.at(o, ch, i);
          double inv = 1.0 / std::sqrt(read_as_double(var, ch) + attrs.epsilon);
          double v = (read_as_double(x, k) - read_as_double(mean, ch)) * inv * read_as_double(gamma, ch) +
                     read_as_double(beta, ch);
          ptr<T>(a.out[0])[k] = static_cast<T>(v);
        }
  });
}

// Full batch-statistics backward: dx = gamma·inv·(dy - mean(dy) - x̂·mean(dy·x̂)).
void batch_norm_backward_ref(const KernelArgs& a) {
  const Tensor &x = a.in[0], &gamma = a.in[1], &mean = a.in[2], &var = a.in[3], &dy = a.in[4];
  const auto& attrs = a.get<BatchNormAttrs>();
  AxisSplit sp = split_at_axis(x.shape(), attrs.axis);
  const double m = static_cast<double>(sp.outer * sp.inner);
  detail::visit_float(x.dtype(), "batch_norm_backward", [&]<class T>(detail::TypeTag<T>) {
    for (int64_t ch = 0; ch < sp.n; ++ch) {
      double mu = read_as_double(mean, ch);
      double inv = 1.0 / std::sqrt(read_as_double(var, ch) + attrs.epsilon);
      double dbeta = 0, dgamma = 0;
      for (int64_t o = 0; o < sp.outer; ++o)
        for (int64_t i = 0; i < sp.inner; ++i) {
          int64_t k = sp.at(o, ch, i);
          dbeta += read_as_double(dy, k);
          dgamma += read_as_double(dy, k) * (read_as_double(x, k) - mu) * inv;
        }
      double g = read_as_double(gamma, ch);
      for (int64_t o = 0; o < sp.outer; ++o)
        for (int64_t i = 0; i < sp.inner; ++i) {
          int64_t k = sp.at(o, ch, i);
          double xhat = (read_as_double(x, k) - mu) * inv;
          ptr<T>(a.out[0])[k] = static_cast<T>(g * inv * (read_as_double(dy, k) - dbeta / m - xhat * dgamma / m));
        }
      ptr<T>(a.out[1])[ch] = static_cast<T>(dgamma);
      ptr<T>(a.out[2])[ch] = static_cast<T>(dbeta);
    }
  });
}

void layer_norm_ref(const KernelArgs& a) {
  const Tensor &x = a.in[0], &gamma = a.in[1], &beta = a.in[2];
  const auto& attrs = a.get<LayerNormAttrs>();
  LayerNormRows rc = layer_norm_rows(x, attrs.begin_axis);
  detail::visit_float(x.dtype(), "layer_norm", [&]<class T>(detail::TypeTag<T>) {
    for (int64_t r = 0; r < rc.rows; ++r) {
      double mean = 0, var = 0;
      for (int64_t j = 0; j < rc.cols; ++j) mean += read_as_double(x, r * rc.cols + j);
      mean /= static_cast<double>(rc.cols);
      for (int64_t j = 0; j < rc.cols; ++j) var += std::pow(read_as_double(x, r * rc.cols + j) - mean, 2);
      var /= static_cast<double>(rc.cols);
      double inv = 1.0 / std::sqrt(var + attrs.epsilon);
      for (int64_t j = 0; j < rc.cols; ++j) {
        int64_t k = r * rc.cols + j;
        double v = (read_as_double(x, k) - mean) * inv * read_as_double(gamma, j) + read_as_double(beta, j);
        ptr<T>(a.out[0])[k] = static_cast<T>(v);
      }
      ptr<T>(a.out[1])[r] = static_cast<T>(mean);
      ptr<T>(a.out[2])[r] = static_cast<T>(var);
    }
  });
}

// Per row, with dŷ = dy·gamma: dx = inv·(dŷ - mean(dŷ) - x̂·mean(dŷ·x̂)); dgamma, dbeta summed over rows.
void layer_norm_backward_ref(const KernelArgs& a) {
  const Tensor &x = a.in[0], &gamma = a.in[1], &mean = a.in[2], &var = a.in[3], &dy = a.in[4];
  const auto& attrs = a.get<LayerNormAttrs>();
  LayerNormRows rc = layer_norm_rows(x, attrs.begin_axis);
  const double n = static_cast<double>(rc.cols);
  detail::visit_float(x.dtype(), "layer_norm_backward", [&]<class T>(detail::TypeTag<T>) {
    std::vector<double> dgamma(rc.cols, 0.0), dbeta(rc.cols, 0.0);
    for (int64_t r = 0; r < rc.rows; ++r) {
      double mu = read_as_double(mean, r);
      double inv = 1.0 / std::sqrt(read_as_double(var, r) + attrs.epsilon);
      double s1 = 0, s2 = 0;
      for (int64_t j = 0; j < rc.cols; ++j) {
        int64_t k = r * rc.cols + j;
        double xhat = (read_as_double(x, k) - mu) * inv, g = read_as_double(dy, k);
        double dxhat = g * read_as_double(gamma, j);
        s1 += dxhat;
        s2 += dxhat * xhat;
        dgamma[j] += g * xhat;
        dbeta[j] += g;
      }
      for (int64_t j = 0; j < rc.cols; ++j) {
        int64_t k = r * rc.cols + j;
        double xhat = (read_as_double(x, k) - mu) * inv;
        double dxhat = read_as_double(dy, k) * read_as_double(gamma, j);
        ptr<T>(a.out[0])[k] = static_cast<T>(inv * (dxhat - s1 / n - xhat * s2 / n));
      }
    }
    for (int64_t j = 0; j < rc.cols; ++j) {
      ptr<T>(a.out[1])[j] = static_cast<T>(dgamma[j]);
      ptr<T>(a.out[2])[j] = static_cast<T>(dbeta[j]);
    }
  });
}

KEEL_REGISTER_KERNEL(BatchNormTrain, kCpuRef, batch_norm_train_ref);
KEEL_REGISTER_KERNEL(BatchNormInference, kCpuRef, batch_norm_inference_ref);
KEEL_REGISTER_KERNEL(BatchNormBackward, kCpuRef, batch_norm_backward_ref);
KEEL_REGISTER_KERNEL(LayerNorm, kCpuRef, layer_norm_ref);
KEEL_REGISTER_KERNEL(LayerNormBackward, kCpuRef, layer_norm_backward_ref);

}  // namespace
}  // namespace keel::cpu_ref
