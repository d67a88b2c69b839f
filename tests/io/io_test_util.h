// What the io tests share: a scratch directory per test, whole-file reads and writes, the Python side
// (Debian's /usr/bin/python3 with h5py and NumPy — not the first python3 on PATH, which may lack them), a
// fixture for tests that use it, and tensor comparisons (bitwise, or within a tolerance of a NumPy value).
#pragma once
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/tensor_internals.h"
#include "keel/core/naming.h"
#include "keel/keel.h"

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

/// Tests that use the Python side: it must be able to run; layer names start afresh; a scratch directory.
class PythonSideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(python_has_h5py_and_numpy())
        << kPython << " cannot import h5py and numpy: install python3-h5py python3-numpy (scripts/install-deps)";
    naming::reset_names();
  }
  /// An array the Python side wrote into the scratch directory.
  Tensor npy(const std::string& name) const { return data::read_npy(dir.file(name)); }
  TempDir dir;
};

inline Tensor seeded(Shape shape, uint64_t seed) { return random::normal(std::move(shape), 0.0, 1.0, DType::f32, seed); }

inline bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  Tensor ha = keel::detail::contiguous_cpu(a.detach()), hb = keel::detail::contiguous_cpu(b.detach());
  return std::memcmp(ha.data_ptr(), hb.data_ptr(), static_cast<size_t>(a.numel()) * dtype_size(a.dtype())) == 0;
}

inline void expect_bitwise(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  ASSERT_EQ(a.dtype(), b.dtype()) << what;
  EXPECT_TRUE(bitwise_equal(a, b)) << what << " differs";
}

/// |got - want| <= tol * (1 + |want|) elementwise, compared in double.
inline void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const auto g = got.astype(DType::f64).to_vector<double>(), w = want.astype(DType::f64).to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], w[i], tol * (1.0 + std::abs(w[i]))) << what << " element " << i;
}

inline void expect_same_weights(const Model& a, const Model& b, const std::string& what) {
  const auto wa = a.get_weights(), wb = b.get_weights();
  ASSERT_EQ(wa.size(), wb.size()) << what;
  for (size_t i = 0; i < wa.size(); ++i) expect_bitwise(wa[i], wb[i], what + ": weight " + std::to_string(i));
}

}  // namespace keel
