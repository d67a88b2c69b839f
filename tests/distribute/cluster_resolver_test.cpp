// ClusterResolver (keras-reference §11.2, issue 6): the order explicit > TF_CONFIG > torchrun > Open MPI >
// Slurm > single process; TensorFlow's TF_CONFIG rules (chief is rank 0, evaluator outside the collectives, no
// ps); Slurm's compressed hostlists and task lists; and errors that name the variable and its value.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "keel/core/error.h"
#include "keel/distribute/cluster_resolver.h"

namespace keel::distribute {
namespace {

using Env = std::map<std::string, std::string>;

// Expects a ValueError whose message holds every one of `words`.
void expect_value_error(const Env& env, std::initializer_list<std::string> words) {
  try {
    ClusterResolver::from_environment(env);
    ADD_FAILURE() << "no ValueError was raised";
  } catch (const ValueError& e) {
    const std::string message = e.what();
    for (const std::string& word : words)
      EXPECT_NE(message.find(word), std::string::npos) << message << "\nlacks: " << word;
  }
}

Env tf_config(const std::string& json) { return {{"TF_CONFIG", json}}; }

constexpr const char* kChiefAndTwoWorkers =
    R"({"cluster": {"chief": ["c0:2222"], "worker": ["w0:2223", "w1:2224"]}, "task": {"type": "worker", "index": 1}})";

// ---- sources and precedence ------------------------------------------------------------------------------

TEST(ClusterResolver, SingleProcessWhenNothingIsSet) {
  auto resolver = ClusterResolver::from_environment(Env{{"HOME", "/root"}, {"PATH", "/usr/bin"}});
  EXPECT_EQ(resolver.source(), ClusterSource::kSingleProcess);
  EXPECT_EQ(resolver.rank(), 0);
  EXPECT_EQ(resolver.world_size(), 1);
  EXPECT_EQ(resolver.local_rank(), 0);
  EXPECT_EQ(resolver.local_world_size(), 1);
  EXPECT_EQ(resolver.master(), "127.0.0.1:29500");
  EXPECT_EQ(resolver.task_type(), "worker");
  EXPECT_TRUE(resolver.is_chief());
  EXPECT_TRUE(resolver.cluster_spec().empty());
  EXPECT_EQ(ClusterResolver().master(), "127.0.0.1:29500");
}

TEST(ClusterResolver, ExplicitConfigWinsOverEveryVariable) {
  Env env = tf_config(kChiefAndTwoWorkers);
  env.merge(Env{{"RANK", "1"},
                {"WORLD_SIZE", "2"},
                {"OMPI_COMM_WORLD_RANK", "1"},
                {"OMPI_COMM_WORLD_SIZE", "2"},
                {"SLURM_PROCID", "1"},
                {"SLURM_NTASKS", "2"}});
  ClusterConfig config{.rank = 2,
                       .world_size = 3,
                       .local_rank = 0,
                       .local_world_size = 1,
                       .master_address = "10.1.2.3",
                       .master_port = 4000};
  auto resolver = ClusterResolver::from_environment(env, config);
  EXPECT_EQ(resolver.source(), ClusterSource::kExplicit);
  EXPECT_EQ(resolver.rank(), 2);
  EXPECT_EQ(resolver.world_size(), 3);
  EXPECT_EQ(resolver.master(), "10.1.2.3:4000");
  EXPECT_FALSE(resolver.is_chief());
}

TEST(ClusterResolver, ExplicitConfigIsValidated) {
  auto message = [](const ClusterConfig& config) {
    try {
      ClusterResolver resolver(config);
    } catch (const ValueError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(
      message({.rank = 2, .world_size = 2}).find("ClusterConfig.rank=2 must be in [0, ClusterConfig.world_size=2)"),
      std::string::npos);
  EXPECT_NE(message({.rank = -1, .world_size = 2}).find("ClusterConfig.rank=-1"), std::string::npos);
  EXPECT_NE(message({.master_port = 0}).find("ClusterConfig.master_port=0 is not a port"), std::string::npos);
  EXPECT_NE(message({.master_port = 65536}).find("65536"), std::string::npos);
  EXPECT_EQ(message({.rank = 1, .world_size = 2, .master_port = 65535}), "no error");
}

TEST(ClusterResolver, TfConfigBeatsRankBeatsOpenMpiBeatsSlurm) {
  Env slurm{{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"}, {"SLURM_JOB_NODELIST", "n1"}};
  Env mpi{{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "4"}};
  Env torchrun{{"RANK", "1"}, {"WORLD_SIZE", "4"}};
  Env env = slurm;
  EXPECT_EQ(ClusterResolver::from_environment(env).source(), ClusterSource::kSlurm);
  env.insert(mpi.begin(), mpi.end());
  EXPECT_EQ(ClusterResolver::from_environment(env).source(), ClusterSource::kOpenMpi);
  EXPECT_EQ(ClusterResolver::from_environment(env).rank(), 2);
  env.insert(torchrun.begin(), torchrun.end());
  EXPECT_EQ(ClusterResolver::from_environment(env).source(), ClusterSource::kTorchrun);
  EXPECT_EQ(ClusterResolver::from_environment(env).rank(), 1);
  env["TF_CONFIG"] = kChiefAndTwoWorkers;
  EXPECT_EQ(ClusterResolver::from_environment(env).source(), ClusterSource::kTfConfig);
  EXPECT_EQ(ClusterResolver::from_environment(env).rank(), 2);
}

TEST(ClusterResolver, EmptyVariablesCountAsUnset) {
  auto resolver = ClusterResolver::from_environment(
      Env{{"TF_CONFIG", ""}, {"RANK", ""}, {"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}});
  EXPECT_EQ(resolver.source(), ClusterSource::kOpenMpi);
}

TEST(ClusterResolver, SourceNames) {
  EXPECT_STREQ(to_string(ClusterSource::kExplicit), "explicit");
  EXPECT_STREQ(to_string(ClusterSource::kTfConfig), "TF_CONFIG");
  EXPECT_STREQ(to_string(ClusterSource::kTorchrun), "torchrun");
  EXPECT_STREQ(to_string(ClusterSource::kOpenMpi), "Open MPI");
  EXPECT_STREQ(to_string(ClusterSource::kSlurm), "Slurm");
  EXPECT_STREQ(to_string(ClusterSource::kSingleProcess), "single process");
}

// ---- TF_CONFIG ------------------------------------------------------------------------------------------

TEST(ClusterResolverTfConfig, ChiefIsRankZeroAndWorkersFollow) {
  auto resolver = ClusterResolver::from_environment(tf_config(kChiefAndTwoWorkers));
  EXPECT_EQ(resolver.source(), ClusterSource::kTfConfig);
  EXPECT_EQ(resolver.rank(), 2);
  EXPECT_EQ(resolver.world_size(), 3);
  EXPECT_EQ(resolver.master_address(), "c0");
  EXPECT_EQ(resolver.master_port(), 2222);
  EXPECT_EQ(resolver.master(), "c0:2222");
  EXPECT_EQ(resolver.task_type(), "worker");
  EXPECT_EQ(resolver.task_id(), 1);
  EXPECT_FALSE(resolver.is_chief());
  const auto& spec = resolver.cluster_spec();
  ASSERT_EQ(spec.size(), 2u);
  EXPECT_EQ(spec.at("chief"), std::vector<std::string>{"c0:2222"});
  EXPECT_EQ(spec.at("worker"), (std::vector<std::string>{"w0:2223", "w1:2224"}));
}

TEST(ClusterResolverTfConfig, ChiefTask) {
  auto resolver = ClusterResolver::from_environment(tf_config(
      R"({"cluster": {"chief": ["c0:2222"], "worker": ["w0:2223"]}, "task": {"type": "chief", "index": 0}})"));
  EXPECT_EQ(resolver.rank(), 0);
  EXPECT_TRUE(resolver.is_chief());
  EXPECT_EQ(resolver.task_type(), "chief");
}

TEST(ClusterResolverTfConfig, WithoutChiefWorkerZeroIsRankZero) {
  auto resolver = ClusterResolver::from_environment(
      tf_config(R"({"cluster": {"worker": ["w0:3000", "w1:3001"]}, "task": {"type": "worker", "index": 0}})"));
  EXPECT_EQ(resolver.rank(), 0);
  EXPECT_EQ(resolver.world_size(), 2);
  EXPECT_EQ(resolver.master(), "w0:3000");
  EXPECT_TRUE(resolver.is_chief());
}

TEST(ClusterResolverTfConfig, LocalRanksCountTasksOnTheSameHost) {
  // Ranks: chief a (0), workers b (1), a (2), a (3), b (4).
  const std::string cluster = R"("cluster": {"chief": ["a:1"], "worker": ["b:2", "a:3", "a:4", "b:5"]})";
  auto worker2 =
      ClusterResolver::from_environment(tf_config("{" + cluster + R"(, "task": {"type": "worker", "index": 2}})"));
  EXPECT_EQ(worker2.rank(), 3);
  EXPECT_EQ(worker2.local_rank(), 2);
  EXPECT_EQ(worker2.local_world_size(), 3);
  auto worker3 =
      ClusterResolver::from_environment(tf_config("{" + cluster + R"(, "task": {"type": "worker", "index": 3}})"));
  EXPECT_EQ(worker3.local_rank(), 1);
  EXPECT_EQ(worker3.local_world_size(), 2);
}

TEST(ClusterResolverTfConfig, Ipv6AddressesInBrackets) {
  auto resolver = ClusterResolver::from_environment(
      tf_config(R"({"cluster": {"worker": ["[::1]:2222", "[::1]:2223"]}, "task": {"type": "worker", "index": 1}})"));
  EXPECT_EQ(resolver.master_address(), "::1");
  EXPECT_EQ(resolver.master_port(), 2222);
  EXPECT_EQ(resolver.master(), "[::1]:2222");
  EXPECT_EQ(resolver.local_world_size(), 2);
  expect_value_error(tf_config(R"({"cluster": {"worker": ["[::1]"]}, "task": {"type": "worker", "index": 0}})"),
                     {"TF_CONFIG", "worker[0]", "[::1]", "no port"});
}

TEST(ClusterResolverTfConfig, EvaluatorTakesNoRank) {
  auto resolver = ClusterResolver::from_environment(tf_config(
      R"({"cluster": {"chief": ["c:1"], "worker": ["w:2"], "evaluator": ["e:3"]}, "task": {"type": "evaluator", "index": 0}})"));
  EXPECT_EQ(resolver.rank(), -1);
  EXPECT_EQ(resolver.world_size(), 2);
  EXPECT_FALSE(resolver.is_chief());
  EXPECT_EQ(resolver.task_type(), "evaluator");
  EXPECT_EQ(resolver.master(), "c:1");
  // It needs no address, so it may be left out of "cluster".
  auto unlisted = ClusterResolver::from_environment(
      tf_config(R"({"cluster": {"worker": ["w:2"]}, "task": {"type": "evaluator", "index": 0}})"));
  EXPECT_EQ(unlisted.rank(), -1);
  EXPECT_EQ(unlisted.world_size(), 1);
}

TEST(ClusterResolverTfConfig, TaskIndexForms) {
  // A string index, as TensorFlow's int() accepts; no index in a one-task job means 0.
  auto string_index = ClusterResolver::from_environment(
      tf_config(R"({"cluster": {"worker": ["w0:1", "w1:1"]}, "task": {"type": "worker", "index": "1"}})"));
  EXPECT_EQ(string_index.rank(), 1);
  auto no_index = ClusterResolver::from_environment(
      tf_config(R"({"cluster": {"chief": ["c:1"], "worker": ["w0:1"]}, "task": {"type": "worker"}})"));
  EXPECT_EQ(no_index.rank(), 1);
  expect_value_error(tf_config(R"({"cluster": {"worker": ["w0:1", "w1:1"]}, "task": {"type": "worker"}})"),
                     {"TF_CONFIG", "no \"index\"", "\"worker\" has 2 tasks"});
  expect_value_error(tf_config(R"({"cluster": {"worker": ["w0:1"]}, "task": {"type": "worker", "index": 0.5}})"),
                     {"TF_CONFIG", "\"index\" must be an integer", "0.5"});
}

TEST(ClusterResolverTfConfig, RejectsParameterServers) {
  expect_value_error(
      tf_config(R"({"cluster": {"worker": ["w:1"], "ps": ["p:2"]}, "task": {"type": "worker", "index": 0}})"),
      {"TF_CONFIG", "\"ps\"", "parameter-server training is not supported", "MultiWorkerMirroredStrategy"});
  expect_value_error(tf_config(R"({"cluster": {"worker": ["w:1"]}, "task": {"type": "ps", "index": 0}})"),
                     {"TF_CONFIG", "parameter-server training is not supported"});
  // An empty ps job is no parameter server.
  auto resolver = ClusterResolver::from_environment(
      tf_config(R"({"cluster": {"worker": ["w:1"], "ps": []}, "task": {"type": "worker", "index": 0}})"));
  EXPECT_EQ(resolver.world_size(), 1);
}

TEST(ClusterResolverTfConfig, MalformedJsonNamesTheByte) {
  // The parser stops at byte 13, the 'x' where a value should start.
  expect_value_error(tf_config(R"({"cluster": x})"), {"TF_CONFIG is not valid JSON", "at byte 13"});
  expect_value_error(tf_config("[1, 2]"), {"TF_CONFIG must be a JSON object", "array"});
}

TEST(ClusterResolverTfConfig, MissingTask) {
  expect_value_error(tf_config(R"({"cluster": {"worker": ["w:1"]}})"), {"TF_CONFIG", "no \"task\""});
}

TEST(ClusterResolverTfConfig, MissingOrUnknownTaskType) {
  expect_value_error(tf_config(R"({"cluster": {"worker": ["w:1"]}, "task": {"index": 0}})"),
                     {"TF_CONFIG", "no \"type\""});
  expect_value_error(tf_config(R"({"cluster": {"worker": ["w:1"]}, "task": {"type": "master", "index": 0}})"),
                     {"TF_CONFIG", "unknown task type \"master\"", "\"chief\", \"worker\" or \"evaluator\""});
}

TEST(ClusterResolverTfConfig, IndexOutOfRangeSaysTheJobSize) {
  expect_value_error(tf_config(R"({"cluster": {"worker": ["w0:1", "w1:1"]}, "task": {"type": "worker", "index": 2}})"),
                     {"TF_CONFIG", "task index 2 is out of range", "job \"worker\" of 2 tasks"});
  expect_value_error(tf_config(R"({"cluster": {"worker": ["w0:1", "w1:1"]}, "task": {"type": "worker", "index": -1}})"),
                     {"TF_CONFIG", "task index -1"});
  expect_value_error(tf_config(R"({"cluster": {"worker": ["w0:1"]}, "task": {"type": "chief", "index": 0}})"),
                     {"TF_CONFIG", "job \"chief\" of 0 tasks"});
}

TEST(ClusterResolverTfConfig, TwoChiefs) {
  expect_value_error(
      tf_config(
          R"({"cluster": {"chief": ["c0:1", "c1:1"], "worker": ["w:1"]}, "task": {"type": "worker", "index": 0}})"),
      {"TF_CONFIG", "2 chiefs", "at most one"});
}

TEST(ClusterResolverTfConfig, AddressWithoutPort) {
  expect_value_error(tf_config(R"({"cluster": {"worker": ["w0:1", "w1"]}, "task": {"type": "worker", "index": 0}})"),
                     {"TF_CONFIG", "worker[1]", "\"w1\"", "no port"});
  expect_value_error(tf_config(R"({"cluster": {"chief": ["c:"]}, "task": {"type": "chief", "index": 0}})"),
                     {"TF_CONFIG", "chief[0]", "no port"});
  expect_value_error(tf_config(R"({"cluster": {"worker": ["w:99999"]}, "task": {"type": "worker", "index": 0}})"),
                     {"TF_CONFIG", "worker[0]", "outside 1..65535"});
}

TEST(ClusterResolverTfConfig, NoChiefAndNoWorker) {
  expect_value_error(tf_config(R"({"cluster": {"evaluator": ["e:1"]}, "task": {"type": "evaluator", "index": 0}})"),
                     {"TF_CONFIG", "no \"chief\" and no \"worker\""});
  expect_value_error(tf_config(R"({"task": {"type": "worker", "index": 0}})"), {"TF_CONFIG", "no \"chief\""});
}

TEST(ClusterResolverTfConfig, ClusterJobMustBeAList) {
  expect_value_error(tf_config(R"({"cluster": {"worker": "w:1"}, "task": {"type": "worker", "index": 0}})"),
                     {"TF_CONFIG", "job \"worker\"", "list of \"host:port\" strings"});
}

// ---- torchrun ---------------------------------------------------------------------------------------------

TEST(ClusterResolverTorchrun, ReadsEveryVariable) {
  auto resolver = ClusterResolver::from_environment(Env{{"RANK", "3"},
                                                        {"WORLD_SIZE", "4"},
                                                        {"LOCAL_RANK", "1"},
                                                        {"LOCAL_WORLD_SIZE", "2"},
                                                        {"MASTER_ADDR", "10.0.0.7"},
                                                        {"MASTER_PORT", "1234"}});
  EXPECT_EQ(resolver.source(), ClusterSource::kTorchrun);
  EXPECT_EQ(resolver.rank(), 3);
  EXPECT_EQ(resolver.world_size(), 4);
  EXPECT_EQ(resolver.local_rank(), 1);
  EXPECT_EQ(resolver.local_world_size(), 2);
  EXPECT_EQ(resolver.master(), "10.0.0.7:1234");
  EXPECT_EQ(resolver.task_type(), "worker");
  EXPECT_EQ(resolver.task_id(), 3);
  EXPECT_TRUE(resolver.cluster_spec().empty());
}

TEST(ClusterResolverTorchrun, Defaults) {
  auto resolver = ClusterResolver::from_environment(Env{{"RANK", "0"}, {"WORLD_SIZE", "2"}});
  EXPECT_EQ(resolver.master(), "127.0.0.1:29500");
  EXPECT_EQ(resolver.local_rank(), 0);
  EXPECT_EQ(resolver.local_world_size(), 1);
  EXPECT_TRUE(resolver.is_chief());
}

TEST(ClusterResolverTorchrun, IntegersAreChecked) {
  expect_value_error(Env{{"RANK", "abc"}, {"WORLD_SIZE", "2"}}, {"RANK=\"abc\"", "not an integer"});
  expect_value_error(Env{{"RANK", "1.5"}, {"WORLD_SIZE", "2"}}, {"RANK=\"1.5\"", "not an integer"});
  expect_value_error(Env{{"RANK", "0"}, {"WORLD_SIZE", "-2"}}, {"WORLD_SIZE=-2", "negative"});
  expect_value_error(Env{{"RANK", "0"}, {"WORLD_SIZE", "99999999999"}}, {"WORLD_SIZE=\"99999999999\""});
  expect_value_error(Env{{"RANK", "0"}, {"WORLD_SIZE", "0"}}, {"WORLD_SIZE=0", "at least 1"});
}

TEST(ClusterResolverTorchrun, RankMustBeBelowWorldSize) {
  expect_value_error(Env{{"RANK", "2"}, {"WORLD_SIZE", "2"}}, {"RANK=2 must be in [0, WORLD_SIZE=2)"});
  expect_value_error(Env{{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "1"}},
                     {"LOCAL_RANK=1", "LOCAL_WORLD_SIZE (not set, so 1)"});
  expect_value_error(Env{{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "0"}, {"LOCAL_WORLD_SIZE", "3"}},
                     {"LOCAL_WORLD_SIZE=3 must not exceed WORLD_SIZE=2"});
}

TEST(ClusterResolverTorchrun, RankAndWorldSizeComeTogether) {
  expect_value_error(Env{{"RANK", "1"}}, {"RANK=1 is set but WORLD_SIZE is not"});
  expect_value_error(Env{{"WORLD_SIZE", "2"}}, {"WORLD_SIZE=2 is set but RANK is not"});
}

TEST(ClusterResolverTorchrun, PortIsChecked) {
  expect_value_error(Env{{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"MASTER_PORT", "0"}},
                     {"MASTER_PORT=0 is not a port", "1..65535"});
  expect_value_error(Env{{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"MASTER_PORT", "65536"}}, {"MASTER_PORT=65536"});
  expect_value_error(Env{{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"MASTER_PORT", "http"}}, {"MASTER_PORT=\"http\""});
}

// ---- Open MPI ---------------------------------------------------------------------------------------------

TEST(ClusterResolverOpenMpi, ReadsTheCommWorldVariables) {
  auto resolver = ClusterResolver::from_environment(Env{{"OMPI_COMM_WORLD_RANK", "2"},
                                                        {"OMPI_COMM_WORLD_SIZE", "4"},
                                                        {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                                                        {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}});
  EXPECT_EQ(resolver.source(), ClusterSource::kOpenMpi);
  EXPECT_EQ(resolver.rank(), 2);
  EXPECT_EQ(resolver.world_size(), 4);
  EXPECT_EQ(resolver.local_rank(), 0);
  EXPECT_EQ(resolver.local_world_size(), 2);
  EXPECT_EQ(resolver.master(), "127.0.0.1:29500");
  auto with_master = ClusterResolver::from_environment(Env{
      {"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"MASTER_ADDR", "head"}, {"MASTER_PORT", "6000"}});
  EXPECT_EQ(with_master.master(), "head:6000");
  expect_value_error(Env{{"OMPI_COMM_WORLD_RANK", "4"}, {"OMPI_COMM_WORLD_SIZE", "4"}},
                     {"OMPI_COMM_WORLD_RANK=4 must be in [0, OMPI_COMM_WORLD_SIZE=4)"});
}

// ---- Slurm -----------------------------------------------------------------------------------------------

Env slurm_env(Env extra = {}) {
  Env env{{"SLURM_PROCID", "3"},     {"SLURM_NTASKS", "4"},
          {"SLURM_LOCALID", "1"},    {"SLURM_NTASKS_PER_NODE", "2(x2)"},
          {"SLURM_NODEID", "1"},     {"SLURM_JOB_NODELIST", "node[01-03,07],gpu5"},
          {"SLURM_JOB_ID", "123456"}};
  for (auto& [name, value] : extra) env[name] = value;
  return env;
}

TEST(ClusterResolverSlurm, ReadsTheTaskAndTheFirstNode) {
  auto resolver = ClusterResolver::from_environment(slurm_env());
  EXPECT_EQ(resolver.source(), ClusterSource::kSlurm);
  EXPECT_EQ(resolver.rank(), 3);
  EXPECT_EQ(resolver.world_size(), 4);
  EXPECT_EQ(resolver.local_rank(), 1);
  EXPECT_EQ(resolver.local_world_size(), 2);
  EXPECT_EQ(resolver.master_address(), "node01");
  EXPECT_EQ(resolver.master_port(), 20000 + 123456 % 10000);
}

TEST(ClusterResolverSlurm, MasterVariablesWin) {
  auto resolver = ClusterResolver::from_environment(slurm_env({{"MASTER_ADDR", "10.0.0.2"}, {"MASTER_PORT", "7777"}}));
  EXPECT_EQ(resolver.master(), "10.0.0.2:7777");
}

TEST(ClusterResolverSlurm, HostlistExpansion) {
  const std::pair<const char*, const char*> cases[] = {{"node[01-03,07],gpu5", "node01"},
                                                       {"gpu5,node[1-2]", "gpu5"},
                                                       {"node7", "node7"},
                                                       {"rack[2-3]-n[008-009]", "rack2-n008"},
                                                       {"n[5]", "n5"},
                                                       {"node[10,3-4]", "node10"},
                                                       {"a-b.example.com,c", "a-b.example.com"}};
  for (const auto& [list, first] : cases) {
    Env env = slurm_env();
    env.erase("SLURM_JOB_NODELIST");
    env["SLURM_NODELIST"] = list;  // the older name is read too
    EXPECT_EQ(ClusterResolver::from_environment(env).master_address(), first) << list;
  }
}

TEST(ClusterResolverSlurm, MalformedHostlist) {
  expect_value_error(slurm_env({{"SLURM_JOB_NODELIST", "node[01-03"}}),
                     {"SLURM_JOB_NODELIST=\"node[01-03\"", "not a Slurm hostlist", "without ']'"});
  expect_value_error(slurm_env({{"SLURM_JOB_NODELIST", "node[a-b]"}}), {"SLURM_JOB_NODELIST", "not a Slurm hostlist"});
  expect_value_error(slurm_env({{"SLURM_JOB_NODELIST", "node01]"}}), {"SLURM_JOB_NODELIST", "without '['"});
}

TEST(ClusterResolverSlurm, TasksPerNodeEntryForThisNode) {
  auto local_size = [](const std::string& per_node, const char* node_id) {
    Env env = slurm_env({{"SLURM_NTASKS", "7"}, {"SLURM_LOCALID", "0"}, {"SLURM_NTASKS_PER_NODE", per_node}});
    if (node_id != nullptr)
      env["SLURM_NODEID"] = node_id;
    else
      env.erase("SLURM_NODEID");
    return ClusterResolver::from_environment(env).local_world_size();
  };
  EXPECT_EQ(local_size("3(x2),1", "0"), 3);
  EXPECT_EQ(local_size("3(x2),1", "2"), 1);
  EXPECT_EQ(local_size("2,1", "1"), 1);
  EXPECT_EQ(local_size("2,1", nullptr), 2);  // this node unknown: the first entry
  EXPECT_EQ(local_size("4", "9"), 4);        // beyond the list: the first entry
  expect_value_error(slurm_env({{"SLURM_NTASKS_PER_NODE", "2(x"}}),
                     {"SLURM_NTASKS_PER_NODE=\"2(x\"", "not a Slurm task count list"});
  expect_value_error(slurm_env({{"SLURM_LOCALID", "2"}}), {"SLURM_LOCALID=2", "SLURM_NTASKS_PER_NODE=\"2(x2)\""});
}

// Issue 20: a legal 128 KiB list describing 1.19 billion nodes used to be expanded into one entry per node.
TEST(ClusterResolverSlurm, TasksPerNodeListIsNotExpanded) {
  std::string per_node;
  for (int i = 0; i < 11915; ++i) per_node += "1(x100000),";
  per_node += "3(x2)";
  ASSERT_GT(per_node.size(), 128000u);
  Env env = slurm_env({{"SLURM_NTASKS", "7"}, {"SLURM_LOCALID", "0"}, {"SLURM_NTASKS_PER_NODE", per_node},
                       {"SLURM_NODEID", "1191500001"}});
  EXPECT_EQ(ClusterResolver::from_environment(env).local_world_size(), 3);
  env["SLURM_NODEID"] = "1191499999";
  EXPECT_EQ(ClusterResolver::from_environment(env).local_world_size(), 1);
  // A bad list is quoted only in part: the message stays readable.
  env["SLURM_NTASKS_PER_NODE"] = per_node + ",x";
  try {
    ClusterResolver::from_environment(env);
    ADD_FAILURE() << "no error";
  } catch (const ValueError& e) {
    EXPECT_LT(std::string(e.what()).size(), 600u) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a Slurm task count list"), std::string::npos) << e.what();
  }
}

TEST(ClusterResolver, WorldSizeIsBoundedBeforeAnythingIsBuilt) {
  expect_value_error({{"RANK", "0"}, {"WORLD_SIZE", "2147483647"}},
                     {"WORLD_SIZE=2147483647", "exceeds the largest supported job, 65536 processes"});
  expect_value_error({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "65537"}}, {"65537", "65536"});
  EXPECT_EQ(ClusterResolver::from_environment({{"RANK", "65535"}, {"WORLD_SIZE", "65536"}}).world_size(), 65536);
}

// A value nested 200,000 deep used to crash the resolver while it formatted the error (recursive dump).
TEST(ClusterResolverTfConfig, DeeplyNestedValuesGiveAnErrorNotACrash) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  expect_value_error(tf_config(R"({"cluster": {"worker": ["w0:1"]}, "task": {"type": "worker", "index": )" + deep + "}}"),
                     {"\"index\" must be an integer", "an array of 1 element(s)"});
  expect_value_error(tf_config(R"({"cluster": {"worker": [)" + deep + R"(]}, "task": {"type": "worker", "index": 0}})"),
                     {"\"worker\" must be a list of \"host:port\" strings", "an array of 1 element(s)"});
}

TEST(ClusterResolverTfConfig, HugeIndexIsShownAsWritten) {
  expect_value_error(
      tf_config(R"({"cluster": {"worker": ["w0:1"]}, "task": {"type": "worker", "index": 18446744073709551615}})"),
      {"\"index\" must be an integer", "18446744073709551615"});
}

TEST(ClusterResolverSlurm, ChecksItsVariables) {
  expect_value_error(slurm_env({{"SLURM_PROCID", "4"}}), {"SLURM_PROCID=4 must be in [0, SLURM_NTASKS=4)"});
  expect_value_error(slurm_env({{"SLURM_PROCID", "x"}}), {"SLURM_PROCID=\"x\"", "not an integer"});
  expect_value_error(slurm_env({{"SLURM_JOB_ID", "-5"}}), {"SLURM_JOB_ID=-5", "negative"});
  Env no_tasks = slurm_env();
  no_tasks.erase("SLURM_NTASKS");
  expect_value_error(no_tasks, {"SLURM_PROCID=3 is set but SLURM_NTASKS is not"});
  Env no_nodes = slurm_env();
  no_nodes.erase("SLURM_JOB_NODELIST");
  expect_value_error(no_nodes, {"MASTER_ADDR", "SLURM_JOB_NODELIST", "rank 0"});
}

}  // namespace
}  // namespace keel::distribute
