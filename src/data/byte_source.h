// Sequential byte sources over an in-memory file: the bytes as they are, or inflated from gzip. Readers
// (IDX) parse from either the same way. Errors are ValueErrors that give compressed byte offsets; the
// caller prefixes the file name.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <span>
#include <string>
#include <vector>

#include "keel/core/error.h"

namespace keel::data::detail {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Copies up to n bytes to dst; returns fewer only at the end of the data.
  virtual size_t read(void* dst, size_t n) = 0;
  /// Bytes delivered so far (offset in the uncompressed data).
  int64_t position() const { return position_; }
  /// An upper bound on the bytes still to come: exact for plain bytes, and for gzip what the remaining
  /// compressed input could inflate to at deflate's best ratio. Readers check a size that a header claims
  /// against it before allocating, so a small file cannot make them allocate gigabytes.
  virtual uint64_t max_remaining() const = 0;

 protected:
  int64_t position_ = 0;
};

/// Gzip-compressed input (1f 8b) is inflated, anything else is read as is. `bytes` must outlive the source.
std::unique_ptr<ByteSource> open_byte_source(std::span<const uint8_t> bytes);
bool is_gzip(std::span<const uint8_t> bytes);

/// Runs `read` (a reader's body); turns the standard library's allocation failures (a claim too large for
/// memory, a length beyond what a container can hold) into ResourceExhaustedError naming `who` and `path`,
/// so that programs that catch keel::Error see them.
template <class Read>
auto translate_allocation_failures(const std::string& who, const std::string& path, Read&& read) {
  try {
    return read();
  } catch (const std::bad_alloc&) {
    throw ResourceExhaustedError(keel::detail::cat(who, ": ", path, ": out of memory while reading the file"));
  } catch (const std::length_error& e) {
    throw ResourceExhaustedError(keel::detail::cat(who, ": ", path, ": the file's data is too large to hold (",
                                                   e.what(), ")"));
  }
}

/// The whole file; NotFoundError "<who>: no such file: <path>" when it is missing, Error when unreadable.
std::vector<uint8_t> read_file_bytes(const std::string& path, const std::string& who);
/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`, so readers never see
/// half a file. Throws Error naming the path when the directory is not writable.
void write_file_atomic(const std::string& path, std::span<const uint8_t> bytes, const std::string& who);

}  // namespace keel::data::detail
