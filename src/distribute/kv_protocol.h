// The rendezvous store's wire protocol, shared by its server and its clients.
//
// Greeting (mutual challenge-response over the job secret; the secret itself never crosses the wire):
//   server -> client  kMagic, server nonce (32 random bytes)
//   client -> server  kMagic, client nonce, HMAC-SHA256(secret, kClientContext || server nonce || client nonce)
//   server -> client  kAccepted, HMAC-SHA256(secret, kServerContext || server nonce || client nonce)
//                     or kRefused, and the server closes the connection.
// The server reads no request before the client's proof checks out, and proves itself only to a client that
// proved itself first, so a stranger's client gets no MAC to guess the secret from (a stranger's server does
// get a client's proof: hence secrets of 16 characters at least, and 32 random bytes from keel-launch). The
// two context strings differ, so one side's proof cannot be replayed as the other's. Without a secret (loopback
// only) the key is empty: the greeting still runs, but anyone who can reach the port can answer it.
//
// Requests: op, key count (u32), keys (u32 length + bytes); SET adds the value (u64 length + bytes), GET and
// WAIT the server-side wait in ms (u64). Integers are little-endian, so hosts of either byte order agree.
// One request at a time: a client sends the next only once it has read the answer to the last (the server
// drops one that does not, so it never buffers requests).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace keel::distribute::kv {

enum Op : unsigned char { kSet = 'S', kGet = 'G', kWait = 'W', kCheck = 'C' };
// Status of a GET or WAIT answer: 0 when every key is set, else why not.
enum Status : unsigned char { kTimedOut = 1, kStopped = 2 };
// The greeting's verdict.
enum Verdict : unsigned char { kAccepted = 0, kRefused = 1 };

// "KEELKV" and the protocol version: a peer of another version is named as such rather than as a stranger.
constexpr std::array<char, 8> kMagic = {'K', 'E', 'E', 'L', 'K', 'V', '2', '\n'};
constexpr size_t kMagicVersionByte = 6;
constexpr size_t kNonceBytes = 32;
constexpr size_t kMacBytes = 32;  // SHA-256
using Nonce = std::array<unsigned char, kNonceBytes>;
using Mac = std::array<unsigned char, kMacBytes>;
constexpr size_t kServerHelloBytes = kMagic.size() + kNonceBytes;
constexpr size_t kClientHelloBytes = kMagic.size() + kNonceBytes + kMacBytes;

// Protocol bounds, checked by both sides before anything is allocated. Gloo's values are its pair addresses
// (about 140 bytes per peer), a GPU engine's unique id 128 bytes: 64 MiB leaves room for a world of 400,000.
constexpr uint32_t kMaxKeys = 1 << 16;
constexpr uint32_t kMaxKeyBytes = 4096;
constexpr uint64_t kMaxValueBytes = uint64_t{64} << 20;

/// Fills `nonce` from OpenSSL's CSPRNG; false when it has no entropy (never a predictable nonce).
bool random_nonce(Nonce& nonce);
/// The client's and the server's proofs of knowing `secret` for this pair of nonces; nullopt when libcrypto
/// fails (callers refuse the peer then: a failed MAC must never match another failed MAC).
std::optional<Mac> client_proof(const std::string& secret, const Nonce& server_nonce, const Nonce& client_nonce);
std::optional<Mac> server_proof(const std::string& secret, const Nonce& server_nonce, const Nonce& client_nonce);
/// Compares in constant time (CRYPTO_memcmp), so the time taken says nothing about where they differ.
bool macs_equal(const Mac& a, const Mac& b);

// Little-endian fixed-width integers.
inline void put_u32(std::vector<char>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void put_u64(std::vector<char>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline uint64_t get_le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

}  // namespace keel::distribute::kv
