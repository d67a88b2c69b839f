// MD5 (RFC 1321), only to check that bundled dataset files are the published ones. Not for security.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace keel::data::detail {

class Md5 {
 public:
  Md5();
  void update(const void* data, size_t n);
  /// The digest as 32 lowercase hex digits; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  void transform(const uint8_t block[64]);
  uint32_t state_[4];
  uint64_t length_ = 0;  // bytes hashed so far
  uint8_t buffer_[64];
};

/// MD5 of a byte range as 32 lowercase hex digits.
std::string md5_hex(const void* data, size_t n);

}  // namespace keel::data::detail
