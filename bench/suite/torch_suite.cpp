// The peer of keel_suite.cpp: the same configurations in the libtorch C++ frontend (the library a C++ user would
// otherwise pick), written as such a user writes them: modules with a forward(), torch::optim::Adam, a shuffled
// index per epoch and index_select per batch (what Keel's fit does with shuffle=true), NoGradGuard + eval() for
// predict. Same data (the bundled MNIST IDX files, read here with zlib; the small model's synthetic set from
// suite_common.h), same batch, same steps, same timing, same JSON line.
//   torch_suite --model mlp|convnet|small --task train|predict --threads N [--batch B] [--repeats 5]
//               [--steps S] [--samples M]
// The models end in logits; training uses the fused torch losses on logits (cross_entropy = log_softmax + nll,
// binary_cross_entropy_with_logits), the natural torch form of Keel's softmax/sigmoid + cross-entropy, and
// predict applies softmax/sigmoid so both sides return probabilities.
#include <torch/torch.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "suite_common.h"

namespace {

namespace F = torch::nn::functional;

struct MlpImpl : torch::nn::Module {
  MlpImpl()
      : fc1(register_module("fc1", torch::nn::Linear(784, 512))),
        fc2(register_module("fc2", torch::nn::Linear(512, 512))),
        fc3(register_module("fc3", torch::nn::Linear(512, 10))) {}
  torch::Tensor forward(torch::Tensor x) { return fc3(torch::relu(fc2(torch::relu(fc1(x))))); }
  torch::Tensor predict(const torch::Tensor& x) { return torch::softmax(forward(x), 1); }
  torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& y) { return F::cross_entropy(logits, y); }
  torch::nn::Linear fc1, fc2, fc3;
};
TORCH_MODULE(Mlp);

// Keras's mnist_convnet in NCHW, torch's native layout.
struct ConvnetImpl : torch::nn::Module {
  ConvnetImpl()
      : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3)))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3)))),
        dropout(register_module("dropout", torch::nn::Dropout(0.5))),
        fc(register_module("fc", torch::nn::Linear(64 * 5 * 5, 10))) {}
  torch::Tensor forward(torch::Tensor x) {
    x = torch::max_pool2d(torch::relu(conv1(x)), 2);
    x = torch::max_pool2d(torch::relu(conv2(x)), 2);
    return fc(dropout(x.flatten(1)));
  }
  torch::Tensor predict(const torch::Tensor& x) { return torch::softmax(forward(x), 1); }
  torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& y) { return F::cross_entropy(logits, y); }
  torch::nn::Conv2d conv1, conv2;
  torch::nn::Dropout dropout;
  torch::nn::Linear fc;
};
TORCH_MODULE(Convnet);

struct SmallImpl : torch::nn::Module {
  SmallImpl()
      : fc1(register_module("fc1", torch::nn::Linear(32, 64))),
        fc2(register_module("fc2", torch::nn::Linear(64, 64))),
        fc3(register_module("fc3", torch::nn::Linear(64, 1))) {}
  torch::Tensor forward(torch::Tensor x) { return fc3(torch::relu(fc2(torch::relu(fc1(x))))); }
  torch::Tensor predict(const torch::Tensor& x) { return torch::sigmoid(forward(x)); }
  torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& y) {
    return F::binary_cross_entropy_with_logits(logits, y);
  }
  torch::nn::Linear fc1, fc2, fc3;
};
TORCH_MODULE(Small);

// Reads a gzip-compressed IDX file of unsigned bytes (MNIST images or labels) into a uint8 tensor.
torch::Tensor read_idx_u8(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  auto read = [&](void* dst, unsigned n) {
    if (gzread(f, dst, n) != static_cast<int>(n)) {
      gzclose(f);
      throw std::runtime_error("truncated IDX file " + path);
    }
  };
  unsigned char magic[4];
  read(magic, 4);
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08) {
    gzclose(f);
    throw std::runtime_error(path + " is not an IDX file of unsigned bytes");
  }
  std::vector<int64_t> shape(magic[3]);
  for (int64_t& d : shape) {
    unsigned char b[4];
    read(b, 4);
    d = (int64_t{b[0]} << 24) | (int64_t{b[1]} << 16) | (int64_t{b[2]} << 8) | int64_t{b[3]};
  }
  torch::Tensor t = torch::empty(shape, torch::kUInt8);
  read(t.data_ptr<uint8_t>(), static_cast<unsigned>(t.numel()));
  gzclose(f);
  return t;
}

std::string data_dir() {
  if (const char* dir = std::getenv("KEEL_DATA_DIR")) return dir;
  return KEEL_SUITE_DATA_DIR;  // the source tree's data/, set by CMake
}

