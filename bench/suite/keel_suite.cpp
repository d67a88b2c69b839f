// One configuration of the Keel-vs-libtorch suite (issue 5), timed through model.fit / model.predict exactly as a
// user calls them (verbose 0). torch_suite.cpp is the same program in the libtorch C++ frontend; bench/run_suite
// runs both side by side.
//   keel_suite --model mlp|convnet|small --task train|predict --threads N [--batch B] [--repeats 5]
//              [--steps S] [--samples M] [--eager 0|1]
// Train: one repetition is one fit epoch of S steps (steps_per_epoch), after one warm-up fit. Predict: one
// repetition is model.predict over M test images at batch B, after one warm-up predict. Prints one JSON line.
#include <keel/keel.h>

#include <cstdio>
#include <string>
#include <vector>

#include "suite_common.h"

using namespace keel;

namespace {

Sequential build_model(const std::string& name) {
  if (name == "mlp")
    return Sequential(
        {layers::Input({784}), layers::Dense(512, "relu"), layers::Dense(512, "relu"), layers::Dense(10, "softmax")});
  if (name == "convnet")
    return Sequential({layers::Input({28, 28, 1}), layers::Conv2D(32, {3, 3}, {.activation = "relu"}),
                       layers::MaxPooling2D({2, 2}), layers::Conv2D(64, {3, 3}, {.activation = "relu"}),
                       layers::MaxPooling2D({2, 2}), layers::Flatten(), layers::Dropout(0.5),
                       layers::Dense(10, "softmax")});
  return Sequential(
      {layers::Input({32}), layers::Dense(64, "relu"), layers::Dense(64, "relu"), layers::Dense(1, "sigmoid")});
}

// MNIST as a Keras user prepares it: float32 in [0, 1], flattened for the MLP, with a channel axis for the
// convnet. Training uses the 60,000 training images, predict the 10,000 test images.
Tensor mnist_images(const datasets::Split& split, const std::string& model) {
  Tensor x = split.x.astype(DType::f32) / 255.0;
  return model == "mlp" ? x.reshape({-1, 784}) : x.reshape({-1, 28, 28, 1});
}

}  // namespace

int main(int argc, char** argv) try {
  const suite::Args args = suite::parse_args(argc, argv);
  config::set_num_threads(args.threads);
  config::run_functions_eagerly(args.eager);
  random::set_seed(1);

  Tensor x, y;
  if (args.model == "small") {
    const suite::SmallData d = suite::make_small_data(args.batch * args.steps);
    x = from_vector(d.x, {static_cast<int64_t>(d.y.size()), 32});
    y = from_vector(d.y, {static_cast<int64_t>(d.y.size()), 1});
  } else {
    auto [train, test] = datasets::mnist::load_data();
    const datasets::Split& split = args.task == "train" ? train : test;
    x = mnist_images(split, args.model);
    y = split.y.astype(DType::i64);
  }
  if (args.task == "predict") {
    KEEL_CHECK(args.samples <= x.dim(0), ValueError, "--samples ", args.samples, " exceeds the ", x.dim(0),
               " rows available");
    x = ops::slice_axis(x, 0, 0, args.samples);
  }
  const double data_mib = suite::proc_status_mib("VmHWM");

  Sequential model = build_model(args.model);
  model.compile(
      {.optimizer = "adam", .loss = args.model == "small" ? "binary_crossentropy" : "sparse_categorical_crossentropy"});

  std::vector<double> values;
  int64_t samples = 0;
  double loss = -1;
  if (args.task == "train") {
    samples = args.batch * args.steps;
    const FitOptions options{.batch_size = args.batch, .epochs = 1, .verbose = 0, .steps_per_epoch = args.steps};
    model.fit(x, y, options);  // warm-up: primitives created, optimizer slots built, pages touched
    History history;
    for (int r = 0; r < args.repeats; ++r)
      values.push_back(suite::value_of(args, suite::seconds_of([&] { history = model.fit(x, y, options); }), samples));
    loss = history.history.at("loss").back();
  } else {
    samples = args.samples;
    const PredictOptions options{.batch_size = args.batch, .verbose = 0};
    model.predict(x, options);  // warm-up
    for (int r = 0; r < args.repeats; ++r)
      values.push_back(suite::value_of(args, suite::seconds_of([&] { model.predict(x, options); }), samples));
  }
  suite::print_result("keel", args, samples, values, data_mib, loss);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "keel_suite: %s\n", e.what());
  std::fprintf(stderr, suite::kUsage, argv[0]);
  return 1;
}
