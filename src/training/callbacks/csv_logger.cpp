// CSVLogger (keras/src/callbacks/csv_logger.py, keras-reference §9.6). Keras streams rows into an open
// file; here every epoch end rewrites the whole file through "<filename>.tmp" (write, fsync, rename,
// fsync the directory), so a crash never leaves a truncated or half-written log behind.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "keel/core/error.h"
#include "keel/training/callbacks.h"
#include "training/callbacks/python_float.h"

namespace keel::callbacks {

namespace {

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  KEEL_CHECK(in, Error, "CSVLogger: cannot open ", path, " for reading: ", std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  KEEL_CHECK(!in.bad(), Error, "CSVLogger: reading ", path, " failed");
  return content.str();
}

void write_all(int fd, const std::string& data, const std::string& tmp, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      std::filesystem::remove(tmp);
      throw Error(keel::detail::cat("CSVLogger: writing ", tmp, " (for ", path, ") failed: ", reason));
    }
    done += static_cast<size_t>(n);
  }
}

/// Writes `data` to "<path>.tmp", syncs it, renames it over `path` and syncs the directory entry.
void replace_file(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  KEEL_CHECK(fd >= 0, Error, "CSVLogger: cannot create ", tmp, " (to write ", path, "): ", std::strerror(errno));
  write_all(fd, data, tmp, path);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string reason = std::strerror(errno);
    std::filesystem::remove(tmp);
    throw Error(keel::detail::cat("CSVLogger: writing ", tmp, " (for ", path, ") failed: ", reason));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::filesystem::remove(tmp);
    throw Error(keel::detail::cat("CSVLogger: cannot rename ", tmp, " to ", path, ": ", reason));
  }
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = std::filesystem::path(".");
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {  // best effort: the data itself is already synced
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

void CSVLogger::on_train_begin(Logs&) {
  content_.clear();
  if (options_.append && std::filesystem::exists(filename_)) content_ = read_whole_file(filename_);
  // Keras writes the header unless it appends to a file whose first line is non-empty.
  append_header_ = content_.empty();
  keys_.clear();
  keys_set_ = false;
  write_file();  // as Keras's open(): creates (or truncates) the file now, and fails early if it cannot
}

void CSVLogger::on_epoch_end(int epoch, Logs& logs) {
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
      content_ += format_row(header);
      append_header_ = false;
    }
  }
  std::vector<std::string> row{std::to_string(epoch)};
  for (const auto& key : keys_) {
    auto it = logs.find(key);
    row.push_back(it == logs.end() ? "NA" : detail::python_float_repr(it->second));
  }
  content_ += format_row(row);
  write_file();
}

void CSVLogger::on_train_end(Logs&) {
  keys_.clear();
  keys_set_ = false;
}

void CSVLogger::write_file() const { replace_file(filename_, content_); }

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
