// Dataset pipeline: slicing, batching, shuffling, map, prefetch, take/repeat and cardinality.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "keel/core/grad_mode.h"
#include "keel/core/random.h"
#include "keel/data/dataset.h"
#include "keel/ops/elementwise.h"
#include "test_util.h"

namespace keel::data {
namespace {

using keel::testing::expect_error;

// x[i] = {2i, 2i+1} (float32), y[i] = i (int64), for i < n.
Dataset pairs(int64_t n) {
  std::vector<float> x(2 * n);
  std::iota(x.begin(), x.end(), 0.0f);
  std::vector<int64_t> y(n);
  std::iota(y.begin(), y.end(), 0);
  return Dataset::from_tensor_slices({from_vector(x, {n, 2}), from_vector(y, {n})});
}

// The y component of every element of one pass, flattened.
std::vector<int64_t> labels(const Dataset& ds) {
  std::vector<int64_t> out;
  auto it = ds.iterator();
  while (std::optional<Element> e = it->next()) {
    std::vector<int64_t> v = (*e)[1].to_vector<int64_t>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

TEST(Dataset, FromTensorSlicesYieldsRows) {
  Dataset ds = pairs(3);
  EXPECT_EQ(ds.cardinality(), 3);
  auto it = ds.iterator();
  for (int64_t i = 0; i < 3; ++i) {
    std::optional<Element> e = it->next();
    ASSERT_TRUE(e);
    ASSERT_EQ(e->size(), 2u);
    EXPECT_EQ((*e)[0].shape(), (Shape{2}));
    EXPECT_EQ((*e)[0].to_vector<float>(), (std::vector<float>{2.0f * i, 2.0f * i + 1}));
    EXPECT_EQ((*e)[1].shape(), Shape{});
    EXPECT_EQ((*e)[1].item<int64_t>(), i);
  }
  EXPECT_FALSE(it->next());
  EXPECT_FALSE(it->next());
  EXPECT_EQ(labels(ds), range(3));  // a new iterator starts over
}

TEST(Dataset, FromTensorSlicesErrors) {
  expect_error<ValueError>(
      [] {
        Dataset::from_tensor_slices({zeros({3, 2}), zeros({4})});
      },
      {"from_tensor_slices", "same size in axis 0", "(3, 2), (4,)"});
  expect_error<ValueError>([] { Dataset::from_tensor_slices({scalar_tensor(1.0)}); }, {"component 0", "scalar"});
  expect_error<ValueError>([] { Dataset::from_tensor_slices({}); }, {"at least one tensor"});
}

TEST(Dataset, FromTensorsIsOneElement) {
  Dataset ds = Dataset::from_tensors({from_vector(std::vector<float>{1, 2, 3}, {3})});
  EXPECT_EQ(ds.cardinality(), 1);
  auto it = ds.iterator();
  std::optional<Element> e = it->next();
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)[0].to_vector<float>(), (std::vector<float>{1, 2, 3}));
  EXPECT_FALSE(it->next());
}

TEST(Dataset, BatchStacksWithPartialLastBatch) {
  Dataset ds = pairs(10).batch(4);
  EXPECT_EQ(ds.cardinality(), 3);
  auto it = ds.iterator();
  std::vector<int64_t> sizes;
  std::vector<float> xs;
  while (std::optional<Element> b = it->next()) {
    sizes.push_back((*b)[0].dim(0));
    EXPECT_EQ((*b)[0].shape(), (Shape{(*b)[0].dim(0), 2}));
    EXPECT_EQ((*b)[1].dtype(), DType::i64);
    std::vector<float> v = (*b)[0].to_vector<float>();
    xs.insert(xs.end(), v.begin(), v.end());
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4, 2}));
  std::vector<float> expected(20);
  std::iota(expected.begin(), expected.end(), 0.0f);
  EXPECT_EQ(xs, expected);
  EXPECT_EQ(labels(ds), range(10));
}

TEST(Dataset, BatchDropRemainder) {
  Dataset ds = pairs(10).batch(4, /*drop_remainder=*/true);
  EXPECT_EQ(ds.cardinality(), 2);
  EXPECT_EQ(labels(ds), range(8));
  EXPECT_EQ(pairs(8).batch(4, true).cardinality(), 2);
  EXPECT_EQ(pairs(3).batch(4, true).cardinality(), 0);
  EXPECT_EQ(labels(pairs(3).batch(4, true)), std::vector<int64_t>{});
}

