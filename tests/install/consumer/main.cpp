// A downstream program, as a user writes it against the installed Keel: the reference program's model
// (Dense relu -> Dense sigmoid, adam, binary cross-entropy, accuracy) on a separable synthetic task, and
// a gradient from autograd. Exits non-zero when either result is wrong.
#include <cstdio>

#include <keel/keel.h>

int main() {
  using namespace keel;
  random::set_seed(7);
  Tensor x = random::normal({512, 8});
  Tensor y = (ops::sum(x, {1}, /*keepdims=*/true) > 0.0).astype(DType::f32);  // is the row's sum positive?

  Sequential model({layers::Input({8}), layers::Dense(16, "relu"), layers::Dense(1, "sigmoid")});
  model.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
  model.fit(x, y, {.batch_size = 64, .epochs = 100, .verbose = 0});
  double accuracy = model.evaluate(x, y, {.verbose = 0}).at("accuracy");

  Tensor w = from_vector<float>({1, 2, 3}, {3}).requires_grad_();
  ops::sum(ops::square(w)).backward();
  std::vector<float> g = w.grad().to_vector<float>();  // d/dw sum(w^2) = 2w

  bool ok = accuracy > 0.95 && g == std::vector<float>{2, 4, 6};
  std::printf("consumer: accuracy %.3f, grad [%.0f %.0f %.0f] -> %s\n", accuracy, g[0], g[1], g[2],
              ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
