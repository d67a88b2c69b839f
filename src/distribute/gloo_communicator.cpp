// connect_gloo: Gloo's TCP transport for CPU tensors. Rank 0 serves the rendezvous store; every rank proves it
// knows the job secret, writes that it arrived, waits for the others (so a missing rank is named), and lets
// Gloo exchange its pair addresses through the store (connectFullMesh); rank 0 then stops serving. Gloo's
// exceptions never escape: a lost peer becomes UnavailableError, a wait past the timeout DeadlineExceededError,
// both naming the rank and the operation.
#include <arpa/inet.h>
#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/common/logging.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include "distribute/collective_util.h"
#include "distribute/kv_store.h"
#include "keel/core/error.h"
#include "keel/distribute/cluster_resolver.h"
#include "keel/distribute/communicator.h"

namespace keel::distribute {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Gloo's view of the rendezvous store: the communicator's keys under its prefix.
class GlooStore final : public gloo::rendezvous::Store {
 public:
  GlooStore(KvStoreClient& client, std::string prefix) : client_(client), prefix_(std::move(prefix)) {}

  void set(const std::string& key, const std::vector<char>& data) override { client_.set(prefix_ + key, data); }
  std::vector<char> get(const std::string& key) override { return client_.get(prefix_ + key); }
  void wait(const std::vector<std::string>& keys) override { client_.wait(prefixed(keys)); }
  void wait(const std::vector<std::string>& keys, const milliseconds& timeout) override {
    client_.wait(prefixed(keys), timeout);
  }

 private:
  std::vector<std::string> prefixed(const std::vector<std::string>& keys) const {
    std::vector<std::string> out;
    for (const auto& key : keys) out.push_back(prefix_ + key);
    return out;
  }
  KvStoreClient& client_;
  std::string prefix_;
};

// Rank 0's store servers by port: communicators whose rendezvous over one port overlap in time share it (their
// keys differ by prefix); a server stops when the last rendezvous holding it ends. The first one's secret
// and limits apply to all.
std::shared_ptr<KvStoreServer> serve_rendezvous(const std::string& address, int port, const std::string& secret,
                                                const KvStoreServer::Limits& limits) {
  static std::mutex mutex;
  static std::map<int, std::weak_ptr<KvStoreServer>> servers;
  std::lock_guard lock(mutex);
  if (auto server = servers[port].lock()) return server;
  auto server = std::make_shared<KvStoreServer>(address, port, secret, limits);
  servers[port] = server;
  return server;
}

// The store's bounds for a world of `world_size`: Gloo's full mesh stores each rank's addresses of all its peers
// (about 140 bytes each), so the store grows with the square of the world; every rank holds one connection.
KvStoreServer::Limits store_limits(int world_size) {
  KvStoreServer::Limits limits;
  const auto n = static_cast<size_t>(world_size);
  limits.max_total_bytes += n * n * 256;
  limits.max_connections = std::max(limits.max_connections, n + 256);
  return limits;
}

constexpr size_t kMinSecretLength = 16;

// The job secret: the option, else KEEL_CLUSTER_SECRET. Only a loopback rendezvous may go without one, since
// only this host's users can reach it.
std::string job_secret(const RendezvousOptions& options) {
  std::string secret = options.secret;
  const char* from = "RendezvousOptions::secret";
  if (secret.empty()) {
    const char* env = std::getenv("KEEL_CLUSTER_SECRET");
    secret = env != nullptr ? env : "";
    from = "KEEL_CLUSTER_SECRET";
  }
  const std::string how =
      "the same value on every rank, e.g. `export KEEL_CLUSTER_SECRET=$(openssl rand -hex 32)` "
      "before starting them (keel-launch sets one for its ranks)";
  KEEL_CHECK(!secret.empty() || is_loopback_address(options.master_address), ValueError, "rank ", options.rank,
             ": the rendezvous at ", host_port(options.master_address, options.master_port),
             " is not on a loopback address, so every rank needs the job secret in KEEL_CLUSTER_SECRET: ", how);
  KEEL_CHECK(secret.empty() || secret.size() >= kMinSecretLength, ValueError, "rank ", options.rank, ": ", from,
             " has ", secret.size(), " characters; a job secret needs at least ", kMinSecretLength, ": ", how);
  return secret;
}

// Gloo writes to its sockets with writev(), which raises SIGPIPE once a peer has died; by default that signal
// ends the process silently before the error can reach the caller. Ignore it unless the program set a handler.
void ignore_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
  });
}