TEST(Dataset, BatchErrors) {
  expect_error<ValueError>([] { pairs(4).batch(0); }, {"batch_size must be >= 1", "got 0"});
  // Elements of different shapes cannot be stacked.
  Dataset ragged = pairs(4).map([](const Element& e) {
    const int64_t i = e[1].item<int64_t>();
    return Element{zeros({i + 1}), e[1]};
  });
  auto it = ragged.batch(2).iterator();
  expect_error<ValueError>([&] { it->next(); }, {"Dataset.batch", "component 0 of element 1", "(2,)", "(1,)"});
}

TEST(Dataset, ShuffleIsASeededReproduciblePermutation) {
  Dataset ds = pairs(50).shuffle(16, /*seed=*/42);
  std::vector<int64_t> first = labels(ds);
  std::vector<int64_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, range(50));
  EXPECT_NE(first, range(50));
  EXPECT_EQ(labels(pairs(50).shuffle(16, 42)), first);  // same seed, same order
  EXPECT_NE(labels(pairs(50).shuffle(16, 43)), first);
  // Reshuffled each pass, yet the sequence of passes is fixed by the seed.
  std::vector<int64_t> second = labels(ds);
  EXPECT_NE(second, first);
  Dataset again = pairs(50).shuffle(16, 42);
  labels(again);
  EXPECT_EQ(labels(again), second);
  // Without reshuffling every pass has the same order.
  Dataset fixed = pairs(50).shuffle(16, 42, /*reshuffle_each_iteration=*/false);
  EXPECT_EQ(labels(fixed), labels(fixed));
  EXPECT_EQ(ds.cardinality(), 50);
}

TEST(Dataset, ShuffleBufferSemantics) {
  // A buffer of 1 keeps the order; with a buffer of b, output p is one of the first p + b inputs.
  EXPECT_EQ(labels(pairs(20).shuffle(1, 3)), range(20));
  for (uint64_t seed = 0; seed < 5; ++seed) {
    std::vector<int64_t> order = labels(pairs(30).shuffle(4, seed));
    for (size_t p = 0; p < order.size(); ++p) EXPECT_LE(order[p], static_cast<int64_t>(p) + 3);
  }
  expect_error<ValueError>([] { pairs(3).shuffle(0); }, {"Dataset.shuffle", "buffer_size must be >= 1"});
}

TEST(Dataset, UnseededShuffleFollowsTheGlobalSeed) {
  random::set_seed(7);
  std::vector<int64_t> a = labels(pairs(40).shuffle(40));
  random::set_seed(7);
  std::vector<int64_t> b = labels(pairs(40).shuffle(40));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, range(40));
  EXPECT_NE(labels(pairs(40).shuffle(40)), a);  // the global stream moved on
}

TEST(Dataset, MapAppliesWithoutRecordingGradients) {
  Tensor w = scalar_tensor(3.0).requires_grad_();
  Dataset ds = pairs(3).map([&](const Element& e) { return Element{e[0] * w, e[1]}; });
  EXPECT_EQ(ds.cardinality(), 3);
  auto it = ds.iterator();
  std::optional<Element> e = it->next();
  e = it->next();
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)[0].to_vector<float>(), (std::vector<float>{6, 9}));
  EXPECT_FALSE((*e)[0].requires_grad());
}

TEST(Dataset, MapExceptionsPropagate) {
  Dataset ds = pairs(5).map([](const Element& e) {
    KEEL_CHECK(e[1].item<int64_t>() != 3, ValueError, "bad element ", e[1].item<int64_t>());
    return e;
  });
  auto it = ds.iterator();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(it->next());
  expect_error<ValueError>([&] { it->next(); }, {"bad element 3"});
}

TEST(Dataset, PrefetchYieldsTheSameSequence) {
  Dataset base = pairs(37).shuffle(8, 5, false).batch(4);
  for (int64_t buffer : {1, 3, 100}) {
    Dataset pre = base.prefetch(buffer);
    EXPECT_EQ(pre.cardinality(), base.cardinality());
    EXPECT_EQ(labels(pre), labels(base)) << "buffer " << buffer;
  }
  expect_error<ValueError>([] { pairs(3).prefetch(0); }, {"Dataset.prefetch", "buffer_size must be >= 1"});
}

