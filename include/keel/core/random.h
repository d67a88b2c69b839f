// Counter-based random numbers (Philox-4x32-10). Element i of a draw uses counter (offset + i), so the
// same seed gives the same numbers whatever the device or thread count.
#pragma once
#include <cstdint>
#include <optional>

#include "keel/core/tensor.h"

namespace keel {

/// Philox-4x32-10: four 32-bit outputs for a 128-bit counter and a 64-bit key.
struct Philox {
  static void generate(uint64_t key, uint64_t counter_hi, uint64_t counter_lo, uint32_t out[4]);
};

namespace random {

/// Seeds the global generator (like keras.utils.set_random_seed); resets its stream offset.
void set_seed(uint64_t seed);
/// Reserves `count` counters of the global stream and returns (key, first counter).
struct StreamPosition { uint64_t key; uint64_t counter; };
StreamPosition next_stream(uint64_t count);

/// The whole state of the global generator: its key (the seed) and how many counters it has handed out.
/// Saving it and setting it back later makes every following unseeded draw (initializers, dropout masks,
/// fit's shuffle order) repeat exactly; BackupAndRestore (keel/io/callbacks.h) resumes training with it.
struct GeneratorState {
  uint64_t seed = 0;
  uint64_t offset = 0;
  bool operator==(const GeneratorState&) const = default;
};
GeneratorState get_state();
/// Restores a state get_state returned (set_seed(s) is set_state({s, 0})).
void set_state(const GeneratorState& state);

/// Uniform in [minval, maxval). `seed` given: a fresh stream keyed by it (stateless, like Keras seeds).
Tensor uniform(const Shape& shape, double minval = 0.0, double maxval = 1.0, DType dtype = DType::f32,
               std::optional<uint64_t> seed = std::nullopt);
Tensor normal(const Shape& shape, double mean = 0.0, double stddev = 1.0, DType dtype = DType::f32,
              std::optional<uint64_t> seed = std::nullopt);
/// Normal, with values beyond two standard deviations redrawn (Keras's truncated_normal).
Tensor truncated_normal(const Shape& shape, double mean = 0.0, double stddev = 1.0, DType dtype = DType::f32,
                        std::optional<uint64_t> seed = std::nullopt);

/// Uniform float in [0,1) from one 32-bit draw (24 significant bits), as every backend computes it.
inline float uint_to_unit_float(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }

}  // namespace random
}  // namespace keel