// One epoch of `steps` batches in a fresh random order; returns the mean loss (Keel's fit reports the same).
template <class Net>
double train_epoch(Net& net, torch::optim::Adam& optimizer, const torch::Tensor& x, const torch::Tensor& y,
                   int64_t batch, int64_t steps) {
  net->train();
  const int64_t n = x.size(0);
  torch::Tensor order = torch::randperm(n, torch::kLong);
  int64_t position = 0;
  double total = 0;
  for (int64_t s = 0; s < steps; ++s) {
    if (position + batch > n) {  // only when steps × batch exceeds the data: start a new pass
      order = torch::randperm(n, torch::kLong);
      position = 0;
    }
    const torch::Tensor index = order.narrow(0, position, batch);
    position += batch;
    optimizer.zero_grad();
    torch::Tensor loss = net->loss(net->forward(x.index_select(0, index)), y.index_select(0, index));
    loss.backward();
    optimizer.step();
    total += loss.template item<double>();
  }
  return total / static_cast<double>(steps);
}

// model.predict's equivalent: every batch through the network, the outputs concatenated.
template <class Net>
torch::Tensor predict_all(Net& net, const torch::Tensor& x, int64_t batch) {
  torch::NoGradGuard no_grad;
  net->eval();
  std::vector<torch::Tensor> outputs;
  for (int64_t i = 0; i < x.size(0); i += batch)
    outputs.push_back(net->predict(x.narrow(0, i, std::min(batch, x.size(0) - i))));
  return torch::cat(outputs);
}

template <class Net>
void run(const suite::Args& args, const torch::Tensor& x, const torch::Tensor& y, double data_mib) {
  Net net;
  std::vector<double> values;
  int64_t samples = 0;
  double loss = -1;
  if (args.task == "train") {
    samples = args.batch * args.steps;
    torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(1e-3));
    train_epoch(net, optimizer, x, y, args.batch, args.steps);  // warm-up: oneDNN primitives, Adam state, pages
    for (int r = 0; r < args.repeats; ++r)
      values.push_back(suite::value_of(
          args, suite::seconds_of([&] { loss = train_epoch(net, optimizer, x, y, args.batch, args.steps); }), samples));
  } else {
    samples = args.samples;
    predict_all(net, x, args.batch);  // warm-up
    for (int r = 0; r < args.repeats; ++r)
      values.push_back(suite::value_of(args, suite::seconds_of([&] { predict_all(net, x, args.batch); }), samples));
  }
  suite::print_result("libtorch", args, samples, values, data_mib, loss);
}

}  // namespace

int main(int argc, char** argv) try {
  const suite::Args args = suite::parse_args(argc, argv);
  torch::set_num_threads(args.threads);
  torch::manual_seed(1);
  // SUITE_SHOW_CONFIG=1: print torch's build and thread configuration (which BLAS, which pools) to stderr.
  if (std::getenv("SUITE_SHOW_CONFIG"))
    std::fprintf(stderr, "%s\n%s\n", at::show_config().c_str(), at::get_parallel_info().c_str());

  torch::Tensor x, y;
  if (args.model == "small") {
    suite::SmallData d = suite::make_small_data(args.batch * args.steps);
    const auto rows = static_cast<int64_t>(d.y.size());
    x = torch::from_blob(d.x.data(), {rows, 32}, torch::kFloat32).clone();
    y = torch::from_blob(d.y.data(), {rows, 1}, torch::kFloat32).clone();
  } else {
    const std::string prefix = data_dir() + "/mnist/" + (args.task == "train" ? "train" : "t10k");
    // As keel_suite: convert, then divide into a new tensor (Keel has no in-place divide), so the data's share
    // of peak memory is the same on both sides.
    x = read_idx_u8(prefix + "-images-idx3-ubyte.gz").to(torch::kFloat32) / 255.0;
    x = args.model == "mlp" ? x.reshape({-1, 784}) : x.reshape({-1, 1, 28, 28});
    y = read_idx_u8(prefix + "-labels-idx1-ubyte.gz").to(torch::kLong);
  }
  if (args.task == "predict") {
    if (args.samples > x.size(0)) throw std::invalid_argument("--samples exceeds the rows available");
    x = x.narrow(0, 0, args.samples);
  }
  const double data_mib = suite::proc_status_mib("VmHWM");

  if (args.model == "mlp")
    run<Mlp>(args, x, y, data_mib);
  else if (args.model == "convnet")
    run<Convnet>(args, x, y, data_mib);
  else
    run<Small>(args, x, y, data_mib);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "torch_suite: %s\n", e.what());
  std::fprintf(stderr, suite::kUsage, argv[0]);
  return 1;
}
