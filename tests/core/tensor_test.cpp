// Tensor construction, views, copies, printing, and the pooled allocator.
#include <gtest/gtest.h>

#include "keel/keel.h"

namespace keel {
namespace {

TEST(Tensor, CreationFillsValues) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.dtype(), DType::f32);
  EXPECT_EQ(z.strides(), (Strides{3, 1}));
  EXPECT_EQ(z.to_vector<float>(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(ones({2}, DType::i64).to_vector<int64_t>(), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(full({2}, 2.5, DType::f64).to_vector<double>(), (std::vector<double>{2.5, 2.5}));
  EXPECT_EQ(arange(0, 1, 0.25).to_vector<float>(), (std::vector<float>{0, 0.25f, 0.5f, 0.75f}));
  EXPECT_EQ(arange(3).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(scalar_tensor(4.0).ndim(), 0);
  EXPECT_EQ(scalar_tensor(4.0).item<float>(), 4.0f);
}

TEST(Tensor, FromVectorChecksSize) {
  Tensor t = from_vector<int32_t>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.dtype(), DType::i32);
  EXPECT_EQ(t.to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
  try {
    from_vector<float>({1, 2, 3}, {2, 2});
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(2, 2)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(from_vector<bool>({true, false}, {2}).to_vector<bool>(), (std::vector<bool>{true, false}));
}

TEST(Tensor, DataChecksDtype) {
  Tensor t = zeros({2});
  EXPECT_NO_THROW(t.data<float>());
  EXPECT_THROW(t.data<double>(), DTypeError);
}

TEST(Tensor, AlignedPooledStorage) {
  for (int64_t n : {1, 3, 100, 5000, 1 << 20}) {
    Tensor t = empty({n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % 64, 0u) << n;
  }
  cpu_allocator_empty_cache();
  { Tensor warm = empty({12345}); }
  int64_t before = cpu_allocator_stats().system_allocations;
  for (int i = 0; i < 10; ++i) Tensor again = empty({12345});
  EXPECT_EQ(cpu_allocator_stats().system_allocations, before) << "freed blocks must be reused";
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = arange(6).reshape({2, 3});
  Tensor v = ops::transpose(t);
  EXPECT_EQ(v.shape(), (Shape{3, 2}));
  EXPECT_EQ(v.strides(), (Strides{1, 3}));
  EXPECT_FALSE(v.is_contiguous());
  EXPECT_EQ(v.storage(), t.storage());
  EXPECT_EQ(v.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  Tensor c = v.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_NE(c.storage(), t.storage());
  EXPECT_EQ(c.to_vector<float>(), v.to_vector<float>());
  Tensor s = ops::slice_axis(t, 1, 1, 3);
  EXPECT_EQ(s.storage(), t.storage());
  EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{1, 2, 4, 5}));
}

TEST(Tensor, AstypeConvertsIncludingHalfTypes) {
  Tensor t = from_vector<float>({1.5f, -2.25f, 3.0f}, {3});
  EXPECT_EQ(t.astype(DType::i32).to_vector<int32_t>(), (std::vector<int32_t>{1, -2, 3}));
  EXPECT_EQ(t.astype(DType::f16).astype(DType::f32).to_vector<float>(), t.to_vector<float>());
  EXPECT_EQ(t.astype(DType::bf16).astype(DType::f64).to_vector<double>(), (std::vector<double>{1.5, -2.25, 3.0}));
  EXPECT_EQ(t.astype(DType::b8).to_vector<bool>(), (std::vector<bool>{true, true, true}));
}

TEST(Tensor, PrintsLikeNumPy) {
  Tensor t = from_vector<float>({1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(to_string(t), "Tensor([[1, 2],\n        [3, 4]], shape=(2, 2), dtype=float32)");
  EXPECT_EQ(to_string(scalar_tensor(3, DType::i64)), "Tensor(3, shape=(), dtype=int64)");
  std::string long_row = to_string(arange(2000));
  EXPECT_NE(long_row.find("..."), std::string::npos);
  EXPECT_NE(long_row.find("1999"), std::string::npos);
}

TEST(Tensor, ItemNeedsOneElement) {
  EXPECT_THROW(zeros({2}).item<float>(), ValueError);
  EXPECT_EQ(ones({1, 1}).item<double>(), 1.0);
}

TEST(Tensor, UndefinedTensorIsAClearError) {
  Tensor t;
  EXPECT_FALSE(t.defined());
  EXPECT_THROW(t.shape(), ValueError);
}

}  // namespace
}  // namespace keel
