// Memory and gzip byte sources (zlib inflate, several gzip members allowed, CRC and length checked by
// zlib), and whole-file reading and atomic writing.
#include "data/byte_source.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "keel/core/error.h"

namespace keel::data::detail {
namespace {

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  size_t read(void* dst, size_t n) override {
    const size_t take = std::min(n, bytes_.size() - static_cast<size_t>(position_));
    if (take) std::memcpy(dst, bytes_.data() + position_, take);
    position_ += static_cast<int64_t>(take);
    return take;
  }
  uint64_t max_remaining() const override { return bytes_.size() - static_cast<size_t>(position_); }

 private:
  std::span<const uint8_t> bytes_;
};

class GzipSource : public ByteSource {
 public:
  explicit GzipSource(std::span<const uint8_t> bytes) : bytes_(bytes) {
    stream_.next_in = const_cast<Bytef*>(bytes.data());  // zlib's API is not const-correct; it only reads
    stream_.avail_in = static_cast<uInt>(std::min<size_t>(bytes.size(), UINT_MAX));
    // 16 + 15: gzip framing with the largest window.
    KEEL_CHECK(inflateInit2(&stream_, 16 + MAX_WBITS) == Z_OK, Error, "zlib inflateInit2 failed");
  }
  ~GzipSource() override { inflateEnd(&stream_); }

  size_t read(void* dst, size_t n) override {
    auto* out = static_cast<uint8_t*>(dst);
    size_t produced = 0;
    while (produced < n && !ended_) {
      refill_input();
      const size_t want = std::min<size_t>(n - produced, UINT_MAX);
      stream_.next_out = out + produced;
      stream_.avail_out = static_cast<uInt>(want);
      const int rc = inflate(&stream_, Z_NO_FLUSH);
      produced += want - stream_.avail_out;
      if (rc == Z_STREAM_END) {
        start_next_member();
      } else if (rc == Z_BUF_ERROR) {  // no progress possible: the input ran out inside a member
        throw ValueError(keel::detail::cat("truncated gzip data: the compressed input ends at byte ", bytes_.size(),
                                           " before the end of the gzip stream"));
      } else if (rc != Z_OK) {
        throw ValueError(keel::detail::cat("bad gzip data at or before compressed byte ", consumed(), ": ",
                                           stream_.msg ? stream_.msg : zError(rc)));
      }
    }
    position_ += static_cast<int64_t>(produced);
    return produced;
  }

  // Deflate expands at most 1032:1 (RFC 1951 stored/fixed blocks; zlib's tech notes); what inflate holds
  // in its window may come out without more input.
  uint64_t max_remaining() const override {
    constexpr uint64_t kMaxRatio = 1032, kWindow = uint64_t{1} << MAX_WBITS;
    return ended_ ? 0 : (bytes_.size() - consumed()) * kMaxRatio + kWindow;
  }

 private:
  size_t consumed() const { return static_cast<size_t>(stream_.next_in - bytes_.data()); }

  // avail_in is 32-bit; feed files over 4 GiB in slices.
  void refill_input() {
    if (stream_.avail_in == 0)
      stream_.avail_in = static_cast<uInt>(std::min<size_t>(bytes_.size() - consumed(), UINT_MAX));
  }

  // A gzip file may hold several members back to back (as `cat a.gz b.gz` makes); anything else after
  // a member is an error.
  void start_next_member() {
    const size_t at = consumed();
    if (at == bytes_.size()) {
      ended_ = true;
      return;
    }
    KEEL_CHECK(is_gzip(bytes_.subspan(at)), ValueError, "unexpected bytes after the gzip stream at compressed byte ",
               at, " (", bytes_.size() - at, " trailing bytes)");
    inflateReset(&stream_);
  }

  std::span<const uint8_t> bytes_;
  z_stream stream_{};
  bool ended_ = false;
};

}  // namespace

bool is_gzip(std::span<const uint8_t> bytes) { return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b; }

std::unique_ptr<ByteSource> open_byte_source(std::span<const uint8_t> bytes) {
  if (is_gzip(bytes)) return std::make_unique<GzipSource>(bytes);
  return std::make_unique<MemorySource>(bytes);
}

std::vector<uint8_t> read_file_bytes(const std::string& path, const std::string& who) {
  std::error_code ec;
  KEEL_CHECK(std::filesystem::is_regular_file(path, ec), NotFoundError, who, ": no such file: ", path);
  std::ifstream in(path, std::ios::binary);
  KEEL_CHECK(in, Error, who, ": cannot open ", path, ": ", std::strerror(errno));
  in.seekg(0, std::ios::end);
  std::vector<uint8_t> bytes(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  KEEL_CHECK(in.gcount() == static_cast<std::streamsize>(bytes.size()), Error, who, ": reading ", path,
             " failed after ", in.gcount(), " of ", bytes.size(), " bytes");
  return bytes;
}

void write_file_atomic(const std::string& path, std::span<const uint8_t> bytes, const std::string& who) {
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = keel::detail::cat(path, ".", ::getpid(), ".", counter++, ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    KEEL_CHECK(out, Error, who, ": cannot create ", tmp, " (to write ", path, "): ", std::strerror(errno));
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::filesystem::remove(tmp);
      throw Error(keel::detail::cat(who, ": writing ", tmp, " (for ", path, ") failed"));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw Error(keel::detail::cat(who, ": cannot rename ", tmp, " to ", path, ": ", ec.message()));
  }
}

}  // namespace keel::data::detail
