// Outputs above kStreamingStoreBytes take the streaming-store path of the elementwise loop: check it
// element by element (odd length for the unaligned tail, a scalar operand, float64, several threads).
#include <gtest/gtest.h>

#include "backends/cpu/stream_store.h"
#include "keel/keel.h"

namespace keel {
namespace {

TEST(ElementwiseStreaming, LargeOutputsAreExact) {
  const int64_t n = cpu::kStreamingStoreBytes / 4 + 13;
  Tensor a = random::uniform({n}, -1, 1, DType::f32, 1), b = random::uniform({n}, -1, 1, DType::f32, 2);
  std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>();
  std::vector<float> sum = ops::add(a, b).to_vector<float>();
  std::vector<float> scaled = (a * 3.0).to_vector<float>();
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(sum[i], va[i] + vb[i]) << i;
    ASSERT_EQ(scaled[i], va[i] * 3.0f) << i;
  }
  Tensor d = random::uniform({n / 2 + 3}, -1, 1, DType::f64, 3);
  std::vector<double> vd = d.to_vector<double>(), sq = ops::square(d).to_vector<double>();
  for (size_t i = 0; i < vd.size(); ++i) ASSERT_EQ(sq[i], vd[i] * vd[i]) << i;
}

}  // namespace
}  // namespace keel
