// connect_gloo with its ranks on threads of one process over loopback (the multi-process tests are in
// tests/collectives): the ops with exact expected values, the rendezvous timeout naming a missing rank, a
// peer's abort seen at once, two communicators sharing one store port, the job secret, the store closing once
// every rank is connected, and the argument checks.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/tensor.h"
#include "keel/distribute/communicator.h"
#include "distribute/rank_threads.h"
#include "test_util.h"
#include "unused_port.h"

namespace keel::distribute {
namespace {

using namespace std::chrono_literals;
using keel::testing::expect_error;
using Clock = std::chrono::steady_clock;

int unused_port() {
  const int port = keel::testing::unused_loopback_port();
  EXPECT_NE(port, 0) << "no free loopback port";
  return port;
}

// Sets or unsets an environment variable for the life of the object (the tests run on one thread here).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

RendezvousOptions options_for(int rank, int world, int port, std::chrono::milliseconds timeout = 20s,
                              std::string prefix = "keel") {
  RendezvousOptions o;
  o.rank = rank;
  o.world_size = world;
  o.master_address = "127.0.0.1";
  o.master_port = port;
  o.timeout = timeout;
  o.prefix = std::move(prefix);
  return o;
}

// Connects `world` ranks on threads and runs body(comm, rank) on each; returns what each rank threw.
std::vector<std::string> run_world(int world, int port, const std::function<void(Communicator&, int)>& body,
                                   const std::string& prefix = "keel") {
  return testing::run_rank_threads(world, [&](int r) {
    auto comm = connect_gloo(options_for(r, world, port, 20s, prefix));
    body(*comm, r);
  });
}

using testing::expect_no_errors;

TEST(GlooCommunicator, OpsOverLoopbackThreads) {
  constexpr int world = 3;
  std::vector<std::vector<float>> sums(world), maxima(world);
  std::vector<std::vector<int64_t>> mins(world), gathered(world);
  std::vector<std::vector<double>> broadcasts(world);
  expect_no_errors(run_world(world, unused_port(), [&](Communicator& comm, int r) {
    EXPECT_EQ(comm.backend(), "gloo");
    EXPECT_EQ(comm.rank(), r);
    EXPECT_EQ(comm.size(), world);
    Tensor f = from_vector(std::vector<float>{1.0f * r, 0.5f, -2.0f * r}, {3}, Device::cpu());
    comm.all_reduce(f);
    sums[r] = f.to_vector<float>();
    Tensor g = from_vector(std::vector<float>{1.0f * r, -1.0f * r}, {2}, Device::cpu());
    comm.all_reduce(g, ReduceOp::kMax);
    maxima[r] = g.to_vector<float>();
    Tensor i = from_vector(std::vector<int64_t>{(int64_t{1} << 40) * (r + 1), 7 - r}, {2}, Device::cpu());
    comm.all_reduce(i, ReduceOp::kMin);
    mins[r] = i.to_vector<int64_t>();
    Tensor b = from_vector(std::vector<double>{0.25 * r, 1.0 + r}, {1, 2}, Device::cpu());
    comm.broadcast(b, 2);
    broadcasts[r] = b.to_vector<double>();
    Tensor a = comm.all_gather(from_vector(std::vector<int64_t>{10 * r, 10 * r + 1}, {1, 2}, Device::cpu()));
    EXPECT_EQ(a.shape(), (Shape{3, 2}));
    gathered[r] = a.to_vector<int64_t>();
    Tensor none = empty({0}, DType::f32, Device::cpu());
    comm.all_reduce(none);
    comm.barrier();
  }));
  for (int r = 0; r < world; ++r) {
    EXPECT_EQ(sums[r], (std::vector<float>{3.0f, 1.5f, -6.0f}));
    EXPECT_EQ(maxima[r], (std::vector<float>{2.0f, 0.0f}));
    EXPECT_EQ(mins[r], (std::vector<int64_t>{int64_t{1} << 40, 5}));
    EXPECT_EQ(broadcasts[r], (std::vector<double>{0.5, 3.0}));
    EXPECT_EQ(gathered[r], (std::vector<int64_t>{0, 1, 10, 11, 20, 21}));
  }
}

TEST(GlooCommunicator, RendezvousTimeoutNamesTheMissingRank) {
  const int port = unused_port();
  const auto start = Clock::now();
  expect_error<DeadlineExceededError>(
      [&] { connect_gloo(options_for(0, 2, port, 500ms)); },
      "rank 0: the rendezvous at 127.0.0.1:" + std::to_string(port) + " timed out after 0.5 s",
      "ranks [1] of 2 did not arrive");
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 5.0);
}

TEST(GlooCommunicator, UnreachableMasterTimesOutNamingIt) {
  const int port = unused_port();
  expect_error<DeadlineExceededError>([&] { connect_gloo(options_for(1, 2, port, 500ms)); },
                                      "rank 1: could not reach the rendezvous at 127.0.0.1:" + std::to_string(port) +
                                          " after 0.5 s (is rank 0 running? is the address right?)");
}

TEST(GlooCommunicator, AbortIsSeenByThePeerAtOnce) {
  const auto start = Clock::now();
  const auto errors = run_world(2, unused_port(), [](Communicator& comm, int r) {
    comm.set_timeout(30s);
    comm.barrier();
    if (r == 1) {
      comm.abort();
      expect_error<UnavailableError>([&] { comm.barrier(); }, "rank 1: barrier failed: this communicator was aborted");
      return;
    }
    Tensor t = zeros({1000}, DType::f32, Device::cpu());
    comm.all_reduce(t);
  });
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 10.0);  // far below the 30 s timeout
  EXPECT_NE(errors[0].find("rank 0: all_reduce failed: peer lost (gloo:"), std::string::npos) << errors[0];
  EXPECT_EQ(errors[1], "");
}

