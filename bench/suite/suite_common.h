// What keel_suite and torch_suite share, so both sides parse the same arguments, train on the same synthetic
// data, time the same way and print the same JSON line: argument parsing, the small model's data, the median,
// peak resident memory and the output line. Framework-neutral (standard library only).
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace suite {

struct Args {
  std::string model = "mlp";   // mlp | convnet | small
  std::string task = "train";  // train | predict
  int threads = 1;
  int64_t batch = 0;  // 0: the model's training batch (128, or 64 for small)
  int repeats = 5;
  int64_t steps = 0;    // train: steps per timed repetition; 0: the model's default
  int64_t samples = 0;  // predict: samples per timed repetition; 0: 2,000 at batch 1, else 10,000
  bool eager = false;   // Keel: train op by op (config::run_functions_eagerly) instead of replaying a plan
};

inline constexpr char kUsage[] =
    "usage: %s --model mlp|convnet|small --task train|predict --threads N [--batch B] [--repeats 5]\n"
    "          [--steps S] [--samples M] [--eager 0|1]\n";

inline Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument("missing value after " + k);
    const std::string v = argv[++i];
    if (k == "--model")
      a.model = v;
    else if (k == "--task")
      a.task = v;
    else if (k == "--threads")
      a.threads = std::stoi(v);
    else if (k == "--batch")
      a.batch = std::stoll(v);
    else if (k == "--repeats")
      a.repeats = std::stoi(v);
    else if (k == "--steps")
      a.steps = std::stoll(v);
    else if (k == "--samples")
      a.samples = std::stoll(v);
    else if (k == "--eager")
      a.eager = v == "1";
    else
      throw std::invalid_argument("unknown argument " + k);
  }
  if (a.model != "mlp" && a.model != "convnet" && a.model != "small")
    throw std::invalid_argument("--model must be mlp, convnet or small");
  if (a.task != "train" && a.task != "predict") throw std::invalid_argument("--task must be train or predict");
  if (a.threads < 1 || a.repeats < 1) throw std::invalid_argument("--threads and --repeats must be >= 1");
  if (a.batch == 0) a.batch = a.model == "small" ? 64 : 128;
  // Chosen so that one repetition takes about 1-3 s at 1 thread on the 2-core machine (the slower side).
  if (a.steps == 0) a.steps = a.model == "mlp" ? 200 : a.model == "convnet" ? 30 : 5000;
  if (a.samples == 0) a.samples = a.batch == 1 ? 2000 : 10000;
  if (a.batch < 1 || a.steps < 1 || a.samples < 1) throw std::invalid_argument("sizes must be >= 1");
  return a;
}

// The small model's problem: `rows` points of 32 features uniform in [-1, 1) and a label from a fixed linear
// rule, from one seed. Both frameworks read exactly these values.
struct SmallData {
  std::vector<float> x;  // rows × 32
  std::vector<float> y;  // rows × 1, 0 or 1
};

inline SmallData make_small_data(int64_t rows) {
  constexpr int kFeatures = 32;
  std::mt19937 gen(20240601);
  auto unit = [&gen] { return static_cast<float>(gen() >> 8) * (2.0f / 16777216.0f) - 1.0f; };
  std::vector<float> w(kFeatures);
  for (float& v : w) v = unit();
  SmallData d;
  d.x.resize(static_cast<size_t>(rows) * kFeatures);
  d.y.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    float dot = 0;
    for (int j = 0; j < kFeatures; ++j) {
      const float v = unit();
      d.x[r * kFeatures + j] = v;
      dot += v * w[j];
    }
    d.y[r] = dot > 0 ? 1.0f : 0.0f;
  }
  return d;
}

inline double seconds_of(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// A field of /proc/self/status ("VmHWM", "VmRSS") in MiB; -1 where /proc is missing.
inline double proc_status_mib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, field.size() + 1, field + ":") == 0)
      return std::strtod(line.c_str() + field.size() + 1, nullptr) / 1024.0;  // the kernel reports kB
  return -1;
}

// The unit of a configuration: time per step for the small model's training (framework overhead is the point
// there), throughput otherwise.
inline bool per_step(const Args& a) { return a.model == "small" && a.task == "train"; }

// Converts one repetition's wall time to the reported value.
inline double value_of(const Args& a, double seconds, int64_t samples) {
  return per_step(a) ? seconds * 1e6 / static_cast<double>(a.steps) : static_cast<double>(samples) / seconds;
}

// The one line the runner parses. data_mib: peak resident memory once the data was prepared, before the model
// existed, so the training's own share of peak_mib is visible. loss: the last training epoch's mean loss, a check
// that both sides really train (negative for predict: printed as null).
inline void print_result(const char* framework, const Args& a, int64_t samples, const std::vector<double>& values,
                         double data_mib, double loss = -1) {
  const std::string loss_str = loss >= 0 ? std::to_string(loss) : "null";
  std::string vals;
  for (double v : values) vals += (vals.empty() ? "" : ", ") + std::to_string(v);
  std::printf(
      "{\"framework\": \"%s\", \"model\": \"%s\", \"task\": \"%s\", \"threads\": %d, \"batch\": %lld, "
      "\"unit\": \"%s\", \"median\": %.3f, \"values\": [%s], \"samples_per_repeat\": %lld, \"steps\": %lld, "
      "\"loss\": %s, \"data_mib\": %.1f, \"peak_mib\": %.1f}\n",
      framework, a.model.c_str(), a.task.c_str(), a.threads, static_cast<long long>(a.batch),
      per_step(a) ? "us/step" : "samples/s", median(values), vals.c_str(), static_cast<long long>(samples),
      static_cast<long long>(a.task == "train" ? a.steps : (samples + a.batch - 1) / a.batch), loss_str.c_str(),
      data_mib, proc_status_mib("VmHWM"));
  std::fflush(stdout);
}

}  // namespace suite
