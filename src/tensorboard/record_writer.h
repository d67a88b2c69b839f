// TFRecord framing, the container of TensorBoard's event files: each record is
//   uint64 length | uint32 masked_crc32c(length) | data[length] | uint32 masked_crc32c(data)
// with the integers little-endian. A reader checks both CRCs, so a record cut short by a killed run is
// detected and dropped rather than misread; every record before it stays readable.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace keel::tensorboard {

/// CRC-32C (Castagnoli) of `data`.
uint32_t crc32c(std::string_view data);
/// TFRecord's mask over a CRC, so that a CRC of data holding CRCs is not itself easy to confuse with one:
/// rotate right by 15 bits, add 0xa282ead8.
uint32_t masked_crc32c(std::string_view data);
/// The framed bytes of one record holding `data`.
std::string frame_record(std::string_view data);

/// Appends records to a new file; keel::Error naming the path and the OS's reason when it cannot.
class RecordWriter {
 public:
  /// Creates `path` (exclusively: an existing file is never overwritten).
  explicit RecordWriter(std::string path);
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  void write(std::string_view data);
  /// Hands the written records to the OS, so a reader (TensorBoard) sees them and a killed process keeps them.
  void flush();
  void close();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace keel::tensorboard
