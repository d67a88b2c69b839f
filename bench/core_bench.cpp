// Core op benchmarks, each beside the raw baseline it is judged against, in one binary so both see the
// same machine state: matmul vs oneDNN's sgemm, conv2d at the Keras mnist_convnet shapes, elementwise
// add vs memcpy bandwidth, and the dispatch cost of a 1-element op with and without autograd recording.
// Run through bench/run_core_benchmarks, which takes medians and prints the ratios.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <oneapi/dnnl/dnnl.h>

#include <keel/keel.h>

using namespace keel;

namespace {

// --- matmul: (m x k) · (k x n) ---
void set_flops(benchmark::State& state, double flops_per_iter) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iter * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

void BM_KeelMatmul(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  NoGradGuard no_grad;
  Tensor a = random::normal({m, k}), b = random::normal({k, n});
  for (auto _ : state) {
    Tensor c = ops::matmul(a, b);
    benchmark::DoNotOptimize(c.data_ptr());
  }
  set_flops(state, 2.0 * m * k * n);
}

// The fused dense layer x·W + b at the same shapes (the bias adds m·n flops, not counted).
void BM_KeelDense(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  NoGradGuard no_grad;
  Tensor x = random::normal({m, k}), w = random::normal({k, n}), b = random::normal({n});
  for (auto _ : state) {
    Tensor y = ops::dense(x, w, b);
    benchmark::DoNotOptimize(y.data_ptr());
  }
  set_flops(state, 2.0 * m * k * n);
}

void BM_OneDnnSgemm(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  std::vector<float> a(m * k, 0.5f), b(k * n, 0.25f), c(m * n);
  for (auto _ : state) {
    dnnl_sgemm('N', 'N', m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  set_flops(state, 2.0 * m * k * n);
}

void matmul_shapes(benchmark::internal::Benchmark* b) {
  b->Args({128, 784, 512})->Args({128, 512, 512})->Args({1024, 1024, 1024})->Args({2048, 2048, 2048});
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}
BENCHMARK(BM_KeelMatmul)->Apply(matmul_shapes);
BENCHMARK(BM_OneDnnSgemm)->Apply(matmul_shapes);
BENCHMARK(BM_KeelDense)->Apply(matmul_shapes);

// --- conv2d at the mnist_convnet shapes: (batch, h, w, cin) -> cout, 3x3 valid ---
void BM_Conv2dForward(benchmark::State& state) {
  const int64_t batch = 128, hw = state.range(0), cin = state.range(1), cout = state.range(2);
  NoGradGuard no_grad;
  Tensor x = random::normal({batch, hw, hw, cin}), w = random::normal({3, 3, cin, cout});
  for (auto _ : state) {
    Tensor y = ops::conv2d(x, w);
    benchmark::DoNotOptimize(y.data_ptr());
  }
  const double out = (hw - 2) * (hw - 2);
  set_flops(state, 2.0 * batch * out * cout * 9 * cin);
}

void BM_Conv2dForwardBackward(benchmark::State& state) {
  const int64_t batch = 128, hw = state.range(0), cin = state.range(1), cout = state.range(2);
  Tensor x = random::normal({batch, hw, hw, cin}), w = random::normal({3, 3, cin, cout});
  const bool input_grad = cin > 1;  // the first layer's input is data: no gradient, as in training
  if (input_grad) x.requires_grad_();
  w.requires_grad_();
  for (auto _ : state) {
    Tensor y = ops::conv2d(x, w);
    y.backward(ones(y.shape()));
    benchmark::DoNotOptimize(w.grad().data_ptr());
    w.zero_grad();
    if (input_grad) x.zero_grad();
  }
  const double out = (hw - 2) * (hw - 2);
  set_flops(state, (input_grad ? 3.0 : 2.0) * 2.0 * batch * out * cout * 9 * cin);
}
BENCHMARK(BM_Conv2dForward)->Args({28, 1, 32})->Args({13, 32, 64})->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Conv2dForwardBackward)->Args({28, 1, 32})->Args({13, 32, 64})->Unit(benchmark::kMicrosecond)->UseRealTime();

// --- elementwise add vs memcpy over 16 M floats ---
constexpr int64_t kBig = 16 << 20;

void BM_KeelAdd16M(benchmark::State& state) {
  NoGradGuard no_grad;
  Tensor a = random::uniform({kBig}), b = random::uniform({kBig});
  for (auto _ : state) {
    Tensor c = ops::add(a, b);
    benchmark::DoNotOptimize(c.data_ptr());
  }
  state.counters["GB/s"] = benchmark::Counter(3.0 * kBig * 4 * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// memcpy split over the same threads Keel uses, so the ratio compares like with like.
void BM_Memcpy16M(benchmark::State& state) {
  Tensor a = random::uniform({kBig}), c = empty({kBig});
  const auto* src = a.data<float>();
  auto* dst = c.data<float>();
  for (auto _ : state) {
    parallel_for(kBig, 1 << 15, [&](int64_t b, int64_t e) { std::memcpy(dst + b, src + b, (e - b) * 4); });
    benchmark::DoNotOptimize(c.data_ptr());
  }
  state.counters["GB/s"] = benchmark::Counter(2.0 * kBig * 4 * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_KeelAdd16M)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Memcpy16M)->Unit(benchmark::kMillisecond)->UseRealTime();

// --- dispatch overhead: one op on one element ---
void BM_DispatchAdd1(benchmark::State& state) {
  const bool record = state.range(0) != 0;
  Tensor a = ones({1}), b = ones({1});
  if (record) a.requires_grad_();
  for (auto _ : state) {
    Tensor c = ops::add(a, b);
    benchmark::DoNotOptimize(c.data_ptr());
  }
  state.SetLabel(record ? "autograd recording" : "no autograd");
}
BENCHMARK(BM_DispatchAdd1)->Arg(0)->Arg(1)->Unit(benchmark::kNanosecond);

// --- one Adam step over the 784-512-512-10 MLP's parameters (669,706 floats) ---
// The optimizer's fused AdamUpdate op against the same Keras formula written with one op per term.
std::vector<Variable> mlp_variables() {
  std::vector<Variable> vars;
  for (Shape s : {Shape{784, 512}, Shape{512}, Shape{512, 512}, Shape{512}, Shape{512, 10}, Shape{10}})
    vars.emplace_back("w", random::normal(s, 0.0, 0.05, DType::f32, 1));
  return vars;
}
std::vector<Tensor> mlp_gradients(const std::vector<Variable>& vars) {
  std::vector<Tensor> grads;
  for (const auto& v : vars) grads.push_back(random::normal(v.shape(), 0.0, 1e-3, DType::f32, 2));
  return grads;
}

void BM_AdamStepFused(benchmark::State& state) {
  std::vector<Variable> vars = mlp_variables();
  std::vector<Tensor> grads = mlp_gradients(vars);
  optimizers::Adam adam({.learning_rate = 1e-3});
  adam.apply(grads, vars);  // builds the slots
  for (auto _ : state) adam.apply(grads, vars);
}
BENCHMARK(BM_AdamStepFused)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_AdamStepOpByOp(benchmark::State& state) {
  std::vector<Variable> vars = mlp_variables();
  std::vector<Tensor> grads = mlp_gradients(vars);
  std::vector<Tensor> m, v;
  for (const auto& var : vars) {
    m.push_back(zeros(var.shape()));
    v.push_back(zeros(var.shape()));
  }
  const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  double t = 0;
  NoGradGuard no_grad;
  for (auto _ : state) {
    t += 1;
    const double alpha = lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
    for (size_t i = 0; i < vars.size(); ++i) {
      m[i] = m[i] + (grads[i] - m[i]) * (1 - b1);
      v[i] = v[i] + (ops::square(grads[i]) - v[i]) * (1 - b2);
      vars[i].assign(vars[i].value() - m[i] * alpha / (ops::sqrt(v[i]) + eps));
    }
  }
}
BENCHMARK(BM_AdamStepOpByOp)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