// Where this rank's Gloo pairs listen, so that every peer can reach them.
gloo::transport::tcp::attr device_attr(const RendezvousOptions& options) {
  gloo::transport::tcp::attr attr;
  if (is_loopback_address(options.master_address)) {
    attr.hostname = options.master_address.find(':') != std::string::npos ? "::1" : "127.0.0.1";
    return attr;
  }
  if (const char* iface = std::getenv("KEEL_GLOO_IFACE"); iface != nullptr && *iface != '\0') {
    attr.iface = iface;
    return attr;
  }
  if (const char* host = std::getenv("KEEL_GLOO_HOSTNAME"); host != nullptr && *host != '\0') {
    attr.hostname = host;
    return attr;
  }
  // The interface that routes to the master. When the master's name maps to a loopback address here (a host's
  // own name, which Debian maps to 127.0.1.1), the interface of the default route instead: peers on other hosts
  // could not reach a loopback address. 192.0.2.1 (TEST-NET-1) is only looked up in the routing table.
  auto local = net::local_address_towards(options.master_address, options.master_port);
  if (!local || is_loopback_address(*local)) {
    if (auto routed = net::local_address_towards("192.0.2.1", 9)) local = routed;
  }
  if (local) {
    attr.hostname = *local;
  } else {
    char name[256] = {};
    ::gethostname(name, sizeof(name) - 1);
    attr.hostname = name;
  }
  return attr;
}

bool mentions_timeout(const std::string& message) {
  std::string lower = message;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find("timeout") != std::string::npos || lower.find("timed out") != std::string::npos;
}

// Called inside a catch block: rethrows the exception in flight as a Keel error about `op` on `rank`.
[[noreturn]] void rethrow_as_keel_error(int rank, const std::string& op, milliseconds timeout) {
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const gloo::IoException& e) {
    if (mentions_timeout(e.what())) {
      throw DeadlineExceededError(::keel::detail::cat("rank ", rank, ": ", op, " timed out after ",
                                                      detail::format_seconds(timeout),
                                                      " waiting for its peers (gloo: ", e.what(), ")"));
    }
    throw UnavailableError(::keel::detail::cat("rank ", rank, ": ", op, " failed: peer lost (gloo: ", e.what(), ")"));
  } catch (const gloo::EnforceNotMet& e) {
    throw UnavailableError(::keel::detail::cat("rank ", rank, ": ", op, " failed (gloo: ", e.what(), ")"));
  } catch (const std::exception& e) {
    throw UnavailableError(::keel::detail::cat("rank ", rank, ": ", op, " failed (gloo: ", e.what(), ")"));
  }
}

using ReduceFn = void (*)(void*, const void*, const void*, size_t);

template <class T>
ReduceFn reduce_fn(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return &gloo::sum<T>;
    case ReduceOp::kMin:
      return &gloo::min<T>;
    case ReduceOp::kMax:
      return &gloo::max<T>;
  }
  return nullptr;
}

class GlooCommunicator final : public Communicator {
 public:
  GlooCommunicator(int rank, int size, std::shared_ptr<gloo::rendezvous::Context> context, milliseconds timeout)
      : rank_(rank), size_(size), context_(std::move(context)) {
    set_timeout(timeout);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "gloo"; }

  void all_reduce(Tensor& tensor, ReduceOp op) override {
    detail::check_host_tensor("all_reduce", rank_, tensor, /*reducible=*/true);
    run("all_reduce", [&] {
      if (tensor.numel() == 0) return;
      switch (tensor.dtype()) {
        case DType::f32:
          return all_reduce_as<float>(tensor, op);
        case DType::f64:
          return all_reduce_as<double>(tensor, op);
        case DType::i32:
          return all_reduce_as<int32_t>(tensor, op);
        case DType::i64:
          return all_reduce_as<int64_t>(tensor, op);
        default:
          return;  // check_host_tensor let only these through
      }
    });
  }

