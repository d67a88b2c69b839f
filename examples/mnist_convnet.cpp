// The Keras "Simple MNIST convnet" example (keras.io/examples/vision/mnist_convnet), trained on
// Fashion-MNIST: two Conv2D/MaxPooling2D blocks, Dropout 0.5, Dense 10 softmax, Adam, batch 128,
// categorical cross-entropy on one-hot labels, 10 % of the training set held out for validation.
// Set KEEL_EPOCHS to change the number of epochs (default 25).
#include <keel/keel.h>

#include <cstdio>
#include <cstdlib>

using namespace keel;

int main() {
  random::set_seed(1337);
  const int epochs = std::getenv("KEEL_EPOCHS") ? std::atoi(std::getenv("KEEL_EPOCHS")) : 25;
  constexpr int64_t num_classes = 10;

  // Scale images to [0, 1] and give them a channel axis: (N, 28, 28, 1).
  auto [train, test] = datasets::fashion_mnist::load_data();
  Tensor x_train = (train.x.astype(DType::f32) / 255.0).reshape({-1, 28, 28, 1});
  Tensor x_test = (test.x.astype(DType::f32) / 255.0).reshape({-1, 28, 28, 1});
  std::printf("x_train shape: %s\n%lld train samples\n%lld test samples\n", partial_shape_str(x_train.shape()).c_str(),
              static_cast<long long>(x_train.dim(0)), static_cast<long long>(x_test.dim(0)));
  Tensor y_train = ops::one_hot(train.y.astype(DType::i64), num_classes);
  Tensor y_test = ops::one_hot(test.y.astype(DType::i64), num_classes);

  Sequential model({
      layers::Input({28, 28, 1}),
      layers::Conv2D(32, {3, 3}, {.activation = "relu"}),
      layers::MaxPooling2D({2, 2}),
      layers::Conv2D(64, {3, 3}, {.activation = "relu"}),
      layers::MaxPooling2D({2, 2}),
      layers::Flatten(),
      layers::Dropout(0.5),
      layers::Dense(num_classes, "softmax"),
  });
  model.summary();

  model.compile({.optimizer = "adam", .loss = "categorical_crossentropy", .metrics = {"accuracy"}});
  model.fit(x_train, y_train, {.batch_size = 128, .epochs = epochs, .validation_split = 0.1});

  auto score = model.evaluate(x_test, y_test, {.verbose = 0});
  std::printf("Test loss: %.4f\nTest accuracy: %.4f\n", score.at("loss"), score.at("accuracy"));
  return 0;
}
