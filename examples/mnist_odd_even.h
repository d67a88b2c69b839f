// The reference program's task, shared by its single-process and multi-worker versions: tell odd MNIST
// digits from even ones, from the 784 raw pixels of the bundled MNIST files.
#pragma once
#include <keel/keel.h>

namespace mnist_odd_even {

/// (N, 28, 28) uint8 images → (N, 784) float32 in [0, 1].
inline keel::Tensor flatten_pixels(const keel::Tensor& images) {
  return images.astype(keel::DType::f32).reshape({-1, 784}) / 255.0;
}

/// Digit labels → (N, 1): 1.0 for odd, 0.0 for even.
inline keel::Tensor is_odd(const keel::Tensor& digits) {
  using keel::DType;
  keel::Tensor d = digits.astype(DType::f32);
  return (d - 2.0 * keel::ops::cast(keel::ops::cast(d / 2.0, DType::i32), DType::f32)).reshape({-1, 1});
}

}  // namespace mnist_odd_even
