#include "tensorboard/record_writer.h"

#include <cerrno>
#include <cstring>

#include <boost/crc.hpp>

#include "keel/core/error.h"

namespace keel::tensorboard {
namespace {

// CRC-32C: polynomial 0x1EDC6F41, reflected input and output, initial value and final XOR all ones.
using Crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

void append_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::string os_reason() { return std::strerror(errno); }

}  // namespace

uint32_t crc32c(std::string_view data) {
  Crc32c crc;
  crc.process_bytes(data.data(), data.size());
  return crc.checksum();
}

uint32_t masked_crc32c(std::string_view data) {
  const uint32_t crc = crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string frame_record(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  append_le(out, data.size(), 8);
  append_le(out, masked_crc32c(out), 4);
  out.append(data);
  append_le(out, masked_crc32c(data), 4);
  return out;
}

RecordWriter::RecordWriter(std::string path) : path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "wbx");
  if (file_ == nullptr) throw Error("Cannot create the event file " + path_ + ": " + os_reason());
}

RecordWriter::~RecordWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void RecordWriter::write(std::string_view data) {
  KEEL_CHECK(file_ != nullptr, ValueError, "The event file ", path_, " is closed");
  const std::string record = frame_record(data);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size())
    throw Error("Cannot write to the event file " + path_ + ": " + os_reason());
}

void RecordWriter::flush() {
  if (file_ != nullptr && std::fflush(file_) != 0)
    throw Error("Cannot write to the event file " + path_ + ": " + os_reason());
}

void RecordWriter::close() {
  if (file_ == nullptr) return;
  std::FILE* file = file_;
  file_ = nullptr;
  if (std::fclose(file) != 0) throw Error("Cannot write to the event file " + path_ + ": " + os_reason());
}

}  // namespace keel::tensorboard
