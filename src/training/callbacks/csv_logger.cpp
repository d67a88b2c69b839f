// CSVLogger (keras/src/callbacks/csv_logger.py, keras-reference §9.6). As Keras, the file is opened at
// train begin and each epoch's row is appended; each row is one write() followed by fdatasync, so a kill
// loses at most the epoch in progress and leaves no temporary file, and an epoch's cost does not grow
// with the file (an earlier version rewrote the whole file through a .tmp every epoch).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "keel/core/error.h"
#include "keel/training/callbacks.h"
#include "training/callbacks/python_float.h"

namespace keel::callbacks {

namespace {

/// Syncs the directory holding `path`, so that a file just created is still there after a crash.
void sync_parent_directory(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = std::filesystem::path(".");
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {  // best effort: a directory that cannot be opened still holds the file
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace

CSVLogger::CSVLogger(std::string filename, CSVLoggerOptions options)
    : filename_(std::move(filename)), options_(std::move(options)) {
  KEEL_CHECK(!filename_.empty(), ValueError, "CSVLogger: filename must not be empty");
  // Python's csv module takes a one-character delimiter only.
  KEEL_CHECK(options_.separator.size() == 1, ValueError,
             "CSVLogger: separator must be a 1-character string, received \"", options_.separator, "\"");
}

CSVLogger::CSVLogger(const CSVLogger& other)
    : Callback(other), filename_(other.filename_), options_(other.options_) {}

CSVLogger::~CSVLogger() { close_file(); }

void CSVLogger::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void CSVLogger::on_train_begin(Logs&) {
  close_file();
  keys_.clear();
  keys_set_ = false;
  // As Keras's open(filename, "a" if append else "w"): created (or truncated) now, so it fails early.
  const int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (options_.append ? 0 : O_TRUNC);
  fd_ = ::open(filename_.c_str(), flags, 0644);
  KEEL_CHECK(fd_ >= 0, Error, "CSVLogger: cannot open ", filename_, " for writing: ", std::strerror(errno));
  struct stat st {};
  KEEL_CHECK(::fstat(fd_, &st) == 0, Error, "CSVLogger: cannot stat ", filename_, ": ", std::strerror(errno));
  // Keras writes the header unless it appends to a file whose first line is non-empty, i.e. a non-empty file.
  append_header_ = st.st_size == 0;
  end_last_line_ = false;
  if (st.st_size > 0) {
    const int reader = ::open(filename_.c_str(), O_RDONLY | O_CLOEXEC);
    char last = '\n';
    if (reader >= 0) {
      if (::pread(reader, &last, 1, st.st_size - 1) != 1) last = '\n';
      ::close(reader);
    }
    end_last_line_ = last != '\n';
  }
  sync_parent_directory(filename_);
}

void CSVLogger::on_epoch_end(int epoch, Logs& logs) {
  KEEL_CHECK(fd_ >= 0, RuntimeError, "CSVLogger: on_epoch_end before on_train_begin (", filename_, " is not open)");
  std::string pending;
  if (end_last_line_) pending = "\r\n";
  end_last_line_ = false;
  if (!keys_set_) {
    keys_set_ = true;
    for (const auto& [key, value] : logs) keys_.push_back(key);  // std::map: already sorted
    bool has_val = false;
    for (const auto& key : keys_) has_val = has_val || key.rfind("val_", 0) == 0;
    // With validation_freq > 1 the first epoch has no val_ keys; give them columns from the start.
    if (!has_val) {
      const size_t n = keys_.size();
      for (size_t i = 0; i < n; ++i) keys_.push_back("val_" + keys_[i]);
    }
    if (append_header_) {
      std::vector<std::string> header{"epoch"};
      header.insert(header.end(), keys_.begin(), keys_.end());
      pending += format_row(header);
      append_header_ = false;
    }
  }
  std::vector<std::string> row{std::to_string(epoch)};
  for (const auto& key : keys_) {
    auto it = logs.find(key);
    row.push_back(it == logs.end() ? "NA" : detail::python_float_repr(it->second));
  }
  pending += format_row(row);
  append_text(pending);
}

void CSVLogger::append_text(const std::string& text) {
  const off_t before = ::lseek(fd_, 0, SEEK_END);
  size_t done = 0;
  int error = 0;
  while (done < text.size() && error == 0) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno != EINTR) error = errno;
    if (n > 0) done += static_cast<size_t>(n);
  }
  if (error == 0 && ::fdatasync(fd_) != 0) error = errno;
  if (error != 0) {
    if (before >= 0 && ::ftruncate(fd_, before) == 0) ::fdatasync(fd_);  // no half row stays behind
    throw Error(keel::detail::cat("CSVLogger: writing ", filename_, " failed: ", std::strerror(error)));
  }
}

void CSVLogger::on_train_end(Logs&) {
  keys_.clear();
  keys_set_ = false;
  close_file();
}

std::string CSVLogger::format_row(const std::vector<std::string>& fields) const {
  // csv.excel: quote a field only when it holds the delimiter, a quote or a line break; "\r\n" ends rows.
  const char sep = options_.separator[0];
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += sep;
    const std::string& f = fields[i];
    if (f.find_first_of(std::string{sep, '"', '\r', '\n'}) == std::string::npos) {
      line += f;
      continue;
    }
    line += '"';
    for (char c : f) line += c == '"' ? std::string("\"\"") : std::string(1, c);
    line += '"';
  }
  return line + "\r\n";
}

}  // namespace keel::callbacks
