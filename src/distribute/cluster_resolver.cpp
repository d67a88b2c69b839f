// The cluster resolver: who this process is, read in order from an explicit ClusterConfig, TF_CONFIG
// (TensorFlow's TFConfigClusterResolver rules), torchrun's variables, Open MPI's and Slurm's
// (keras-reference §11.2). Every malformed value is a ValueError naming the variable and its value.
#include "keel/distribute/cluster_resolver.h"

#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

#include "keel/core/error.h"

extern char** environ;

namespace keel::distribute {

namespace {

using Env = std::map<std::string, std::string>;
using Json = nlohmann::json;

constexpr const char* kDefaultMasterAddress = "127.0.0.1";
constexpr int kDefaultMasterPort = 29500;

/// What a source resolved to; copied into the ClusterResolver at the end.
struct Resolved {
  ClusterSource source = ClusterSource::kSingleProcess;
  int rank = 0, world_size = 1, local_rank = 0, local_world_size = 1;
  std::string master_address = kDefaultMasterAddress;
  int master_port = kDefaultMasterPort;
  std::string task_type = "worker";
  int task_id = 0;
  std::map<std::string, std::vector<std::string>> cluster_spec;
};

/// A variable as the user gave it, for error messages: "RANK=3", "LOCAL_WORLD_SIZE (not set, so 1)", or for a
/// value read out of a list, "SLURM_NTASKS_PER_NODE=\"2(x3)\" (2 on this node)".
struct Var {
  Var(std::string name_, int value_, bool set_ = true, std::string text_ = {})
      : name(std::move(name_)), value(value_), set(set_), text(std::move(text_)) {}
  std::string name;
  int value;
  bool set;
  std::string text;  // the raw value when it is not simply `value`
};

std::string show(const Var& var) {
  if (!var.set) return detail::cat(var.name, " (not set, so ", var.value, ")");
  if (!var.text.empty()) {
    const bool cut = var.text.size() > 200;  // a list can be 128 KiB long
    return detail::cat(var.name, "=\"", var.text.substr(0, 200), cut ? "..." : "", "\" (", var.value, " on this node)");
  }
  return detail::cat(var.name, "=", var.value);
}

// An empty value counts as unset, as `export RANK=` means.
std::optional<std::string> lookup(const Env& env, const std::string& name) {
  auto it = env.find(name);
  if (it == env.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

std::optional<std::string> lookup_first(const Env& env, std::initializer_list<const char*> names, std::string* found) {
  for (const char* name : names) {
    if (auto value = lookup(env, name)) {
      *found = name;
      return value;
    }
  }
  return std::nullopt;
}

std::optional<int64_t> to_integer(const std::string& text) {
  int64_t result = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, result);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return result;
}

/// `name`=`value` as a count or index: an integer >= 0 that fits an int.
int parse_count(const std::string& name, const std::string& value) {
  auto number = to_integer(value);
  KEEL_CHECK(number.has_value() && *number <= INT32_MAX && *number >= INT32_MIN, ValueError, name, "=\"", value,
             "\" is not an integer");
  KEEL_CHECK(*number >= 0, ValueError, name, "=", value, " is negative; expected an integer >= 0");
  return static_cast<int>(*number);
}

int parse_port(const std::string& name, const std::string& value) {
  auto number = to_integer(value);
  KEEL_CHECK(number.has_value(), ValueError, name, "=\"", value, "\" is not a port number (expected 1..65535)");
  KEEL_CHECK(*number >= 1 && *number <= 65535, ValueError, name, "=", value, " is not a port (expected 1..65535)");
  return static_cast<int>(*number);
}

/// The same checks for every source: 0 <= rank < world_size, 0 <= local_rank < local_world_size <= world_size.
void check_placement(const Var& rank, const Var& world_size, const Var& local_rank, const Var& local_world_size) {
  KEEL_CHECK(world_size.value >= 1, ValueError, show(world_size), " must be at least 1");
  KEEL_CHECK(world_size.value <= kMaxWorldSize, ValueError, show(world_size), " exceeds the largest supported job, ",
             kMaxWorldSize, " processes");
  KEEL_CHECK(rank.value >= 0 && rank.value < world_size.value, ValueError, show(rank), " must be in [0, ",
             show(world_size), ")");
  KEEL_CHECK(local_world_size.value >= 1, ValueError, show(local_world_size), " must be at least 1");
  KEEL_CHECK(local_rank.value >= 0 && local_rank.value < local_world_size.value, ValueError, show(local_rank),
             " must be in [0, ", show(local_world_size), ")");
  KEEL_CHECK(local_world_size.value <= world_size.value, ValueError, show(local_world_size), " must not exceed ",
             show(world_size));
}

void check_port(const std::string& name, int port) {
  KEEL_CHECK(port >= 1 && port <= 65535, ValueError, name, "=", port, " is not a port (expected 1..65535)");
}

/// MASTER_ADDR / MASTER_PORT with the given defaults.
void read_master(const Env& env, Resolved& out, const std::string& default_address, int default_port) {
  out.master_address = lookup(env, "MASTER_ADDR").value_or(default_address);
  auto port = lookup(env, "MASTER_PORT");
  out.master_port = port ? parse_port("MASTER_PORT", *port) : default_port;
}

/// The rank variables of torchrun or Open MPI: rank and size required (once either is set), local ones optional.
Resolved resolve_ranks(const Env& env, ClusterSource source, const char* rank_name, const char* size_name,
                       const char* local_rank_name, const char* local_size_name) {
  auto rank_text = lookup(env, rank_name), size_text = lookup(env, size_name);
  KEEL_CHECK(rank_text.has_value(), ValueError, size_name, "=", *size_text, " is set but ", rank_name, " is not (",
             to_string(source), " variables)");
  KEEL_CHECK(size_text.has_value(), ValueError, rank_name, "=", *rank_text, " is set but ", size_name, " is not (",
             to_string(source), " variables)");
  Var rank{rank_name, parse_count(rank_name, *rank_text)};
  Var size{size_name, parse_count(size_name, *size_text)};
  auto local_rank_text = lookup(env, local_rank_name), local_size_text = lookup(env, local_size_name);
  Var local_rank{local_rank_name, local_rank_text ? parse_count(local_rank_name, *local_rank_text) : 0,
                 local_rank_text.has_value()};
  Var local_size{local_size_name, local_size_text ? parse_count(local_size_name, *local_size_text) : 1,
                 local_size_text.has_value()};
  check_placement(rank, size, local_rank, local_size);

  Resolved out;
  out.source = source;
  out.rank = out.task_id = rank.value;
  out.world_size = size.value;
  out.local_rank = local_rank.value;
  out.local_world_size = local_size.value;
  read_master(env, out, kDefaultMasterAddress, kDefaultMasterPort);
  return out;
}

// ---- Slurm ----------------------------------------------------------------------------------------------

/// One entry of Slurm's tasks-per-node list: "2(x3)" is 2 tasks on each of 3 nodes.
struct TasksPerNode {
  int tasks;
  int64_t nodes;
};

/// Slurm's tasks-per-node list, "2(x3),1" -> {{2, 3}, {1, 1}}, kept run-length encoded: a legal 128 KiB value
/// can describe billions of nodes, which must not become billions of entries.
std::vector<TasksPerNode> parse_tasks_per_node(const std::string& name, const std::string& value) {
  std::vector<TasksPerNode> runs;
  size_t pos = 0;
  auto fail = [&] {
    return ValueError(detail::cat(name, "=\"", value.substr(0, 200), value.size() > 200 ? "...\"" : "\"",
                                  " is not a Slurm task count list (expected e.g. \"2\", \"2(x3)\" or \"2(x3),1\")"));
  };
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    std::string entry = value.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    int64_t repeat = 1;
    size_t paren = entry.find("(x");
    if (paren != std::string::npos) {
      if (entry.back() != ')') throw fail();
      auto times = to_integer(entry.substr(paren + 2, entry.size() - paren - 3));
      if (!times || *times < 1) throw fail();
      repeat = *times;
      entry.resize(paren);
    }
    auto count = to_integer(entry);
    if (!count || *count < 1 || *count > INT32_MAX) throw fail();
    runs.push_back({static_cast<int>(*count), repeat});
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return runs;
}

/// The task count of node `node` (0-based), or of the first node when the list describes fewer nodes.
int tasks_on_node(const std::vector<TasksPerNode>& runs, int64_t node) {
  for (const TasksPerNode& run : runs) {
    if (node < run.nodes) return run.tasks;
    node -= run.nodes;
  }
  return runs.front().tasks;
}

/// The first host of a Slurm hostlist: "node[01-03,07],gpu5" -> "node01", "rack[2-3]-n[08-09]" -> "rack2-n08".
std::string first_slurm_host(const std::string& name, const std::string& list) {
  auto fail = [&](const char* why) {
    return ValueError(detail::cat(name, "=\"", list, "\" is not a Slurm hostlist: ", why));
  };
  std::string host;
  for (size_t pos = 0; pos < list.size() && list[pos] != ','; ++pos) {
    if (list[pos] == ']') throw fail("']' without '['");
    if (list[pos] != '[') {
      host += list[pos];
      continue;
    }
    size_t close = list.find(']', pos);
    if (close == std::string::npos) throw fail("'[' without ']'");
    std::string ranges = list.substr(pos + 1, close - pos - 1);
    if (ranges.empty() || ranges.find_first_not_of("0123456789,-") != std::string::npos) {
      throw fail("a bracket must hold numbers and ranges such as [01-03,07]");
    }
    // The first number of the first range, zero padding kept.
    std::string first = ranges.substr(0, ranges.find_first_of(",-"));
    if (first.empty()) throw fail("a range must start with a number");
    host += first;
    pos = close;
  }
  if (host.empty()) throw fail("the first host name is empty");
  return host;
}

Resolved resolve_slurm(const Env& env) {
  std::string size_name = "SLURM_NTASKS";
  auto size_text = lookup_first(env, {"SLURM_NTASKS", "SLURM_NPROCS"}, &size_name);
  KEEL_CHECK(size_text.has_value(), ValueError, "SLURM_PROCID=", *lookup(env, "SLURM_PROCID"),
             " is set but SLURM_NTASKS is not (Slurm variables)");
  Var rank{"SLURM_PROCID", parse_count("SLURM_PROCID", *lookup(env, "SLURM_PROCID"))};
  Var size{size_name, parse_count(size_name, *size_text)};
  auto local_rank_text = lookup(env, "SLURM_LOCALID");
  Var local_rank{"SLURM_LOCALID", local_rank_text ? parse_count("SLURM_LOCALID", *local_rank_text) : 0,
                 local_rank_text.has_value()};

  // Tasks on this node: the step's count when srun set it, else the job's; the entry for this node (SLURM_NODEID)
  // or, when that is unknown, the first.
  std::string per_node_name = "SLURM_NTASKS_PER_NODE";
  auto per_node_text =
      lookup_first(env, {"SLURM_STEP_TASKS_PER_NODE", "SLURM_NTASKS_PER_NODE", "SLURM_TASKS_PER_NODE"}, &per_node_name);
  Var local_size{per_node_name, 1, false};
  if (per_node_text) {
    const std::vector<TasksPerNode> runs = parse_tasks_per_node(per_node_name, *per_node_text);
    int64_t node = 0;
    if (auto node_text = lookup(env, "SLURM_NODEID")) node = parse_count("SLURM_NODEID", *node_text);
    local_size = Var{per_node_name, tasks_on_node(runs, node), true, *per_node_text};
  }
  check_placement(rank, size, local_rank, local_size);

  Resolved out;
  out.source = ClusterSource::kSlurm;
  out.rank = out.task_id = rank.value;
  out.world_size = size.value;
  out.local_rank = local_rank.value;
  out.local_world_size = local_size.value;

  if (auto address = lookup(env, "MASTER_ADDR")) {
    out.master_address = *address;
  } else {
    std::string list_name;
    auto list = lookup_first(env, {"SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST"}, &list_name);
    KEEL_CHECK(list.has_value() || out.world_size == 1, ValueError, "Slurm job with ", show(size),
               ": neither MASTER_ADDR nor SLURM_JOB_NODELIST is set, so the address of rank 0 is unknown");
    out.master_address = list ? first_slurm_host(list_name, *list) : kDefaultMasterAddress;
  }
  if (auto port = lookup(env, "MASTER_PORT")) {
    out.master_port = parse_port("MASTER_PORT", *port);
  } else if (auto job = lookup(env, "SLURM_JOB_ID")) {
    // A per-job port, so two jobs sharing a node do not collide.
    out.master_port = 20000 + parse_count("SLURM_JOB_ID", *job) % 10000;
  }
  return out;
}

// ---- TF_CONFIG ------------------------------------------------------------------------------------------

struct HostPort {
  std::string host;
  int port = 0;
};

/// "host:port", split at the last ':'; "[::1]:2222" gives host "::1".
HostPort split_address(const std::string& where, const std::string& address) {
  auto fail = [&](const char* why) {
    return ValueError(detail::cat("TF_CONFIG: ", where, " address \"", address, "\" ", why, " (expected host:port)"));
  };
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) throw fail("has no port");
  std::string host = address.substr(0, colon);
  if (!host.empty() && host.front() == '[') {
    if (host.back() != ']') throw fail("has no port");  // "[::1]" splits inside the brackets
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) throw fail("has no host");
  auto port = to_integer(address.substr(colon + 1));
  if (!port) throw fail("has a port that is not a number");
  if (*port < 1 || *port > 65535) throw fail("has a port outside 1..65535");
  return {host, static_cast<int>(*port)};
}

ValueError parameter_server_error(const std::string& detail_text) {
  return ValueError(detail::cat("TF_CONFIG: ", detail_text,
                                ": parameter-server training is not supported; use MultiWorkerMirroredStrategy "
                                "with \"chief\" and \"worker\" tasks"));
}

/// A JSON value for an error message: scalars as written (cut at 200 characters), arrays and objects by type
/// and size only. A value nested 200,000 deep would overflow the stack of a recursive dump().
std::string describe(const Json& value) {
  if (value.is_structured()) return detail::cat("an ", value.type_name(), " of ", value.size(), " element(s)");
  const std::string text = value.dump();
  return text.size() > 200 ? text.substr(0, 200) + "..." : text;
}

std::map<std::string, std::vector<std::string>> parse_cluster(const Json& config) {
  std::map<std::string, std::vector<std::string>> spec;
  if (!config.contains("cluster")) return spec;
  const Json& cluster = config["cluster"];
  KEEL_CHECK(cluster.is_object(), ValueError, "TF_CONFIG: \"cluster\" must be an object of job name -> addresses, got ",
             cluster.type_name());
  for (const auto& [job, addresses] : cluster.items()) {
    KEEL_CHECK(addresses.is_array(), ValueError, "TF_CONFIG: cluster job \"", job,
               "\" must be a list of \"host:port\" strings, got ", addresses.type_name());
    std::vector<std::string>& list = spec[job];
    for (const Json& address : addresses) {
      KEEL_CHECK(address.is_string(), ValueError, "TF_CONFIG: cluster job \"", job,
                 "\" must be a list of \"host:port\" strings, got an element ", describe(address));
      list.push_back(address.get<std::string>());
    }
  }
  return spec;
}

/// task.index: an integer (or a string holding one, as TensorFlow's int() accepts); 0 when absent from a job of
/// one task.
int parse_task_index(const Json& task, const std::string& type, size_t job_size) {
  if (!task.contains("index")) {
    KEEL_CHECK(job_size <= 1, ValueError, "TF_CONFIG: task has no \"index\" and job \"", type, "\" has ", job_size,
               " tasks");
    return 0;
  }
  const Json& index = task["index"];
  std::optional<int64_t> value;
  // An unsigned value above INT64_MAX (2^64 - 1 in the text) would read as a negative int64.
  if (index.is_number_unsigned()) {
    if (index.get<uint64_t>() <= INT32_MAX) value = index.get<int64_t>();
  } else if (index.is_number_integer()) {
    value = index.get<int64_t>();
  }
  if (index.is_string()) value = to_integer(index.get<std::string>());
  KEEL_CHECK(value.has_value() && *value >= INT32_MIN && *value <= INT32_MAX, ValueError,
             "TF_CONFIG: task \"index\" must be an integer in [0, 2^31), got ", describe(index));
  return static_cast<int>(*value);
}

Resolved resolve_tf_config(const std::string& text) {
  Json config;
  try {
    config = Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw ValueError(detail::cat("TF_CONFIG is not valid JSON: parse error at byte ", e.byte, " (", e.what(), ")"));
  }
  KEEL_CHECK(config.is_object(), ValueError, "TF_CONFIG must be a JSON object, got ", config.type_name());

  Resolved out;
  out.source = ClusterSource::kTfConfig;
  out.cluster_spec = parse_cluster(config);
  auto job = [&](const std::string& name) -> const std::vector<std::string>& {
    static const std::vector<std::string> kNone;
    auto it = out.cluster_spec.find(name);
    return it == out.cluster_spec.end() ? kNone : it->second;
  };
  const auto &chiefs = job("chief"), &workers = job("worker");
  if (!job("ps").empty()) {
    throw parameter_server_error(detail::cat("cluster has a \"ps\" job (", job("ps").size(), " task(s))"));
  }

  KEEL_CHECK(config.contains("task") && config["task"].is_object(), ValueError,
             "TF_CONFIG has no \"task\" object (expected e.g. \"task\": {\"type\": \"worker\", \"index\": 0})");
  const Json& task = config["task"];
  KEEL_CHECK(task.contains("type") && task["type"].is_string(), ValueError,
             "TF_CONFIG: task has no \"type\" string (expected \"chief\", \"worker\" or \"evaluator\")");
  out.task_type = task["type"].get<std::string>();
  if (out.task_type == "ps") throw parameter_server_error("task type is \"ps\"");
  KEEL_CHECK(out.task_type == "chief" || out.task_type == "worker" || out.task_type == "evaluator", ValueError,
             "TF_CONFIG: unknown task type \"", out.task_type, "\" (expected \"chief\", \"worker\" or \"evaluator\")");

  KEEL_CHECK(chiefs.size() <= 1, ValueError, "TF_CONFIG: cluster has ", chiefs.size(),
             " chiefs; at most one \"chief\" task is allowed");
  KEEL_CHECK(!chiefs.empty() || !workers.empty(), ValueError,
             "TF_CONFIG: cluster has no \"chief\" and no \"worker\" task; at least one is needed");

  // Ranks: the chief first, then the workers in index order.
  std::vector<HostPort> ranks;
  for (size_t i = 0; i < chiefs.size(); ++i) ranks.push_back(split_address(detail::cat("chief[", i, "]"), chiefs[i]));
  for (size_t i = 0; i < workers.size(); ++i) {
    ranks.push_back(split_address(detail::cat("worker[", i, "]"), workers[i]));
  }
  out.world_size = static_cast<int>(ranks.size());
  out.master_address = ranks[0].host;
  out.master_port = ranks[0].port;

  // An evaluator needs no address (it joins no collective), so its job may be missing from "cluster".
  const size_t job_size = job(out.task_type).size();
  out.task_id = parse_task_index(task, out.task_type, job_size);
  const bool check_range = out.task_type != "evaluator" || out.cluster_spec.count("evaluator") > 0;
  KEEL_CHECK(!check_range || (out.task_id >= 0 && static_cast<size_t>(out.task_id) < job_size), ValueError,
             "TF_CONFIG: task index ", out.task_id, " is out of range for job \"", out.task_type, "\" of ", job_size,
             " tasks");
  KEEL_CHECK(out.task_id >= 0, ValueError, "TF_CONFIG: task index ", out.task_id, " is negative");

  if (out.task_type == "evaluator") {
    out.rank = -1;
    return out;
  }
  out.rank = out.task_type == "chief" ? 0 : static_cast<int>(chiefs.size()) + out.task_id;
  // Ranks on the same host (compared as written: "localhost" and "127.0.0.1" are different hosts).
  out.local_rank = out.local_world_size = 0;
  for (int r = 0; r < out.world_size; ++r) {
    if (ranks[r].host != ranks[out.rank].host) continue;
    if (r < out.rank) ++out.local_rank;
    ++out.local_world_size;
  }
  return out;
}

Resolved resolve(const Env& env) {
  if (auto tf_config = lookup(env, "TF_CONFIG")) return resolve_tf_config(*tf_config);
  if (lookup(env, "RANK") || lookup(env, "WORLD_SIZE")) {
    return resolve_ranks(env, ClusterSource::kTorchrun, "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE");
  }
  if (lookup(env, "OMPI_COMM_WORLD_RANK") || lookup(env, "OMPI_COMM_WORLD_SIZE")) {
    // MPI needs no rendezvous address; MASTER_ADDR/MASTER_PORT still apply when a Gloo backend is chosen.
    return resolve_ranks(env, ClusterSource::kOpenMpi, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                         "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE");
  }
  if (lookup(env, "SLURM_PROCID")) return resolve_slurm(env);
  return Resolved{};
}

}  // namespace

const char* to_string(ClusterSource source) {
  switch (source) {
    case ClusterSource::kExplicit:
      return "explicit";
    case ClusterSource::kTfConfig:
      return "TF_CONFIG";
    case ClusterSource::kTorchrun:
      return "torchrun";
    case ClusterSource::kOpenMpi:
      return "Open MPI";
    case ClusterSource::kSlurm:
      return "Slurm";
    case ClusterSource::kSingleProcess:
      return "single process";
  }
  return "unknown";
}

ClusterResolver::ClusterResolver() = default;

ClusterResolver::ClusterResolver(const ClusterConfig& config)
    : source_(ClusterSource::kExplicit),
      rank_(config.rank),
      world_size_(config.world_size),
      local_rank_(config.local_rank),
      local_world_size_(config.local_world_size),
      master_address_(config.master_address),
      master_port_(config.master_port),
      task_id_(config.rank) {
  check_placement({"ClusterConfig.rank", rank_}, {"ClusterConfig.world_size", world_size_},
                  {"ClusterConfig.local_rank", local_rank_}, {"ClusterConfig.local_world_size", local_world_size_});
  KEEL_CHECK(!master_address_.empty(), ValueError, "ClusterConfig.master_address is empty");
  check_port("ClusterConfig.master_port", master_port_);
}

ClusterResolver ClusterResolver::from_environment(const std::optional<ClusterConfig>& config) {
  if (config) return ClusterResolver(*config);  // the environment is not even read
  Env env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string text = *entry;
    size_t equals = text.find('=');
    if (equals != std::string::npos) env.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return from_environment(env);
}

ClusterResolver ClusterResolver::from_environment(const std::map<std::string, std::string>& env,
                                                  const std::optional<ClusterConfig>& config) {
  if (config) return ClusterResolver(*config);
  Resolved resolved = resolve(env);
  ClusterResolver resolver;
  resolver.source_ = resolved.source;
  resolver.rank_ = resolved.rank;
  resolver.world_size_ = resolved.world_size;
  resolver.local_rank_ = resolved.local_rank;
  resolver.local_world_size_ = resolved.local_world_size;
  resolver.master_address_ = std::move(resolved.master_address);
  resolver.master_port_ = resolved.master_port;
  resolver.task_type_ = std::move(resolved.task_type);
  resolver.task_id_ = resolved.task_id;
  resolver.cluster_spec_ = std::move(resolved.cluster_spec);
  return resolver;
}

std::string ClusterResolver::master() const {
  // An IPv6 address goes back into brackets, so the port stays separable.
  const bool ipv6 = master_address_.find(':') != std::string::npos;
  return ipv6 ? detail::cat("[", master_address_, "]:", master_port_) : detail::cat(master_address_, ":", master_port_);
}

}  // namespace keel::distribute