TEST(GlooCommunicator, CallTimeoutIsDeadlineExceededAndEndsTheCommunicator) {
  std::atomic<bool> rank0_failed{false};
  const auto errors = run_world(2, unused_port(), [&](Communicator& comm, int r) {
    comm.barrier();
    if (r == 0) {
      comm.set_timeout(500ms);
      Tensor t = zeros({10}, DType::f32, Device::cpu());
      const auto start = Clock::now();
      expect_error<DeadlineExceededError>([&] { comm.all_reduce(t); },
                                          "rank 0: all_reduce timed out after 0.5 s waiting for its peers (gloo:");
      EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 5.0);
      expect_error<UnavailableError>([&] { comm.barrier(); }, "rank 0: barrier failed: the communicator is unusable",
                                     "timed out");
      rank0_failed = true;
      return;
    }
    // Rank 1 stays away until rank 0 has given up; rank 0 closed its connections, so this fails at once.
    while (!rank0_failed) std::this_thread::sleep_for(10ms);
    comm.set_timeout(30s);
    const auto start = Clock::now();
    expect_error<UnavailableError>([&] { comm.barrier(); }, "rank 1: barrier failed");
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 5.0);
  });
  expect_no_errors(errors);
}

TEST(GlooCommunicator, TwoCommunicatorsShareOneStorePort) {
  const int port = unused_port();
  std::vector<std::string> first, second;
  std::thread a([&] {
    first = run_world(
        2, port,
        [](Communicator& comm, int r) {
          Tensor t = from_vector(std::vector<int32_t>{r + 1}, {1}, Device::cpu());
          comm.all_reduce(t);
          EXPECT_EQ(t.to_vector<int32_t>(), (std::vector<int32_t>{3}));
          comm.barrier();
        },
        "first");
  });
  std::thread b([&] {
    second = run_world(
        2, port,
        [](Communicator& comm, int r) {
          Tensor t = from_vector(std::vector<int32_t>{10 * (r + 1)}, {1}, Device::cpu());
          comm.all_reduce(t);
          EXPECT_EQ(t.to_vector<int32_t>(), (std::vector<int32_t>{30}));
          comm.barrier();
        },
        "second");
  });
  a.join();
  b.join();
  expect_no_errors(first);
  expect_no_errors(second);
}

// Whether a TCP connection to 127.0.0.1:port is refused (nothing listens there).
bool port_refuses(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool refused = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno == ECONNREFUSED;
  ::close(fd);
  return refused;
}

