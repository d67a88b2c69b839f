// connect_to_cluster / initialize_system / cluster_communicator in one process: a single-process resolver
// connects to nobody, the connection is process-wide, a different cluster is refused, an evaluator takes no
// part, and a bad backend name is named. (Multi-process clusters: tests/collectives.)
#include <gtest/gtest.h>

#include "keel/core/error.h"
#include "keel/core/tensor.h"
#include "keel/distribute/cluster.h"
#include "test_util.h"

namespace keel::distribute {
namespace {

using keel::testing::expect_error;

// One test: the connection lives as long as the process, so the steps depend on each other.
TEST(Cluster, SingleProcessConnectionIsProcessWide) {
  // Under ctest every test has its own process; a whole-binary run may have connected in an earlier test.
  if (cluster_communicator() != nullptr) GTEST_SKIP() << "this process connected in an earlier test";
  const ClusterResolver single;
  expect_error<ValueError>([&] { connect_to_cluster(single, {.backend = "nccl"}); },
                           "connect_to_cluster: backend 'nccl' is not one of 'auto', 'gloo', 'mpi'");
  EXPECT_EQ(cluster_communicator(), nullptr);

  auto comm = connect_to_cluster(single);
  ASSERT_NE(comm, nullptr);
  EXPECT_EQ(comm->size(), 1);
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->backend(), "in_process");
  EXPECT_EQ(cluster_communicator(), comm);
  EXPECT_EQ(connect_to_cluster(single), comm);  // the same cluster again: the same connection
  EXPECT_EQ(initialize_system(), 1);

  Tensor t = from_vector(std::vector<float>{2.5f}, {1}, Device::cpu());
  comm->all_reduce(t);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{2.5f}));

  const ClusterResolver other(ClusterConfig{.rank = 1, .world_size = 2, .master_port = 29555});
  expect_error<RuntimeError>([&] { connect_to_cluster(other); }, "already connected as rank 0 of 1",
                             "cannot also connect as rank 1 of 2");
}

TEST(Cluster, EvaluatorTakesNoPart) {
  const auto evaluator = ClusterResolver::from_environment(
      std::map<std::string, std::string>{{"TF_CONFIG",
                                          R"({"cluster": {"chief": ["h0:1"], "worker": ["h1:1"], "evaluator": ["h2:1"]},
           "task": {"type": "evaluator", "index": 0}})"}});
  ASSERT_EQ(evaluator.rank(), -1);
  expect_error<ValueError>([&] { connect_to_cluster(evaluator); }, "evaluator", "takes no part in the collectives");
}

}  // namespace
}  // namespace keel::distribute
