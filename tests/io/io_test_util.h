// What the io tests share: a scratch directory per test, whole-file reads and writes, and the Python side
// (Debian's /usr/bin/python3 with h5py and NumPy — not the first python3 on PATH, which may lack them).
#pragma once
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace keel {

inline const std::string kPython = "/usr/bin/python3";

/// A path as one shell word (the test paths hold no quote characters).
inline std::string quote(const std::string& s) { return "'" + s + "'"; }

/// Runs `/usr/bin/python3 tests/io/<script> <args>`; its exit status (0: success, -1: killed).
inline int run_python(const std::string& script, const std::string& args) {
  const std::string cmd = kPython + " " + quote(std::string(KEEL_TEST_DATA_DIR) + "/io/" + script) + " " + args;
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/// Whether the Python side can run ("import h5py, numpy" succeeds).
inline bool python_has_h5py_and_numpy() {
  return std::system((kPython + " -c 'import h5py, numpy, zipfile' 2>/dev/null").c_str()) == 0;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// A fresh directory under the system's temp directory, removed with everything in it afterwards.

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "keel_io_test_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }
  const std::filesystem::path& path() const { return path_; }
  /// The names directly inside, sorted.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace keel