TEST(GlooCommunicator, StoreClosesOnceEveryRankIsConnected) {
  // Nothing needs the rendezvous store after connect_gloo: rank 0 stops serving it, so the port is closed for
  // the rest of the job.
  const int port = unused_port();
  expect_no_errors(run_world(2, port, [&](Communicator& comm, int r) {
    if (r == 0) {
      EXPECT_TRUE(port_refuses(port)) << "the rendezvous port is still open after connect_gloo";
    }
    Tensor t = from_vector(std::vector<int32_t>{r + 1}, {1}, Device::cpu());
    comm.all_reduce(t);  // the communicator does not need the store
    EXPECT_EQ(t.to_vector<int32_t>(), (std::vector<int32_t>{3}));
    EXPECT_TRUE(port_refuses(port));
  }));
}

TEST(GlooCommunicator, RanksMeetWithTheJobSecret) {
  const int port = unused_port();
  expect_no_errors(testing::run_rank_threads(2, [&](int r) {
    RendezvousOptions o = options_for(r, 2, port);
    o.secret = "0123456789abcdef0123456789abcdef";
    auto comm = connect_gloo(o);
    Tensor t = from_vector(std::vector<int32_t>{r + 1}, {1}, Device::cpu());
    comm->all_reduce(t);
    EXPECT_EQ(t.to_vector<int32_t>(), (std::vector<int32_t>{3}));
  }));
}

TEST(GlooCommunicator, RankWithAnotherSecretIsRefused) {
  const int port = unused_port();
  const auto errors = testing::run_rank_threads(2, [&](int r) {
    RendezvousOptions o = options_for(r, 2, port, 2s);
    o.secret = r == 0 ? "the secret of rank 0's job......" : "a secret from some other job.....";
    connect_gloo(o);
  });
  EXPECT_NE(errors[1].find("rank 1: the rendezvous at 127.0.0.1:" + std::to_string(port) +
                           " refused this process: its job secret differs from rank 0's"),
            std::string::npos)
      << errors[1];
  EXPECT_NE(errors[0].find("ranks [1] of 2 did not arrive"), std::string::npos) << errors[0];
}

TEST(GlooCommunicator, NonLoopbackMasterNeedsTheSecretVariable) {
  ScopedEnv unset("KEEL_CLUSTER_SECRET", nullptr);
  RendezvousOptions o = options_for(1, 2, 29500);
  o.master_address = "10.1.2.3";
  expect_error<ValueError>([&] { connect_gloo(o); },
                           "rank 1: the rendezvous at 10.1.2.3:29500 is not on a loopback address, so every rank "
                           "needs the job secret in KEEL_CLUSTER_SECRET",
                           "export KEEL_CLUSTER_SECRET=$(openssl rand -hex 32)", "keel-launch sets one");
}

TEST(GlooCommunicator, ShortSecretIsRefused) {
  ScopedEnv short_secret("KEEL_CLUSTER_SECRET", "hunter2");
  expect_error<ValueError>([&] { connect_gloo(options_for(0, 1, unused_port())); },
                           "rank 0: KEEL_CLUSTER_SECRET has 7 characters; a job secret needs at least 16");
}

TEST(GlooCommunicator, ChecksItsArguments) {
  expect_error<ValueError>([] { connect_gloo(options_for(2, 2, 29500)); }, "connect_gloo: rank 2 is outside [0, 2)");
  expect_error<ValueError>([] { connect_gloo(options_for(0, 0, 29500)); }, "world_size must be in [1, 65536], got 0");
  // Rejected before the rendezvous names 2^31 ranks.
  expect_error<ValueError>([] { connect_gloo(options_for(0, 2147483647, 29500)); },
                           "world_size must be in [1, 65536], got 2147483647");
  expect_error<ValueError>([] { connect_gloo(options_for(0, 2, 0)); }, "master_port 0 is outside 1..65535");
  auto comm = connect_gloo(options_for(0, 1, unused_port()));
  Tensor flags = from_vector(std::vector<uint8_t>{1}, {1}, Device::cpu());
  expect_error<ValueError>([&] { comm->all_reduce(flags); }, "rank 0: all_reduce: cannot reduce dtype uint8");
  Tensor t = zeros({1}, DType::f32, Device::cpu());
  expect_error<ValueError>([&] { comm->broadcast(t, 1); }, "broadcast: root 1 is outside [0, 1)");
  comm->all_reduce(t);  // a world of one works without peers
  EXPECT_EQ(comm->all_gather(t).shape(), (Shape{1}));
}

}  // namespace
}  // namespace keel::distribute
