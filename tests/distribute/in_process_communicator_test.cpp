// make_in_process_group: every op and dtype with values whose results are computed here independently,
// identical bits on every rank (rank-order reduction), timeouts naming the ranks that did not come, abort,
// ranks that disagree, and the input checks.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/tensor.h"
#include "keel/distribute/communicator.h"
#include "keel/ops/manipulation.h"
#include "distribute/rank_threads.h"
#include "test_util.h"

namespace keel::distribute {
namespace {

using namespace std::chrono_literals;
using keel::testing::expect_error;
using Clock = std::chrono::steady_clock;

// Runs body(comm, rank) on one thread per rank; returns what each rank threw (empty when it returned).
std::vector<std::string> run_ranks(std::vector<std::unique_ptr<Communicator>>& comms,
                                   const std::function<void(Communicator&, int)>& body) {
  return testing::run_rank_threads(static_cast<int>(comms.size()), [&](int r) { body(*comms[r], r); });
}

using testing::expect_no_errors;

// Element i of rank r: small integers and quarters, so sums are exact in every dtype.
double value(int rank, int64_t i) { return static_cast<double>((i * 7 + rank * 3) % 11) - 5.0 + 0.25 * rank; }

template <class T>
T as(double v) {
  return std::is_integral_v<T> ? static_cast<T>(v * 4) : static_cast<T>(v);  // integers: scaled to stay whole
}

template <class T>
void check_all_reduce(int world, ReduceOp op) {
  auto comms = make_in_process_group(world);
  constexpr int64_t n = 1000;
  std::vector<Tensor> results(static_cast<size_t>(world));
  expect_no_errors(run_ranks(comms, [&](Communicator& comm, int r) {
    std::vector<T> data(n);
    for (int64_t i = 0; i < n; ++i) data[i] = as<T>(value(r, i));
    Tensor t = from_vector(data, {10, 100}, Device::cpu());
    comm.all_reduce(t, op);
    results[r] = t;
  }));
  for (int64_t i = 0; i < n; ++i) {
    T expected = as<T>(value(0, i));
    for (int r = 1; r < world; ++r) {
      const T x = as<T>(value(r, i));
      expected = op == ReduceOp::kSum   ? static_cast<T>(expected + x)
                 : op == ReduceOp::kMin ? std::min(expected, x)
                                        : std::max(expected, x);
    }
    ASSERT_EQ(results[0].data<T>()[i], expected) << "element " << i;
  }
  for (int r = 1; r < world; ++r) {
    EXPECT_EQ(std::memcmp(results[0].data_ptr(), results[r].data_ptr(), n * sizeof(T)), 0) << "rank " << r;
  }
}

TEST(InProcessCommunicator, AllReduceEveryDtypeAndOp) {
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMin, ReduceOp::kMax}) {
    check_all_reduce<float>(3, op);
    check_all_reduce<double>(3, op);
    check_all_reduce<int32_t>(4, op);
    check_all_reduce<int64_t>(2, op);
  }
}

TEST(InProcessCommunicator, AllReduceSumsInRankOrderWithIdenticalBits) {
  // Values whose float sum depends on the order: every rank must get ((x0 + x1) + x2) + x3, bit for bit.
  constexpr int world = 4;
  constexpr int64_t n = 4096;
  std::vector<std::vector<float>> inputs(world, std::vector<float>(n));
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> dist(-1e4f, 1e4f);
  for (auto& v : inputs) {
    for (auto& x : v) x = dist(gen) * std::pow(10.0f, static_cast<float>(gen() % 7) - 3.0f);
  }
  auto comms = make_in_process_group(world);
  std::vector<std::vector<float>> outputs(world);
  expect_no_errors(run_ranks(comms, [&](Communicator& comm, int r) {
    Tensor t = from_vector(inputs[r], {n}, Device::cpu());
    comm.all_reduce(t);
    outputs[r] = t.to_vector<float>();
  }));
  for (int64_t i = 0; i < n; ++i) {
    float expected = inputs[0][i];
    for (int r = 1; r < world; ++r) expected += inputs[r][i];
    for (int r = 0; r < world; ++r) {
      ASSERT_EQ(std::memcmp(&outputs[r][i], &expected, sizeof(float)), 0) << "rank " << r << " element " << i;
    }
  }
}

