// The rendezvous store: rank 0 serves a small key-value store over TCP at the master address and every rank
// (rank 0 too) talks to it as a client. Gloo exchanges its pair addresses through it; a GPU engine can pass
// its unique id the same way.
//   KvStoreServer server("127.0.0.1", 0, secret);                  // port 0: any free port
//   KvStoreClient client("127.0.0.1", server.port(), 30s, secret);  // retries until rank 0 serves
//   client.set("rank/0", bytes);  auto value = client.get("rank/1");  client.wait({"a", "b"});
// Every connection starts with a challenge-response greeting over the job secret (kv_protocol.h); the server
// answers nothing else until the client has proved it knows the secret. The server is one thread polling
// every connection, with bounds on connections, message sizes, stalled reads and its total memory, so a peer
// that is not one of the job's ranks can neither crash nor flood it. Keys are never removed: a store serves
// one rendezvous.
#pragma once
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "distribute/net_util.h"

namespace keel::distribute {

/// What the server tolerates from its peers. A peer that breaks a bound is disconnected (a new connection
/// beyond max_connections is closed at once); the others are served on.
struct KvStoreLimits {
  /// A connection must finish its greeting, and each message it starts, within this; one that stalls is
  /// dropped. An authenticated connection may stay idle between messages as long as it likes.
  std::chrono::milliseconds read_timeout{10000};
  /// Open connections, greeting or not. At the bound a new connection evicts the oldest one still in its
  /// greeting, or is closed when every connection is authenticated.
  size_t max_connections = 1024;
  /// Keys and values stored plus those announced by requests in flight (checked from each header, before
  /// its bytes are read).
  size_t max_total_bytes = size_t{256} << 20;
};
struct KvStoreStats {
  size_t connections = 0;
  size_t bytes = 0;  // what counts against max_total_bytes
};

class KvStoreServer {
 public:
  using Limits = KvStoreLimits;
  using Stats = KvStoreStats;

  /// Serves on address:port (port 0 picks a free port, see port()), on the addresses `address` resolves to
  /// that belong to this host, never on every interface. ValueError when `secret` is empty and an address to
  /// serve is not a loopback address; UnavailableError naming the address and the reason when it cannot.
  KvStoreServer(const std::string& address, int port, std::string secret = {}, Limits limits = {});
  /// Stops serving: pending waits of clients end with an error on their side; the port is closed.
  ~KvStoreServer();
  KvStoreServer(const KvStoreServer&) = delete;
  KvStoreServer& operator=(const KvStoreServer&) = delete;

  int port() const;
  const std::string& address() const;
  /// The numeric addresses it listens on.
  const std::vector<std::string>& listening_on() const;
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class KvStoreClient {
 public:
  /// Connects to address:port and completes the greeting with `secret`, retrying until `timeout` passes
  /// (DeadlineExceededError naming the address); `timeout` also bounds every later call that does not take
  /// its own. UnavailableError at once when the server refuses the secret or cannot prove it knows it.
  KvStoreClient(const std::string& address, int port, std::chrono::milliseconds timeout, std::string secret = {});
  ~KvStoreClient();
  KvStoreClient(const KvStoreClient&) = delete;
  KvStoreClient& operator=(const KvStoreClient&) = delete;

  void set(const std::string& key, const std::vector<char>& value);
  /// The value of `key`, waiting until it is set: DeadlineExceededError naming the key after the timeout,
  /// UnavailableError when the server stops first.
  std::vector<char> get(const std::string& key);
  std::vector<char> get(const std::string& key, std::chrono::milliseconds timeout);
  /// Returns once every key is set: DeadlineExceededError naming the missing ones after the timeout,
  /// UnavailableError naming them when the server stops first.
  void wait(const std::vector<std::string>& keys);
  void wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout);
  struct WaitResult {
    std::vector<std::string> missing;  // empty when every key is set
    bool server_stopped = false;       // the wait ended because the server stopped, not at the timeout
  };
  /// Waits like wait() but reports the keys still missing instead of throwing.
  WaitResult wait_for(const std::vector<std::string>& keys, std::chrono::milliseconds timeout);
  /// For each key, whether it is set now.
  std::vector<bool> check(const std::vector<std::string>& keys);

  std::chrono::milliseconds timeout() const { return timeout_; }
  /// "host:port".
  std::string where() const;

 private:
  struct Reply;
  Reply call(const char* what, unsigned char op, const std::vector<std::string>& keys, const std::vector<char>* value,
             std::chrono::milliseconds wait);

  std::string address_;
  int port_;
  std::chrono::milliseconds timeout_;
  std::string secret_;
  int fd_ = -1;
  std::mutex mutex_;  // one request at a time on the connection
};

}  // namespace keel::distribute
