// The reference program of the Keras hardware-acceleration guide, in Keel: a binary classifier
// (Dense 64 relu → Dense 1 sigmoid), Adam, binary cross-entropy, accuracy, 10 epochs of batch 64.
// The task is real and bundled: tell odd MNIST digits from even ones, from the 784 raw pixels.
//
//   Keras                                              Keel
//   model = keras.Sequential([                         Sequential model({
//       keras.Input((784,)),                               layers::Input({784}),
//       layers.Dense(64, activation="relu"),               layers::Dense(64, "relu"),
//       layers.Dense(1, activation="sigmoid")])            layers::Dense(1, "sigmoid")});
//   model.compile(optimizer="adam",                    model.compile({.optimizer = "adam",
//       loss="binary_crossentropy",                        .loss = "binary_crossentropy",
//       metrics=["accuracy"])                              .metrics = {"accuracy"}});
//   model.fit(x_train, y_train,                        model.fit(x_train, y_train,
//       epochs=10, batch_size=64)                          {.batch_size = 64, .epochs = 10});
#include <keel/keel.h>

#include <cstdio>

#include "mnist_odd_even.h"

using namespace keel;
using mnist_odd_even::flatten_pixels;
using mnist_odd_even::is_odd;

int main() {
  random::set_seed(42);
  auto [train, test] = datasets::mnist::load_data();
  Tensor x_train = flatten_pixels(train.x), y_train = is_odd(train.y);
  Tensor x_test = flatten_pixels(test.x), y_test = is_odd(test.y);

  Sequential model({layers::Input({784}), layers::Dense(64, "relu"), layers::Dense(1, "sigmoid")});
  model.summary();
  model.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
  model.fit(x_train, y_train, {.batch_size = 64, .epochs = 10});

  auto scores = model.evaluate(x_test, y_test, {.verbose = 0});
  std::printf("Test loss: %.4f\nTest accuracy: %.4f\n", scores.at("loss"), scores.at("accuracy"));
  return 0;
}