TEST(InProcessCommunicator, BroadcastFromEveryRoot) {
  constexpr int world = 3;
  auto comms = make_in_process_group(world);
  for (int root = 0; root < world; ++root) {
    std::vector<std::vector<double>> got(world);
    std::vector<std::vector<uint8_t>> got_bytes(world);
    expect_no_errors(run_ranks(comms, [&](Communicator& comm, int r) {
      std::vector<double> data(6);
      for (int64_t i = 0; i < 6; ++i) data[i] = value(r, i);
      Tensor t = from_vector(data, {2, 3}, Device::cpu());
      comm.broadcast(t, root);
      got[r] = t.to_vector<double>();
      Tensor b = from_vector(std::vector<uint8_t>{static_cast<uint8_t>(r), 200}, {2}, Device::cpu());
      comm.broadcast(b, root);  // any dtype: broadcast moves bytes
      got_bytes[r] = b.to_vector<uint8_t>();
    }));
    for (int r = 0; r < world; ++r) {
      for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(got[r][i], value(root, i)) << "root " << root << " rank " << r;
      EXPECT_EQ(got_bytes[r], (std::vector<uint8_t>{static_cast<uint8_t>(root), 200}));
    }
  }
}

TEST(InProcessCommunicator, AllGatherConcatenatesInRankOrder) {
  constexpr int world = 3;
  auto comms = make_in_process_group(world);
  std::vector<Tensor> matrices(world), scalars(world);
  expect_no_errors(run_ranks(comms, [&](Communicator& comm, int r) {
    std::vector<int64_t> data(6);
    for (int64_t i = 0; i < 6; ++i) data[i] = 100 * r + i;
    matrices[r] = comm.all_gather(from_vector(data, {2, 3}, Device::cpu()));
    scalars[r] = comm.all_gather(scalar_tensor(r * 1.5, DType::f32, Device::cpu()));
  }));
  for (int r = 0; r < world; ++r) {
    EXPECT_EQ(matrices[r].shape(), (Shape{6, 3}));
    EXPECT_EQ(matrices[r].dtype(), DType::i64);
    const auto v = matrices[r].to_vector<int64_t>();
    for (int src = 0; src < world; ++src) {
      for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(v[src * 6 + i], 100 * src + i);
    }
    EXPECT_EQ(scalars[r].shape(), (Shape{world}));
    EXPECT_EQ(scalars[r].to_vector<float>(), (std::vector<float>{0.0f, 1.5f, 3.0f}));
  }
}

TEST(InProcessCommunicator, BarrierWaitsForEveryRank) {
  constexpr int world = 4;
  auto comms = make_in_process_group(world);
  std::atomic<int> before{0};
  std::vector<int> seen(world);
  expect_no_errors(run_ranks(comms, [&](Communicator& comm, int r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * r));
    ++before;
    comm.barrier();
    seen[r] = before.load();
  }));
  for (int r = 0; r < world; ++r) EXPECT_EQ(seen[r], world) << "rank " << r;
}

TEST(InProcessCommunicator, GroupOfOne) {
  auto comms = make_in_process_group(1);
  Communicator& comm = *comms[0];
  EXPECT_EQ(comm.rank(), 0);
  EXPECT_EQ(comm.size(), 1);
  EXPECT_EQ(comm.backend(), "in_process");
  Tensor t = from_vector(std::vector<float>{1.5f, -2.0f}, {2}, Device::cpu());
  comm.all_reduce(t, ReduceOp::kMax);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1.5f, -2.0f}));
  comm.broadcast(t, 0);
  EXPECT_EQ(comm.all_gather(t).to_vector<float>(), (std::vector<float>{1.5f, -2.0f}));
  comm.barrier();
  Tensor none = empty({0, 3}, DType::f32, Device::cpu());
  comm.all_reduce(none);
  EXPECT_EQ(comm.all_gather(none).shape(), (Shape{0, 3}));
}

TEST(InProcessCommunicator, TimeoutNamesTheRanksThatDidNotCome) {
  auto comms = make_in_process_group(3);
  for (auto& c : comms) c->set_timeout(300ms);
  std::vector<std::string> errors(2);
  std::vector<double> elapsed(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      const auto start = Clock::now();
      try {
        Tensor t = from_vector(std::vector<float>{1.0f}, {1}, Device::cpu());
        comms[r]->all_reduce(t);
      } catch (const DeadlineExceededError& e) {
        errors[r] = e.what();
      }
      elapsed[r] = std::chrono::duration<double>(Clock::now() - start).count();
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < 2; ++r) {
    EXPECT_NE(errors[r].find("rank " + std::to_string(r) + ": all_reduce timed out after 0.3 s waiting for ranks [2]"),
              std::string::npos)
        << errors[r];
    EXPECT_NE(errors[r].find("in-process group of 3"), std::string::npos) << errors[r];
    EXPECT_GE(elapsed[r], 0.25);
    EXPECT_LT(elapsed[r], 5.0);
  }
  // The ranks that timed out withdrew: the group still works once everyone comes.
  expect_no_errors(run_ranks(comms, [](Communicator& comm, int) { comm.barrier(); }));
}

