// A downstream program, as a user writes it against the installed Keel: the reference program's model
// (Dense relu -> Dense sigmoid, adam, binary cross-entropy, accuracy) on a separable synthetic task, and
// a gradient from autograd, and the weights through a .weights.h5 file. Exits non-zero when a result is wrong.
#include <cstdio>
#include <filesystem>

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

  const std::string file = (std::filesystem::temp_directory_path() / "keel_consumer.weights.h5").string();
  model.save_weights(file);
  Sequential copy({layers::Input({8}), layers::Dense(16, "relu"), layers::Dense(1, "sigmoid")});
  copy.load_weights(file);
  std::filesystem::remove(file);
  bool same = copy.predict(x, {.verbose = 0}).to_vector<float>() == model.predict(x, {.verbose = 0}).to_vector<float>();

  Tensor w = from_vector<float>({1, 2, 3}, {3}).requires_grad_();
  ops::sum(ops::square(w)).backward();
  std::vector<float> g = w.grad().to_vector<float>();  // d/dw sum(w^2) = 2w

  bool ok = accuracy > 0.95 && g == std::vector<float>{2, 4, 6} && same;
  std::printf("consumer: accuracy %.3f, grad [%.0f %.0f %.0f], reloaded weights predict %s -> %s\n", accuracy,
              g[0], g[1], g[2], same ? "the same" : "DIFFERENTLY", ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
