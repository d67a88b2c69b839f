// The rendezvous store: rank 0 serves a small key-value store over TCP at the master address and every rank
// (rank 0 too) talks to it as a client. Gloo exchanges its pair addresses through it; a GPU engine can pass
// its unique id the same way.
//   KvStoreServer server("127.0.0.1", 0);                    // port 0: any free port
//   KvStoreClient client("127.0.0.1", server.port(), 30s);   // retries until rank 0 serves
//   client.set("rank/0", bytes);  auto value = client.get("rank/1");  client.wait({"a", "b"});
// The protocol is length-prefixed little-endian messages over one blocking-style connection per client,
// every wait bounded by poll() timeouts. Keys are never removed: a store serves one rendezvous.
#pragma once
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace keel::distribute {

/// True for a loopback literal (127.0.0.0/8, ::1) and for "localhost" and its variants; no DNS lookup.
bool is_loopback_address(const std::string& host);
/// "host:port", with brackets around an IPv6 literal.
std::string host_port(const std::string& host, int port);

class KvStoreServer {
 public:
  /// Serves on address:port (port 0 picks a free port, see port()). A loopback address is served on loopback
  /// only; any other name on every interface, since a host's own name may resolve to an address no peer can
  /// reach (Debian maps it to 127.0.1.1). UnavailableError naming the address and the reason when it cannot.
  KvStoreServer(const std::string& address, int port);
  /// Stops serving: pending waits of clients end with an error on their side.
  ~KvStoreServer();
  KvStoreServer(const KvStoreServer&) = delete;
  KvStoreServer& operator=(const KvStoreServer&) = delete;

  int port() const;
  const std::string& address() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class KvStoreClient {
 public:
  /// Connects to address:port, retrying until `timeout` passes (DeadlineExceededError naming the address);
  /// `timeout` also bounds every later call that does not take its own.
  KvStoreClient(const std::string& address, int port, std::chrono::milliseconds timeout);
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
  int fd_ = -1;
  std::mutex mutex_;  // one request at a time on the connection
};

}  // namespace keel::distribute
