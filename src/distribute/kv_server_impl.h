// The rendezvous store's server inside: one connection's state and the server's, shared by the loop
// (kv_store_server.cpp: accepting, reading, writing, timeouts) and the protocol (kv_server_requests.cpp: the
// greeting, parsing requests as their bytes arrive, the memory budget, answers and waits).
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "distribute/kv_protocol.h"
#include "distribute/kv_store.h"

namespace keel::distribute {

namespace kv {

using Clock = std::chrono::steady_clock;

// Bytes read per recv, into one buffer for the whole server.
constexpr size_t kReadChunk = 64 * 1024;

enum class Field { kOp, kCount, kKeyLength, kKeyBytes, kValueLength, kValueBytes, kWaitMs };

struct Conn {
  int fd = -1;
  uint64_t id = 0;  // increasing: the oldest connection has the smallest
  bool authenticated = false;
  bool dead = false;  // closed at the end of this turn of the loop
  // The greeting, or the message now arriving, started at `since` and must end within the read timeout.
  bool partial = true;
  Clock::time_point since;

  Nonce server_nonce{};
  std::array<unsigned char, kClientHelloBytes> hello{};
  size_t hello_have = 0;

  // The request being read: the current field, its bytes so far, and what earlier fields said.
  Field field = Field::kOp;
  unsigned char header[8] = {};
  size_t header_have = 0;
  unsigned char op = 0;
  uint32_t count = 0;
  uint64_t key_length = 0, value_length = 0, wait_ms = 0;
  std::vector<std::string> keys;
  std::vector<char> value;
  size_t reserved = 0;  // charged to the budget for this request

  // The answer being sent: a header and maybe a stored value (shared, never copied).
  std::vector<char> out;
  size_t out_sent = 0;
  std::shared_ptr<const std::vector<char>> out_value;
  size_t value_sent = 0;
  bool close_after_send = false;
  Clock::time_point send_progress;  // when the answer last moved; a reader that stalls is dropped

  // A GET or WAIT whose keys are not all set.
  bool waiting = false;
  Clock::time_point wait_deadline;
  std::vector<uint32_t> wait_keys;  // indices into `keys` of the distinct keys registered as waited for
  size_t missing = 0;

  bool sending() const { return out_sent < out.size() || (out_value && value_sent < out_value->size()); }
  bool busy() const { return waiting || sending() || dead; }
};

}  // namespace kv

struct KvStoreServer::Impl {
  std::string address;
  std::string secret;
  Limits limits;
  int port = 0;
  std::vector<int> listeners;
  std::vector<std::string> listening_on;
  int stop_pipe[2] = {-1, -1};  // written once at shutdown; the loop polls its read end
  std::thread loop_thread;

  // Owned by the loop thread.
  std::map<uint64_t, std::unique_ptr<kv::Conn>> conns;
  uint64_t next_id = 1;
  std::unordered_map<std::string, std::shared_ptr<const std::vector<char>>> values;
  std::unordered_map<std::string, std::vector<uint64_t>> waiters;  // key -> connections waiting for it
  kv::Clock::time_point accept_paused_until{};
  std::vector<char> chunk = std::vector<char>(kv::kReadChunk);

  // Published for stats().
  std::atomic<size_t> used{0};
  std::atomic<size_t> connection_count{0};

  void run() noexcept;
  void serve();
  void accept_some(int listener, kv::Clock::time_point now);
  void on_readable(kv::Conn& c, kv::Clock::time_point now);
  size_t consume(kv::Conn& c, const char* data, size_t size, kv::Clock::time_point now);
  void finish_greeting(kv::Conn& c);
  void finish_field(kv::Conn& c, kv::Clock::time_point now);
  void after_keys(kv::Conn& c, kv::Clock::time_point now);
  void complete_request(kv::Conn& c, kv::Clock::time_point now);
  void finish_wait(kv::Conn& c, unsigned char status);
  void unregister_wait(kv::Conn& c);
  void answer(kv::Conn& c, std::vector<char> head, std::shared_ptr<const std::vector<char>> value = nullptr);
  void flush(kv::Conn& c, kv::Clock::time_point now);
  void expire(kv::Clock::time_point now);
  std::optional<kv::Clock::time_point> next_deadline() const;
  bool reserve(kv::Conn& c, size_t bytes);
  void release(kv::Conn& c);
  void close_conn(kv::Conn& c) noexcept;
  void sweep() noexcept;
  void shut_down() noexcept;
  void drop(kv::Conn& c) { c.dead = true; }
  size_t request_overhead(const kv::Conn& c) const { return c.op == kv::kSet ? 1 : 2; }
};

}  // namespace keel::distribute