  void broadcast(Tensor& tensor, int root) override {
    detail::check_host_tensor("broadcast", rank_, tensor, /*reducible=*/false);
    detail::check_root("broadcast", rank_, root, size_);
    run("broadcast", [&] {
      const size_t bytes = nbytes(tensor);
      if (bytes == 0) return;
      gloo::BroadcastOptions opts(context_);
      opts.setOutput(static_cast<uint8_t*>(tensor.data_ptr()), bytes);
      opts.setRoot(root);
      opts.setTimeout(timeout());
      gloo::broadcast(opts);
    });
  }

  Tensor all_gather(const Tensor& tensor) override {
    detail::check_host_tensor("all_gather", rank_, tensor, /*reducible=*/false);
    Tensor out = empty(detail::gathered_shape(tensor.shape(), size_), tensor.dtype(), Device::cpu());
    run("all_gather", [&] {
      const size_t bytes = nbytes(tensor);
      if (bytes == 0) return;
      gloo::AllgatherOptions opts(context_);
      opts.setInput(static_cast<uint8_t*>(tensor.data_ptr()), bytes);
      opts.setOutput(static_cast<uint8_t*>(out.data_ptr()), bytes * static_cast<size_t>(size_));
      opts.setTimeout(timeout());
      gloo::allgather(opts);
    });
    return out;
  }

  void barrier() override {
    run("barrier", [&] {
      gloo::BarrierOptions opts(context_);
      opts.setTimeout(timeout());
      gloo::barrier(opts);
    });
  }

  void abort() override {
    if (aborted_.exchange(true)) return;
    // Closing the pairs makes the peers' pending and later calls fail at once (they see a closed connection).
    // A call of this rank already waiting inside Gloo cannot be woken: it fails when its own timeout passes.
    close_connections();
  }

 private:
  static size_t nbytes(const Tensor& t) { return static_cast<size_t>(t.numel()) * dtype_size(t.dtype()); }

  template <class T>
  void all_reduce_as(Tensor& tensor, ReduceOp op) {
    gloo::AllreduceOptions opts(context_);
    opts.setOutput(static_cast<T*>(tensor.data_ptr()), static_cast<size_t>(tensor.numel()));
    opts.setReduceFunction(reduce_fn<T>(op));
    opts.setTimeout(timeout());
    gloo::allreduce(opts);
  }

  // Runs one collective: one at a time (every rank must issue them in the same order anyway), never after a
  // failure, which leaves Gloo's pairs in an unknown state.
  template <class Fn>
  void run(const char* op, Fn&& fn) {
    std::lock_guard lock(call_mutex_);
    KEEL_CHECK(!aborted_, UnavailableError, "rank ", rank_, ": ", op, " failed: this communicator was aborted");
    KEEL_CHECK(failure_.empty(), UnavailableError, "rank ", rank_, ": ", op,
               " failed: the communicator is unusable after an earlier failure (", failure_, ")");
    try {
      fn();
    } catch (...) {
      // Close at once so the peers fail now rather than at their own timeouts.
      close_connections();
      KEEL_CHECK(!aborted_, UnavailableError, "rank ", rank_, ": ", op, " failed: this communicator was aborted");
      try {
        rethrow_as_keel_error(rank_, op, timeout());
      } catch (const Error& e) {
        failure_ = e.what();
        throw;
      }
    }
  }

  void close_connections() {
    std::lock_guard lock(close_mutex_);
    if (closed_) return;
    closed_ = true;
    try {
      context_->closeConnections();
    } catch (...) {
      // Already closed by a failure; nothing more to release.
    }
  }

  const int rank_, size_;
  std::shared_ptr<gloo::rendezvous::Context> context_;
  std::mutex call_mutex_;
  std::string failure_;  // guarded by call_mutex_
  std::atomic<bool> aborted_{false};
  std::mutex close_mutex_;
  bool closed_ = false;
};

