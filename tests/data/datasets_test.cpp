// keras.datasets-style loaders on the bundled files, the KEEL_DATA_DIR override, and the errors for
// missing and damaged files. Expected values come from an independent reader:
//   /usr/bin/python3 -c "import gzip, numpy as np
//   for ds in ['mnist', 'fashion-mnist']:
//     for split in ['train', 't10k']:
//       x = np.frombuffer(gzip.open(f'data/{ds}/{split}-images-idx3-ubyte.gz').read()[16:], np.uint8).reshape(-1, 28,
//       28) y = np.frombuffer(gzip.open(f'data/{ds}/{split}-labels-idx1-ubyte.gz').read()[8:], np.uint8) print(ds,
//       split, y[:10].tolist(), int(y.astype(np.int64).sum()), int(x.astype(np.int64).sum()),
//             x[0, 14, 10:18].tolist(), x[-1, 20, 5:13].tolist())"
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <optional>

#include "hand_made_files.h"
#include "keel/data/datasets.h"
#include "temp_dir.h"
#include "test_util.h"

namespace keel::datasets {
namespace {

namespace fs = std::filesystem;
using keel::testing::expect_error;
using keel::testing::TempDir;

const std::string kBundled = fs::path(KEEL_TEST_DATA_DIR).parent_path().string() + "/data";

// Loading takes about a second per dataset: once per test binary.
const TrainTest& mnist_data() {
  static const TrainTest data = mnist::load_data();
  return data;
}
const TrainTest& fashion_data() {
  static const TrainTest data = fashion_mnist::load_data();
  return data;
}

std::vector<int> ints(const Tensor& t) {
  std::vector<uint8_t> v = t.to_vector<uint8_t>();
  return {v.begin(), v.end()};
}
int64_t total(const Tensor& t) {
  std::vector<uint8_t> v = t.to_vector<uint8_t>();
  return std::accumulate(v.begin(), v.end(), int64_t{0});
}
// The 8 pixels image[i, row, col0:col0+8].
std::vector<int> pixels(const Tensor& x, int64_t i, int64_t row, int64_t col0) {
  const uint8_t* p = x.data<uint8_t>() + ((i < 0 ? x.dim(0) + i : i) * 28 + row) * 28 + col0;
  return {p, p + 8};
}

struct SplitExpect {
  std::vector<int> first_labels;
  int64_t label_sum, pixel_sum;
  std::vector<int> first_row14, last_row20;
};

void check_split(const Split& s, int64_t n, const SplitExpect& e) {
  EXPECT_EQ(s.x.shape(), (Shape{n, 28, 28}));
  EXPECT_EQ(s.y.shape(), (Shape{n}));
  EXPECT_EQ(s.x.dtype(), DType::u8);
  EXPECT_EQ(s.y.dtype(), DType::u8);
  std::vector<int> labels = ints(s.y);
  EXPECT_EQ(std::vector<int>(labels.begin(), labels.begin() + 10), e.first_labels);
  EXPECT_EQ(total(s.y), e.label_sum);
  EXPECT_EQ(total(s.x), e.pixel_sum);
  EXPECT_EQ(pixels(s.x, 0, 14, 10), e.first_row14);
  EXPECT_EQ(pixels(s.x, -1, 20, 5), e.last_row20);
}

TEST(Datasets, MnistMatchesIndependentReader) {
  const auto& [train, test] = mnist_data();
  check_split(train, 60000,
              {{5, 0, 4, 1, 9, 2, 1, 3, 1, 4},
               267236,
               1567298545,
               {0, 0, 0, 81, 240, 253, 253, 119},
               {0, 66, 209, 153, 19, 19, 233, 60}});
  check_split(test, 10000,
              {{7, 2, 1, 0, 4, 1, 4, 9, 5, 9},
               44434,
               264923200,
               {0, 0, 0, 0, 0, 0, 59, 249},
               {0, 3, 166, 253, 253, 253, 253, 253}});
}

TEST(Datasets, FashionMnistMatchesIndependentReader) {
  const auto& [train, test] = fashion_data();
  check_split(train, 60000,
              {{9, 0, 0, 3, 0, 2, 7, 2, 5, 5},
               270000,
               3431114169,
               {0, 0, 237, 226, 217, 223, 222, 219},
               {0, 0, 0, 0, 0, 0, 0, 0}});
  check_split(test, 10000,
              {{9, 2, 1, 1, 6, 1, 4, 6, 5, 7},
               45000,
               573469082,
               {0, 0, 98, 136, 110, 109, 110, 162},
               {31, 58, 50, 53, 54, 57, 60, 64}});
}

TEST(Datasets, ReadIdxOnBundledLabels) {
  Tensor y = read_idx(kBundled + "/mnist/t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(y.shape(), (Shape{10000}));
  EXPECT_EQ(y.dtype(), DType::u8);
  EXPECT_EQ(ints(y)[0], 7);
  EXPECT_EQ(total(y), 44434);
}

// Sets KEEL_DATA_DIR for one scope.
class ScopedDataDir {
 public:
  explicit ScopedDataDir(const std::string& dir) {
    if (const char* old = std::getenv("KEEL_DATA_DIR")) old_ = old;
    ::setenv("KEEL_DATA_DIR", dir.c_str(), 1);
  }
  ~ScopedDataDir() {
    if (old_)
      ::setenv("KEEL_DATA_DIR", old_->c_str(), 1);
    else
      ::unsetenv("KEEL_DATA_DIR");
  }

 private:
  std::optional<std::string> old_;
};

constexpr const char* kFiles[] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                  "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};

// A data dir whose mnist/ links to the bundled files except `skip`.
void link_mnist_except(const TempDir& dir, const std::string& skip) {
  fs::create_directories(dir.path() / "mnist");
  for (const char* f : kFiles)
    if (f != skip) fs::create_symlink(kBundled + "/mnist/" + f, dir.path() / "mnist" / f);
}

TEST(Datasets, DataDirOverrideIsUsed) {
  TempDir dir;
  link_mnist_except(dir, "");
  ScopedDataDir env(dir.path().string());
  auto [train, test] = mnist::load_data();
  EXPECT_EQ(ints(train.y), ints(mnist_data().train.y));
  EXPECT_EQ(total(test.x), 264923200);
}

TEST(Datasets, MissingFileNamesPathMd5AndSearchOrder) {
  TempDir dir;
  link_mnist_except(dir, "t10k-labels-idx1-ubyte.gz");
  ScopedDataDir env(dir.path().string());
  expect_error<NotFoundError>([] { mnist::load_data(); },
                              {"mnist.load_data", dir.file("mnist/t10k-labels-idx1-ubyte.gz"),
                               "ec29112dd5afa0611ce80d1b7f02629c", "KEEL_DATA_DIR", "installed"});
  // A data dir without the dataset's folder at all.
  TempDir empty;
  ScopedDataDir env2(empty.path().string());
  expect_error<NotFoundError>([] { fashion_mnist::load_data(); },
                              {"fashion_mnist.load_data", empty.file("fashion-mnist/train-labels-idx1-ubyte.gz"),
                               "25c81989df183df01b3e8a0aad5dffbe"});
}

// A data dir with mnist's train labels replaced by `bytes`, the rest linked.
void expect_corrupt_labels(const std::vector<uint8_t>& bytes, std::initializer_list<std::string> parts) {
  TempDir dir;
  link_mnist_except(dir, "train-labels-idx1-ubyte.gz");
  keel::testing::write_bytes(dir.file("mnist/train-labels-idx1-ubyte.gz"), bytes);
  ScopedDataDir env(dir.path().string());
  std::vector<std::string> all{"mnist.load_data", dir.file("mnist/train-labels-idx1-ubyte.gz"),
                               "expected MD5 d53e105ee54ea40749a09fcbcd1e9432"};
  all.insert(all.end(), parts);
  try {
    mnist::load_data();
    ADD_FAILURE() << "no error";
  } catch (const ValueError& e) {
    for (const std::string& p : all)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " lacks " << p;
  }
}

TEST(Datasets, FlippedByteInCompressedDataIsReported) {
  std::vector<uint8_t> bytes = keel::testing::read_bytes(kBundled + "/mnist/train-labels-idx1-ubyte.gz");
  bytes[bytes.size() / 2] ^= 0xFF;
  expect_corrupt_labels(bytes, {"corrupt", "gzip", "compressed byte"});
}

TEST(Datasets, TruncatedFileIsReported) {
  std::vector<uint8_t> bytes = keel::testing::read_bytes(kBundled + "/mnist/train-labels-idx1-ubyte.gz");
  bytes.resize(bytes.size() / 2);
  expect_corrupt_labels(bytes, {"truncated", "compressed input ends at byte " + std::to_string(bytes.size())});
}

// Uncompressed IDX bytes: the reader accepts them too, which lets these tests build files by hand.
std::vector<uint8_t> idx_labels(uint32_t magic, uint32_t count, size_t payload) {
  std::vector<uint8_t> b(8 + payload, 3);
  for (int i = 0; i < 4; ++i) {
    b[i] = static_cast<uint8_t>(magic >> (24 - 8 * i));
    b[4 + i] = static_cast<uint8_t>(count >> (24 - 8 * i));
  }
  return b;
}

TEST(Datasets, BadMagicDimsAndContentAreReported) {
  expect_corrupt_labels(idx_labels(0x00000F01, 60000, 60000), {"bad IDX magic number 0xf01 at byte 0"});
  expect_corrupt_labels(idx_labels(0x00000801, 5, 5), {"expected uint8 IDX data of shape (60000,)", "shape (5,)"});
  expect_corrupt_labels(idx_labels(0x00000801, 60000, 100), {"truncated IDX data", "from byte 8", "ends at or before byte 108"});
  // Well-formed but not the published labels: only the MD5 can tell.
  expect_corrupt_labels(idx_labels(0x00000801, 60000, 60000), {"differs from the published file"});
}

// A 28-byte gzip whose header claims 1.2 billion labels: load_data used to reach 1.2 GB before the MD5
// check. The header is now checked against the dataset's shape before anything is allocated.
TEST(Datasets, TinyLabelsFileClaimingGigabytesIsRejectedBeforeAllocating) {
  std::vector<uint8_t> header{0, 0, 8, 1};
  for (uint8_t b : keel::testing::be32(1200000000)) header.push_back(b);
  const std::vector<uint8_t> gz = keel::testing::gzip_stored(header);
  ASSERT_EQ(gz.size(), 31u);
  const int64_t before = keel::testing::peak_rss_bytes();
  expect_corrupt_labels(gz, {"expected uint8 IDX data of shape (60000,)", "shape (1200000000,)"});
  EXPECT_LT(keel::testing::peak_rss_bytes() - before, int64_t{64} << 20);
}

TEST(ReadIdx, TypeCodesAndErrors) {
  const std::string fixtures = std::string(KEEL_TEST_DATA_DIR) + "/data/fixtures/";
  // make_fixtures.py: int16 [[1, -2, 300], [-32768, 32767, 0]] raw; float32 [0.5, -1.25] gzip.
  Tensor s = read_idx(fixtures + "i16_2x3.idx");
  EXPECT_EQ(s.dtype(), DType::i32);
  EXPECT_EQ(s.shape(), (Shape{2, 3}));
  EXPECT_EQ(s.to_vector<int32_t>(), (std::vector<int32_t>{1, -2, 300, -32768, 32767, 0}));
  Tensor f = read_idx(fixtures + "f32_2.idx.gz");
  EXPECT_EQ(f.dtype(), DType::f32);
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{0.5f, -1.25f}));

  expect_error<NotFoundError>([&] { read_idx(fixtures + "nope.idx"); }, {"read_idx", "nope.idx"});
  TempDir dir;
  std::vector<uint8_t> bytes = keel::testing::read_bytes(fixtures + "i16_2x3.idx");
  bytes.push_back(0);
  keel::testing::write_bytes(dir.file("extra.idx"), bytes);
  expect_error<ValueError>([&] { read_idx(dir.file("extra.idx")); },
                           {dir.file("extra.idx"), "1 bytes after", "end at byte 24"});
}

}  // namespace
}  // namespace keel::datasets