TEST(InProcessCommunicator, AbortFailsPendingAndLaterCalls) {
  auto comms = make_in_process_group(3);
  for (auto& c : comms) c->set_timeout(30s);
  const auto start = Clock::now();
  const auto errors = run_ranks(comms, [](Communicator& comm, int r) {
    if (r == 2) {
      std::this_thread::sleep_for(200ms);
      comm.abort();
      return;
    }
    Tensor t = from_vector(std::vector<float>{1.0f}, {1}, Device::cpu());
    comm.all_reduce(t);
  });
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 5.0);  // not the 30 s timeout
  for (int r = 0; r < 2; ++r) {
    EXPECT_NE(errors[r].find("rank " + std::to_string(r) + ": all_reduce failed"), std::string::npos) << errors[r];
    EXPECT_NE(errors[r].find("aborted by rank 2"), std::string::npos) << errors[r];
  }
  for (int r = 0; r < 3; ++r) expect_error<UnavailableError>([&] { comms[r]->barrier(); }, "barrier failed", "aborted");
}

TEST(InProcessCommunicator, RanksThatDisagreeAllGetAValueError) {
  auto comms = make_in_process_group(2);
  const auto errors = run_ranks(comms, [](Communicator& comm, int r) {
    Tensor t = zeros({r == 0 ? 3 : 4}, DType::f32, Device::cpu());
    comm.all_reduce(t);
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_NE(
        errors[r].find("the ranks' calls disagree: rank 0 called all_reduce(sum) of float32 tensor of shape (3,), "
                       "rank 1 called all_reduce(sum) of float32 tensor of shape (4,)"),
        std::string::npos)
        << errors[r];
  }
  const auto mixed = run_ranks(comms, [](Communicator& comm, int r) {
    Tensor t = zeros({2}, DType::f32, Device::cpu());
    if (r == 0)
      comm.broadcast(t, 1);
    else
      comm.barrier();
  });
  for (int r = 0; r < 2; ++r) EXPECT_NE(mixed[r].find("rank 1 called barrier"), std::string::npos) << mixed[r];
  // After a disagreement the group is still in step.
  expect_no_errors(run_ranks(comms, [](Communicator& comm, int) { comm.barrier(); }));
}

TEST(InProcessCommunicator, ChecksItsInputs) {
  auto comms = make_in_process_group(2);
  Communicator& comm = *comms[0];
  Tensor undefined;
  expect_error<ValueError>([&] { comm.all_reduce(undefined); }, "rank 0: all_reduce: the tensor is undefined");
  Tensor flags = from_vector(std::vector<uint8_t>{1, 0}, {2}, Device::cpu());
  expect_error<ValueError>([&] { comm.all_reduce(flags); }, "all_reduce: cannot reduce dtype uint8",
                           "expected float32, float64, int32 or int64");
  Tensor transposed = ops::transpose(zeros({2, 3}, DType::f32, Device::cpu()));
  ASSERT_FALSE(transposed.is_contiguous());
  expect_error<ValueError>([&] { comm.all_reduce(transposed); }, "all_reduce: the tensor must be contiguous");
  expect_error<ValueError>([&] { (void)comm.all_gather(transposed); }, "all_gather: the tensor must be contiguous");
  Tensor t = zeros({2}, DType::f32, Device::cpu());
  expect_error<ValueError>([&] { comm.broadcast(t, 2); }, "broadcast: root 2 is outside [0, 2)");
  expect_error<ValueError>([&] { comm.broadcast(t, -1); }, "broadcast: root -1 is outside [0, 2)");
  expect_error<ValueError>([] { make_in_process_group(0); }, "world_size must be >= 1, got 0");
}

TEST(InProcessCommunicator, TimeoutFromTheEnvironment) {
  ::setenv("KEEL_COLLECTIVE_TIMEOUT_S", "7", 1);
  EXPECT_EQ(make_in_process_group(1)[0]->timeout(), std::chrono::milliseconds(7000));
  ::setenv("KEEL_COLLECTIVE_TIMEOUT_S", "soon", 1);
  expect_error<ValueError>([] { make_in_process_group(1); }, "KEEL_COLLECTIVE_TIMEOUT_S='soon'",
                           "whole number of seconds");
  ::unsetenv("KEEL_COLLECTIVE_TIMEOUT_S");
  EXPECT_EQ(make_in_process_group(1)[0]->timeout(), std::chrono::milliseconds(300000));
}

}  // namespace
}  // namespace keel::distribute
