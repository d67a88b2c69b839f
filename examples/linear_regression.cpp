// Fits a linear model y = x·w + b to synthetic data with autograd and plain gradient descent, printing
// the mean squared error as it falls. The main job of the repository until the Keras API lands.
#include <cstdio>

#include <keel/keel.h>

using namespace keel;

int main() {
  random::set_seed(42);
  const int64_t n = 1024, features = 8;

  // Synthetic data: a known weight vector plus a little noise.
  Tensor x = random::normal({n, features});
  Tensor true_w = random::uniform({features, 1}, -2.0, 2.0);
  Tensor y = ops::matmul(x, true_w) + 0.5 + 0.01 * random::normal({n, 1});

  Tensor w = zeros({features, 1}).requires_grad_();
  Tensor b = zeros({1}).requires_grad_();
  const double learning_rate = 0.1;

  for (int step = 0; step <= 100; ++step) {
    Tensor pred = ops::dense(x, w, b);
    Tensor loss = ops::mean(ops::square(pred - y));
    loss.backward();
    {
      NoGradGuard no_grad;  // the update itself is not part of the graph
      w = (w - learning_rate * w.grad()).requires_grad_();
      b = (b - learning_rate * b.grad()).requires_grad_();
    }
    if (step % 10 == 0) std::printf("step %3d  mse %.6f\n", step, loss.item<float>());
  }
  double err = ops::max(ops::abs(w - true_w)).item<float>();
  std::printf("max |w - true_w| = %.4f, b = %.4f (true 0.5)\n", err, b.item<float>());
  return err < 0.01 ? 0 : 1;
}