TEST(Dataset, PrefetchPropagatesErrorsInOrderAndRunsWorkerWithoutGrad) {
  Tensor w = scalar_tensor(2.0).requires_grad_();
  Dataset ds = pairs(6)
                   .map([&](const Element& e) {
                     KEEL_CHECK(e[1].item<int64_t>() != 4, ValueError, "map failed at ", e[1].item<int64_t>());
                     return Element{e[0] * w, e[1]};
                   })
                   .prefetch(2);
  auto it = ds.iterator();
  for (int64_t i = 0; i < 4; ++i) {
    std::optional<Element> e = it->next();
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)[1].item<int64_t>(), i);
    EXPECT_FALSE((*e)[0].requires_grad());
  }
  expect_error<ValueError>([&] { it->next(); }, {"map failed at 4"});
  EXPECT_FALSE(it->next());
}

TEST(Dataset, PrefetchIteratorStopsCleanlyMidStream) {
  // An endless pipeline: destroying the iterator must stop and join the worker, not hang.
  Dataset ds = pairs(5).repeat().prefetch(3);
  for (int pass = 0; pass < 3; ++pass) {
    auto it = ds.iterator();
    for (int i = 0; i < 7; ++i) EXPECT_EQ((*it->next())[1].item<int64_t>(), i % 5);
  }
  auto unused = ds.iterator();  // never read
}

TEST(Dataset, TakeRepeatAndCardinality) {
  Dataset ds = pairs(10);
  EXPECT_EQ(labels(ds.take(3)), range(3));
  EXPECT_EQ(ds.take(3).cardinality(), 3);
  EXPECT_EQ(ds.take(20).cardinality(), 10);
  EXPECT_EQ(ds.take(-1).cardinality(), 10);
  EXPECT_EQ(ds.take(0).cardinality(), 0);
  EXPECT_EQ(labels(ds.take(0)), std::vector<int64_t>{});

  EXPECT_EQ(ds.repeat(2).cardinality(), 20);
  std::vector<int64_t> twice = range(10);
  twice.insert(twice.end(), twice.begin(), twice.end());
  EXPECT_EQ(labels(ds.repeat(2)), twice);
  EXPECT_EQ(ds.repeat().cardinality(), kInfiniteCardinality);
  EXPECT_EQ(ds.repeat(0).cardinality(), 0);
  EXPECT_EQ(labels(ds.repeat(0)), std::vector<int64_t>{});
  EXPECT_EQ(ds.repeat().take(25).cardinality(), 25);
  std::vector<int64_t> wrapped = labels(ds.repeat().take(25));
  ASSERT_EQ(wrapped.size(), 25u);
  EXPECT_EQ(wrapped[24], 4);
  EXPECT_EQ(ds.repeat().batch(3).cardinality(), kInfiniteCardinality);
  EXPECT_EQ(ds.repeat().shuffle(4).map([](const Element& e) { return e; }).cardinality(), kInfiniteCardinality);
  // Repeating an empty dataset forever is empty, not a hang.
  EXPECT_EQ(ds.take(0).repeat().cardinality(), 0);
  EXPECT_EQ(labels(ds.take(0).repeat()), std::vector<int64_t>{});
}

TEST(Dataset, EpochPipelineLikeFit) {
  // shuffle -> batch -> prefetch over several passes: each pass covers every element exactly once.
  Dataset ds = pairs(23).shuffle(23, 1).batch(5).prefetch(2);
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> seen = labels(ds);
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, range(23));
  }
  EXPECT_EQ(ds.cardinality(), 5);
}

TEST(Dataset, IteratorOutlivesDataset) {
  std::unique_ptr<ElementIterator> it;
  {
    Dataset ds = pairs(4).map([](const Element& e) { return e; }).batch(3);
    it = ds.iterator();
  }
  EXPECT_EQ((*it->next())[1].to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ((*it->next())[1].to_vector<int64_t>(), (std::vector<int64_t>{3}));
  EXPECT_FALSE(it->next());
}

}  // namespace
}  // namespace keel::data
