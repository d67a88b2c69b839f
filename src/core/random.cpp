// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3") and the global stream.
// Element i of a draw of n values uses counter (offset + i/4), lane i%4, so results do not depend on
// thread count or device. Normals use Box-Muller on two lanes.
#include "keel/core/random.h"

#include <atomic>
#include <cmath>
#include <mutex>

#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "core/thread_observer.h"
#include "keel/core/config.h"

namespace keel {

void Philox::generate(uint64_t key, uint64_t counter_hi, uint64_t counter_lo, uint32_t out[4]) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(counter_lo), c1 = static_cast<uint32_t>(counter_lo >> 32);
  uint32_t c2 = static_cast<uint32_t>(counter_hi), c3 = static_cast<uint32_t>(counter_hi >> 32);
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(kM0) * c0, p1 = static_cast<uint64_t>(kM1) * c2;
    uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    uint32_t n1 = static_cast<uint32_t>(p1);
    uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    uint32_t n3 = static_cast<uint32_t>(p0);
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += kW0;
    k1 += kW1;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

namespace random {
namespace {
std::mutex g_mu;
uint64_t g_seed = 0x5eed5eedULL;  // fixed default so unseeded runs are still reproducible run to run
uint64_t g_offset = 0;

// Draws are computed on the host, then placed like any new tensor (default_device()).
Tensor placed(const Tensor& host) {
  const Device device = default_device();
  return device.is_cpu() ? host : detail::copy_to_device(host, device);
}

// Fills n values; `make(u32 draws[4], out[4])` turns one Philox block into 4 values.
template <class Make>
Tensor fill(const Shape& shape, DType dtype, std::optional<uint64_t> seed, std::string_view op, Make make) {
  Tensor t = empty(shape, dtype, Device::cpu());
  const int64_t n = t.numel();
  const int64_t blocks = (n + 3) / 4;
  StreamPosition pos = seed ? StreamPosition{*seed, 0} : next_stream(static_cast<uint64_t>(blocks));
  detail::visit_float(dtype, op, [&]<class T>(detail::TypeTag<T>) {
    T* p = t.data<T>();
    parallel_for(blocks, 1024, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        uint32_t r[4];
        Philox::generate(pos.key, 0, pos.counter + b, r);
        double v[4];
        make(r, v);
        for (int k = 0; k < 4 && b * 4 + k < n; ++k) p[b * 4 + k] = static_cast<T>(v[k]);
      }
    });
  });
  return placed(t);
}

void box_muller(const uint32_t r[4], double v[4]) {
  for (int k = 0; k < 4; k += 2) {
    double u1 = (static_cast<double>(r[k]) + 1.0) / 4294967296.0;  // (0, 1]
    double u2 = static_cast<double>(r[k + 1]) / 4294967296.0;
    double rad = std::sqrt(-2.0 * std::log(u1));
    v[k] = rad * std::cos(2.0 * M_PI * u2);
    v[k + 1] = rad * std::sin(2.0 * M_PI * u2);
  }
}
}  // namespace

void set_seed(uint64_t seed) {
  std::lock_guard lock(g_mu);
  g_seed = seed;
  g_offset = 0;
}

GeneratorState get_state() {
  std::lock_guard lock(g_mu);
  return {g_seed, g_offset};
}

void set_state(const GeneratorState& state) {
  std::lock_guard lock(g_mu);
  g_seed = state.seed;
  g_offset = state.offset;
}

StreamPosition next_stream(uint64_t count) {
  if (detail::ThreadObserver* o = detail::thread_observer()) o->stream_draw();
  std::lock_guard lock(g_mu);
  StreamPosition p{g_seed, g_offset};
  g_offset += count;
  return p;
}

Tensor uniform(const Shape& shape, double minval, double maxval, DType dtype, std::optional<uint64_t> seed) {
  KEEL_CHECK(maxval > minval, ValueError, "random::uniform: maxval (", maxval, ") must be greater than minval (",
             minval, ")");
  return fill(shape, dtype, seed, "random::uniform", [&](const uint32_t r[4], double v[4]) {
    for (int k = 0; k < 4; ++k) v[k] = minval + (maxval - minval) * (static_cast<double>(r[k]) / 4294967296.0);
  });
}

Tensor normal(const Shape& shape, double mean, double stddev, DType dtype, std::optional<uint64_t> seed) {
  return fill(shape, dtype, seed, "random::normal", [&](const uint32_t r[4], double v[4]) {
    box_muller(r, v);
    for (int k = 0; k < 4; ++k) v[k] = mean + stddev * v[k];
  });
}

Tensor truncated_normal(const Shape& shape, double mean, double stddev, DType dtype, std::optional<uint64_t> seed) {
  // Each block redraws from counters further along its own sub-stream (counter_hi = attempt) until all
  // four values lie within two standard deviations, so the result stays independent of threading.
  Tensor t = empty(shape, dtype, Device::cpu());
  const int64_t n = t.numel();
  const int64_t blocks = (n + 3) / 4;
  StreamPosition pos = seed ? StreamPosition{*seed, 0} : next_stream(static_cast<uint64_t>(blocks));
  detail::visit_float(dtype, "random::truncated_normal", [&]<class T>(detail::TypeTag<T>) {
    T* p = t.data<T>();
    parallel_for(blocks, 1024, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        for (int k = 0; k < 4 && b * 4 + k < n; ++k) {
          for (uint64_t attempt = 0;; ++attempt) {
            uint32_t r[4];
            Philox::generate(pos.key, attempt, pos.counter + b, r);
            double v[4];
            box_muller(r, v);
            if (std::abs(v[k]) <= 2.0) {
              p[b * 4 + k] = static_cast<T>(mean + stddev * v[k]);
              break;
            }
          }
        }
      }
    });
  });
  return placed(t);
}

}  // namespace random
}  // namespace keel
