// A multi-layer perceptron on Fashion-MNIST (10 clothing classes), as in the Keras basic classification
// tutorial: Flatten → Dense 128 relu → Dense 10 softmax, Adam, sparse categorical cross-entropy.
#include <keel/keel.h>

#include <cstdio>

using namespace keel;

int main() {
  random::set_seed(42);
  auto [train, test] = datasets::fashion_mnist::load_data();
  Tensor x_train = train.x.astype(DType::f32) / 255.0;
  Tensor x_test = test.x.astype(DType::f32) / 255.0;

  Sequential model({
      layers::Input({28, 28}),
      layers::Flatten(),
      layers::Dense(256, "relu"),
      layers::Dense(128, "relu"),
      layers::Dense(10, "softmax"),
  });
  model.summary();
  model.compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
  model.fit(x_train, train.y, {.batch_size = 64, .epochs = 10, .validation_split = 0.1});

  auto scores = model.evaluate(x_test, test.y, {.verbose = 0});
  std::printf("Test loss: %.4f\nTest accuracy: %.4f\n", scores.at("loss"), scores.at("accuracy"));
  return 0;
}