// Every rank announces itself and waits for the others, so that a rank that never comes is named.
void wait_for_all_ranks(KvStoreClient& store, const RendezvousOptions& options, Clock::time_point deadline,
                        milliseconds timeout) {
  const std::string prefix = options.prefix + "/arrived/";
  store.set(prefix + std::to_string(options.rank), {});
  std::vector<std::string> keys;
  for (int r = 0; r < options.world_size; ++r) keys.push_back(prefix + std::to_string(r));
  const auto left = std::max(milliseconds(1), std::chrono::ceil<milliseconds>(deadline - Clock::now()));
  const KvStoreClient::WaitResult result = store.wait_for(keys, left);
  if (result.missing.empty()) return;
  std::ostringstream ranks;
  for (size_t i = 0; i < result.missing.size(); ++i) {
    ranks << (i ? ", " : "") << result.missing[i].substr(prefix.size());
  }
  // Rank 0 stops serving when its own wait ends: the others see that, usually just before their own timeout.
  KEEL_CHECK(!result.server_stopped, UnavailableError, "rank ", options.rank, ": the rendezvous at ", store.where(),
             " ended before ranks [", ranks.str(), "] of ", options.world_size,
             " arrived: rank 0 stopped serving it (it timed out waiting for them, or exited)");
  throw DeadlineExceededError(
      ::keel::detail::cat("rank ", options.rank, ": the rendezvous at ", store.where(), " timed out after ",
                          detail::format_seconds(timeout), ": ranks [", ranks.str(), "] of ", options.world_size,
                          " did not arrive (were they started, with the same MASTER_ADDR and MASTER_PORT?)"));
}

}  // namespace

std::unique_ptr<Communicator> connect_gloo(const RendezvousOptions& options) {
  KEEL_CHECK(options.world_size >= 1 && options.world_size <= kMaxWorldSize, ValueError,
             "connect_gloo: world_size must be in [1, ", kMaxWorldSize, "], got ", options.world_size);
  KEEL_CHECK(options.rank >= 0 && options.rank < options.world_size, ValueError, "connect_gloo: rank ", options.rank,
             " is outside [0, ", options.world_size, ")");
  KEEL_CHECK(options.master_port >= 1 && options.master_port <= 65535, ValueError, "connect_gloo: master_port ",
             options.master_port, " is outside 1..65535");
  KEEL_CHECK(!options.master_address.empty(), ValueError, "connect_gloo: master_address is empty");
  KEEL_CHECK(options.timeout.count() > 0, ValueError, "connect_gloo: the timeout must be positive, got ",
             options.timeout.count(), " ms");
  const milliseconds timeout = detail::collective_timeout(options.timeout);
  const auto deadline = Clock::now() + timeout;
  const int rank = options.rank;
  const std::string secret = job_secret(options);
  ignore_sigpipe();

  std::shared_ptr<KvStoreServer> server;
  std::optional<KvStoreClient> store;
  try {
    if (rank == 0) {
      server = serve_rendezvous(options.master_address, options.master_port, secret, store_limits(options.world_size));
    }
    store.emplace(options.master_address, options.master_port, timeout, secret);
  } catch (const DeadlineExceededError& e) {
    throw DeadlineExceededError(::keel::detail::cat("rank ", rank, ": ", e.what()));
  } catch (const UnavailableError& e) {
    throw UnavailableError(::keel::detail::cat("rank ", rank, ": ", e.what()));
  }
  wait_for_all_ranks(*store, options, deadline, timeout);

  const std::string step = ::keel::detail::cat("connecting to the peers met at ", store->where());
  std::shared_ptr<gloo::rendezvous::Context> context;
  try {
    auto device = gloo::transport::tcp::CreateDevice(device_attr(options));
    context = std::make_shared<gloo::rendezvous::Context>(rank, options.world_size);
    context->setTimeout(timeout);
    GlooStore gloo_store(*store, options.prefix + "/gloo/");
    context->connectFullMesh(gloo_store, device);
    // Returns only once every rank has finished connectFullMesh, its last use of the store.
    gloo::BarrierOptions barrier(context);
    barrier.setTimeout(timeout);
    gloo::barrier(barrier);
  } catch (const DeadlineExceededError& e) {
    throw DeadlineExceededError(::keel::detail::cat("rank ", rank, ": ", step, " failed: ", e.what()));
  } catch (const UnavailableError& e) {
    throw UnavailableError(::keel::detail::cat("rank ", rank, ": ", step, " failed: ", e.what()));
  } catch (...) {
    rethrow_as_keel_error(rank, step, timeout);
  }
  // Nobody needs the store any more (the communicator never goes back to it: a new rendezvous is a new
  // connect_gloo), so rank 0 stops serving now instead of leaving the port open for the whole job. A
  // rendezvous of another communicator on the same port, still under way, keeps it through its own reference.
  store.reset();
  server.reset();
  return std::make_unique<GlooCommunicator>(rank, options.world_size, std::move(context), timeout);
}

}  // namespace keel::distribute
