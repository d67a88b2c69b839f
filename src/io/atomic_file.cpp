#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "keel/core/error.h"

namespace keel::saving::detail {

namespace {

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

[[noreturn]] void os_failure(const std::string& what, const std::string& path, int err) {
  const std::string message = "Could not write '" + path + "': " + what + ": " + std::strerror(err);
  if (err == ENOENT || err == ENOTDIR) throw NotFoundError(message);
  throw Error(message);
}

// Closes a descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

int fsync_retrying(int fd) {
  int rc;
  do rc = ::fsync(fd);
  while (rc != 0 && errno == EINTR);
  return rc;
}

// "<dir>/.<name>.tmp-<pid>-<random>": hidden, beside the target (same file system, so rename is atomic).
std::string temp_name(const std::string& target) {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  const uint64_t salt = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ counter.fetch_add(1);
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), "%08llx", static_cast<unsigned long long>(salt & 0xffffffffffULL));
  const size_t slash = target.find_last_of('/');
  const std::string dir_prefix = slash == std::string::npos ? std::string() : target.substr(0, slash + 1);
  return dir_prefix + "." + base_name_of(target) + ".tmp-" + std::to_string(::getpid()) + "-" + suffix;
}

}  // namespace

void write_file(const std::string& path, const std::string& bytes, const std::string& display_path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  if (fd.get() < 0) os_failure("cannot open '" + path + "' for writing", display_path, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) os_failure("cannot write its " + std::to_string(bytes.size()) + " bytes", display_path, n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  if (fd.close() != 0) os_failure("cannot close the written file", display_path, errno);
}

void write_atomically(const std::string& target, const std::function<void(const std::string& temp_path)>& write) {
  KEEL_CHECK(!target.empty() && target.back() != '/', ValueError, "Invalid file path '", target,
             "': it names a directory, not a file");
  struct stat old {};
  const bool had_target = ::stat(target.c_str(), &old) == 0;
  if (had_target && S_ISDIR(old.st_mode))
    throw ValueError("Invalid file path '" + target + "': it is a directory, not a file");

  // Reserve the temporary name (O_EXCL: never another writer's file).
  std::string temp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    temp = temp_name(target);
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) os_failure("cannot create a temporary file in '" + directory_of(target) + "'",
                                              target, errno);
  }
  if (fd < 0) os_failure("cannot create a temporary file", target, EEXIST);
  bool committed = false;
  try {
    {
      Fd reserved(fd);
      if (had_target && ::fchmod(reserved.get(), old.st_mode & 07777) != 0)
        os_failure("cannot set the permissions of the temporary file", target, errno);
    }
    write(temp);
    // The writer has closed the file; flush its data to disk before it can replace the target.
    Fd written(::open(temp.c_str(), O_RDONLY | O_CLOEXEC));
    if (written.get() < 0) os_failure("cannot reopen the temporary file '" + temp + "'", target, errno);
    if (fsync_retrying(written.get()) != 0) os_failure("cannot flush the temporary file to disk", target, errno);
    if (written.close() != 0) os_failure("cannot close the temporary file", target, errno);
    if (::rename(temp.c_str(), target.c_str()) != 0) os_failure("cannot rename the temporary file over it", target, errno);
    committed = true;
    // Make the rename durable. The new file is complete either way; a failure here only means the old
    // name may come back after a crash, so it is reported like any other failed write.
    Fd dir(::open(directory_of(target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) os_failure("cannot open its directory to flush the rename", target, errno);
    if (fsync_retrying(dir.get()) != 0 && errno != EINVAL) os_failure("cannot flush its directory", target, errno);
  } catch (...) {
    if (!committed) ::unlink(temp.c_str());
    throw;
  }
}

}  // namespace keel::saving::detail
