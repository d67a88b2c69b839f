#include "distribute/kv_protocol.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>

namespace keel::distribute::kv {

namespace {

// Which side a proof is from, bound into the MAC with the protocol version.
constexpr char kClientContext[] = "keel rendezvous store v2: client proof";
constexpr char kServerContext[] = "keel rendezvous store v2: server proof";

std::optional<Mac> proof(const std::string& secret, const char* context, const Nonce& server_nonce,
                         const Nonce& client_nonce) {
  const size_t context_bytes = std::strlen(context);
  unsigned char message[sizeof(kClientContext) + 2 * kNonceBytes];
  static_assert(sizeof(kClientContext) == sizeof(kServerContext));
  std::memcpy(message, context, context_bytes);
  std::memcpy(message + context_bytes, server_nonce.data(), kNonceBytes);
  std::memcpy(message + context_bytes + kNonceBytes, client_nonce.data(), kNonceBytes);
  Mac mac{};
  unsigned int mac_bytes = 0;
  // An empty secret is an empty key, never a null one (which HMAC may read as "reuse the previous key").
  static const unsigned char kEmpty = 0;
  const void* key = secret.empty() ? static_cast<const void*>(&kEmpty) : secret.data();
  if (HMAC(EVP_sha256(), key, static_cast<int>(secret.size()), message, context_bytes + 2 * kNonceBytes, mac.data(),
           &mac_bytes) == nullptr ||
      mac_bytes != kMacBytes) {
    return std::nullopt;
  }
  return mac;
}

}  // namespace

bool random_nonce(Nonce& nonce) { return RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) == 1; }

std::optional<Mac> client_proof(const std::string& secret, const Nonce& server_nonce, const Nonce& client_nonce) {
  return proof(secret, kClientContext, server_nonce, client_nonce);
}

std::optional<Mac> server_proof(const std::string& secret, const Nonce& server_nonce, const Nonce& client_nonce) {
  return proof(secret, kServerContext, server_nonce, client_nonce);
}

bool macs_equal(const Mac& a, const Mac& b) { return CRYPTO_memcmp(a.data(), b.data(), kMacBytes) == 0; }

}  // namespace keel::distribute::kv
