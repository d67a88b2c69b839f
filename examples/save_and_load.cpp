// Train, save, load in another process, predict the same: the reference program's model trained for
// 3 epochs, saved as a Keras 3 `.keras` archive (with a ModelCheckpoint keeping the best epoch's weights
// on the side), then a second process — this program run again with `predict FILE` — loads the archive
// and predicts the test set. The first process checks that the predictions are bit for bit its own.
//
//   Keras                                              Keel
//   model.save("odd_even.keras")                       model.save("odd_even.keras");
//   model = keras.saving.load_model("odd_even.keras")  Model model = saving::load_model("odd_even.keras");
#include <keel/keel.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "mnist_odd_even.h"

using namespace keel;

namespace {

Tensor test_pixels() { return mnist_odd_even::flatten_pixels(datasets::mnist::load_data().test.x); }

// The predictions as exact text (one float's bits a line), so two processes can compare them.
void write_predictions(const Tensor& p, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw Error("cannot write " + path);
  for (float v : p.to_vector<float>()) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    std::fprintf(f, "%08x\n", bits);
  }
  std::fclose(f);
}

int predict_from(const std::string& archive) {
  Model model = saving::load_model(archive);
  write_predictions(model.predict(test_pixels(), {.verbose = 0}), archive + ".loaded.txt");
  std::printf("process %d: loaded %s (%lld parameters) and predicted the test set\n", static_cast<int>(::getpid()),
              archive.c_str(), static_cast<long long>(model.count_params()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "predict") return predict_from(argv[2]);

  random::set_seed(42);
  auto [train, test] = datasets::mnist::load_data();
  Tensor x_train = mnist_odd_even::flatten_pixels(train.x), y_train = mnist_odd_even::is_odd(train.y);

  Sequential model({layers::Input({784}), layers::Dense(64, "relu"), layers::Dense(1, "sigmoid")});
  model.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
  model.fit(x_train, y_train,
            {.batch_size = 64, .epochs = 3, .verbose = 2,
             .callbacks = {callbacks::ModelCheckpoint("odd_even_best.weights.h5",
                                                      {.monitor = "val_accuracy", .verbose = 1,
                                                       .save_best_only = true, .save_weights_only = true})},
             .validation_split = 0.1});
  model.save("odd_even.keras");
  write_predictions(model.predict(test_pixels(), {.verbose = 0}), "odd_even.keras.saved.txt");

  // A second process loads the archive and predicts.
  const std::string command = std::string("'") + argv[0] + "' predict odd_even.keras";
  if (std::system(command.c_str()) != 0) {
    std::fprintf(stderr, "the second process failed\n");
    return 1;
  }
  const bool same = std::system("cmp -s odd_even.keras.saved.txt odd_even.keras.loaded.txt") == 0;
  std::printf("process %d: the loaded model's %lld predictions are %s\n", static_cast<int>(::getpid()),
              static_cast<long long>(test.x.shape()[0]), same ? "bit for bit the same" : "DIFFERENT");
  return same ? 0 : 1;
}
