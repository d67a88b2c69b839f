// Byte-level builders for hostile-input tests: files whose headers claim what their data is not, made by
// hand because no well-behaved writer (NumPy, zlib, libzip) would write them. Formats: RFC 1952 (gzip)
// around RFC 1951 stored blocks, and PKWARE's APPNOTE 6.3 (zip, zip64 extra field).
#pragma once
#include <sys/resource.h>

#include <cstdint>
#include <string>
#include <vector>

namespace keel::testing {

inline uint32_t crc32_of(const std::vector<uint8_t>& data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (uint8_t b : data) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline void put_le(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

inline std::vector<uint8_t> be32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
          static_cast<uint8_t>(v)};
}

/// Raw deflate of `data` as one stored block (data must be under 64 KiB).
inline std::vector<uint8_t> deflate_stored(const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out{0x01};  // BFINAL = 1, BTYPE = 00 (stored)
  put_le(out, data.size(), 2);
  put_le(out, ~data.size() & 0xFFFF, 2);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

/// A valid gzip file holding `data`.
inline std::vector<uint8_t> gzip_stored(const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
  const std::vector<uint8_t> body = deflate_stored(data);
  out.insert(out.end(), body.begin(), body.end());
  put_le(out, crc32_of(data), 4);
  put_le(out, data.size(), 4);
  return out;
}

/// A zip archive of one deflated member `name` whose data is `data` but whose headers (local and central,
/// consistent with each other) claim `claimed_size` uncompressed bytes; a zip64 extra field carries sizes
/// of 4 GiB and above.
inline std::vector<uint8_t> zip_claiming(const std::string& name, const std::vector<uint8_t>& data,
                                         uint64_t claimed_size) {
  const std::vector<uint8_t> body = deflate_stored(data);
  const bool zip64 = claimed_size >= 0xFFFFFFFFu;
  std::vector<uint8_t> extra;
  if (zip64) {
    put_le(extra, 0x0001, 2);
    put_le(extra, 16, 2);
    put_le(extra, claimed_size, 8);
    put_le(extra, body.size(), 8);
  }
  auto sizes_and_name = [&](std::vector<uint8_t>& out) {
    put_le(out, crc32_of(data), 4);
    put_le(out, zip64 ? 0xFFFFFFFFu : body.size(), 4);
    put_le(out, zip64 ? 0xFFFFFFFFu : claimed_size, 4);
    put_le(out, name.size(), 2);
    put_le(out, extra.size(), 2);
  };
  std::vector<uint8_t> out;
  put_le(out, 0x04034b50, 4);  // local file header
  put_le(out, zip64 ? 45 : 20, 2);
  put_le(out, 0, 2);  // flags
  put_le(out, 8, 2);  // deflate
  put_le(out, 0, 4);  // time, date
  sizes_and_name(out);
  out.insert(out.end(), name.begin(), name.end());
  out.insert(out.end(), extra.begin(), extra.end());
  out.insert(out.end(), body.begin(), body.end());
  const size_t central_at = out.size();
  put_le(out, 0x02014b50, 4);  // central directory header
  put_le(out, zip64 ? 45 : 20, 2);
  put_le(out, zip64 ? 45 : 20, 2);
  put_le(out, 0, 2);
  put_le(out, 8, 2);
  put_le(out, 0, 4);
  sizes_and_name(out);
  put_le(out, 0, 2);  // comment length
  put_le(out, 0, 2);  // disk
  put_le(out, 0, 2);  // internal attributes
  put_le(out, 0, 4);  // external attributes
  put_le(out, 0, 4);  // local header offset
  out.insert(out.end(), name.begin(), name.end());
  out.insert(out.end(), extra.begin(), extra.end());
  const size_t central_size = out.size() - central_at;
  put_le(out, 0x06054b50, 4);  // end of central directory
  put_le(out, 0, 4);
  put_le(out, 1, 2);
  put_le(out, 1, 2);
  put_le(out, central_size, 4);
  put_le(out, central_at, 4);
  put_le(out, 0, 2);
  return out;
}

/// The most memory this process has held, in bytes (Linux reports ru_maxrss in KiB).
inline int64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

}  // namespace keel::testing
