// The rendezvous store's protocol, server side: the greeting, requests parsed as their bytes arrive (every size
// checked against the protocol bounds and the memory budget from its header, before anything is allocated),
// and the answers, including GETs and WAITs that wait for keys to be set.
#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_set>

#include "distribute/kv_server_impl.h"

namespace keel::distribute {

using kv::Clock;
using kv::Conn;
using kv::Field;
using std::chrono::milliseconds;

namespace {

// What a key costs beyond its bytes (the string and its map node). A key of a GET, WAIT or CHECK costs twice:
// a wait copies it into the index of waiters.
constexpr size_t kKeyOverhead = 64;
// Server-side waits are capped (2^40 ms is 35 years), so a deadline never overflows.
constexpr uint64_t kMaxWaitMs = uint64_t{1} << 40;

size_t field_size(Field field) {
  switch (field) {
    case Field::kOp:
      return 1;
    case Field::kCount:
    case Field::kKeyLength:
      return 4;
    default:
      return 8;
  }
}

}  // namespace

// --- budget ---

bool KvStoreServer::Impl::reserve(Conn& c, size_t bytes) {
  const size_t now_used = used.load(std::memory_order_relaxed);
  if (bytes > limits.max_total_bytes || now_used > limits.max_total_bytes - bytes) return false;
  used.store(now_used + bytes, std::memory_order_relaxed);
  c.reserved += bytes;
  return true;
}

void KvStoreServer::Impl::release(Conn& c) {
  used.fetch_sub(c.reserved, std::memory_order_relaxed);
  c.reserved = 0;
}

// Feeds bytes to the greeting or the request parser; stops once a request leaves the connection busy (waiting or
// answering). Returns how many bytes it used.
size_t KvStoreServer::Impl::consume(Conn& c, const char* data, size_t size, Clock::time_point now) {
  size_t used_bytes = 0;
  while (used_bytes < size && !c.busy()) {
    const char* p = data + used_bytes;
    const size_t left = size - used_bytes;
    if (!c.authenticated) {
      const size_t take = std::min(left, kv::kClientHelloBytes - c.hello_have);
      std::memcpy(c.hello.data() + c.hello_have, p, take);
      c.hello_have += take;
      used_bytes += take;
      if (c.hello_have == kv::kClientHelloBytes) finish_greeting(c);
      continue;
    }
    if (!c.partial) {
      c.partial = true;
      c.since = now;
    }
    if (c.field == Field::kKeyBytes || c.field == Field::kValueBytes) {
      // Bytes are appended as they come: the buffer never runs ahead of the data.
      std::string* key = c.field == Field::kKeyBytes ? &c.keys.back() : nullptr;
      const size_t have = key != nullptr ? key->size() : c.value.size();
      const uint64_t total = key != nullptr ? c.key_length : c.value_length;
      const size_t take = static_cast<size_t>(std::min<uint64_t>(left, total - have));
      if (key != nullptr) {
        key->append(p, take);
      } else {
        c.value.insert(c.value.end(), p, p + take);
      }
      used_bytes += take;
      if (have + take == total) {
        if (key != nullptr && c.keys.size() < c.count) {
          c.field = Field::kKeyLength;
        } else if (key != nullptr) {
          after_keys(c, now);
        } else {
          complete_request(c, now);
        }
      }
      continue;
    }
    const size_t take = std::min(left, field_size(c.field) - c.header_have);
    std::memcpy(c.header + c.header_have, p, take);
    c.header_have += take;
    used_bytes += take;
    if (c.header_have == field_size(c.field)) finish_field(c, now);
  }
  return used_bytes;
}

void KvStoreServer::Impl::finish_greeting(Conn& c) {
  kv::Nonce client_nonce{};
  kv::Mac proof{};
  std::memcpy(client_nonce.data(), c.hello.data() + kv::kMagic.size(), kv::kNonceBytes);
  std::memcpy(proof.data(), c.hello.data() + kv::kMagic.size() + kv::kNonceBytes, kv::kMacBytes);
  if (!std::equal(kv::kMagic.begin(), kv::kMagic.end(), c.hello.begin())) return drop(c);
  const auto expected = kv::client_proof(secret, c.server_nonce, client_nonce);
  const auto ours = kv::server_proof(secret, c.server_nonce, client_nonce);
  if (!expected || !ours || !kv::macs_equal(*expected, proof)) {
    // Say so before closing, so a rank with the wrong secret can name the cause instead of retrying.
    c.close_after_send = true;
    return answer(c, {static_cast<char>(kv::kRefused)});
  }
  c.authenticated = true;
  c.partial = false;
  std::vector<char> accepted{static_cast<char>(kv::kAccepted)};
  accepted.insert(accepted.end(), ours->begin(), ours->end());
  answer(c, std::move(accepted));
}

void KvStoreServer::Impl::finish_field(Conn& c, Clock::time_point now) {
  const uint64_t v = kv::get_le(c.header, static_cast<int>(field_size(c.field)));
  c.header_have = 0;
  switch (c.field) {
    case Field::kOp:
      if (v != kv::kSet && v != kv::kGet && v != kv::kWait && v != kv::kCheck) return drop(c);
      c.op = static_cast<unsigned char>(v);
      c.field = Field::kCount;
      return;
    case Field::kCount:
      if (v > kv::kMaxKeys || ((c.op == kv::kSet || c.op == kv::kGet) && v != 1)) return drop(c);
      c.count = static_cast<uint32_t>(v);
      if (c.count == 0) return after_keys(c, now);
      c.field = Field::kKeyLength;
      return;
    case Field::kKeyLength:
      if (v > kv::kMaxKeyBytes || !reserve(c, request_overhead(c) * (v + kKeyOverhead))) return drop(c);
      c.key_length = v;
      c.keys.emplace_back();
      if (v > 0) {
        c.field = Field::kKeyBytes;
      } else if (c.keys.size() < c.count) {
        c.field = Field::kKeyLength;
      } else {
        after_keys(c, now);
      }
      return;
    case Field::kValueLength:
      // The announced size is checked and charged here, before a byte of the value is read or allocated.
      if (v > kv::kMaxValueBytes || !reserve(c, static_cast<size_t>(v))) return drop(c);
      c.value_length = v;
      if (v == 0) return complete_request(c, now);
      c.field = Field::kValueBytes;
      return;
    case Field::kWaitMs:
      c.wait_ms = std::min(v, kMaxWaitMs);
      return complete_request(c, now);
    default:
      return drop(c);
  }
}

void KvStoreServer::Impl::after_keys(Conn& c, Clock::time_point now) {
  if (c.op == kv::kSet) {
    c.field = Field::kValueLength;
  } else if (c.op == kv::kCheck) {
    complete_request(c, now);
  } else {
    c.field = Field::kWaitMs;
  }
}

// --- requests ---

void KvStoreServer::Impl::complete_request(Conn& c, Clock::time_point now) {
  c.partial = false;
  c.field = Field::kOp;
  if (c.op == kv::kSet) {
    std::string& key = c.keys[0];
    const size_t cost = key.size() + kKeyOverhead + c.value.size();  // at most what was reserved
    auto value = std::make_shared<const std::vector<char>>(std::move(c.value));
    c.value = {};
    auto it = values.find(key);
    const bool is_new = it == values.end();
    size_t old_cost = 0;
    if (is_new) {
      it = values.emplace(key, std::move(value)).first;
    } else {
      old_cost = it->first.size() + kKeyOverhead + it->second->size();
      it->second = std::move(value);
    }
    used.fetch_sub(c.reserved + old_cost - cost, std::memory_order_relaxed);
    c.reserved = 0;
    c.keys.clear();
    answer(c, {0});
    if (is_new) {
      if (auto w = waiters.find(it->first); w != waiters.end()) {
        const std::vector<uint64_t> ids = std::move(w->second);
        waiters.erase(w);
        for (uint64_t id : ids) {
          auto found = conns.find(id);
          if (found == conns.end() || !found->second->waiting) continue;
          Conn& waiter = *found->second;
          if (--waiter.missing == 0) {
            finish_wait(waiter, 0);
            flush(waiter, now);
          }
        }
      }
    }
    return;
  }
  if (c.op == kv::kCheck) {
    std::vector<char> flags;
    for (const auto& key : c.keys) flags.push_back(values.count(key) != 0 ? 1 : 0);
    release(c);
    c.keys.clear();
    return answer(c, std::move(flags));
  }
  // GET or WAIT: answered now when every key is set, else when the last one is, at the deadline, or at shutdown.
  std::unordered_set<std::string_view> seen;
  for (uint32_t i = 0; i < c.keys.size(); ++i) {
    if (values.count(c.keys[i]) == 0 && seen.insert(c.keys[i]).second) c.wait_keys.push_back(i);
  }
  c.waiting = true;
  c.missing = c.wait_keys.size();
  if (c.missing == 0) return finish_wait(c, 0);
  c.wait_deadline = now + milliseconds(c.wait_ms);
  for (uint32_t i : c.wait_keys) waiters[c.keys[i]].push_back(c.id);
}

void KvStoreServer::Impl::unregister_wait(Conn& c) {
  for (uint32_t i : c.wait_keys) {
    auto w = waiters.find(c.keys[i]);
    if (w == waiters.end()) continue;  // set meanwhile: its waiters were woken and the entry erased
    auto& ids = w->second;
    ids.erase(std::remove(ids.begin(), ids.end(), c.id), ids.end());
    if (ids.empty()) waiters.erase(w);
  }
  c.wait_keys.clear();
  c.waiting = false;
}

// Answers a GET or WAIT: status 0 when every key is set, else kTimedOut or kStopped.
void KvStoreServer::Impl::finish_wait(Conn& c, unsigned char status) {
  unregister_wait(c);
  std::vector<char> head;
  std::shared_ptr<const std::vector<char>> value;
  if (c.op == kv::kGet) {
    const auto it = values.find(c.keys[0]);
    if (it == values.end()) {
      head.push_back(static_cast<char>(status));
    } else {
      head.push_back(0);
      kv::put_u64(head, it->second->size());
      value = it->second;
    }
  } else {
    // WAIT answers with the indices of the keys still missing, so the client can name them.
    std::vector<uint32_t> missing;
    for (uint32_t i = 0; i < c.keys.size(); ++i) {
      if (values.count(c.keys[i]) == 0) missing.push_back(i);
    }
    head.push_back(static_cast<char>(missing.empty() ? 0 : status));
    kv::put_u32(head, static_cast<uint32_t>(missing.size()));
    for (uint32_t i : missing) kv::put_u32(head, i);
  }
  release(c);
  c.keys.clear();
  answer(c, std::move(head), std::move(value));
}

}  // namespace keel::distribute
