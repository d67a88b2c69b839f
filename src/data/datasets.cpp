// keras.datasets.mnist / fashion_mnist: the four original gzip IDX files of each, found through
// KEEL_DATA_DIR, the source tree or the install prefix, and checked against their published MD5s.
#include <cstdlib>
#include <filesystem>

#include "data/byte_source.h"
#include "data/idx.h"
#include "data/md5.h"
#include "keel/data/datasets.h"

namespace keel::datasets {
namespace {

namespace fs = std::filesystem;

struct IdxFile {
  const char* name;
  const char* md5;
};

struct DatasetFiles {
  const char* api;     // for messages: "mnist.load_data"
  const char* folder;  // under the data directory
  IdxFile train_images, train_labels, test_images, test_labels;
};

// MD5s as published (yann.lecun.com/exdb/mnist; zalandoresearch/fashion-mnist README); see data/*/README.md.
constexpr DatasetFiles kMnist{"mnist.load_data",
                              "mnist",
                              {"train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
                              {"train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"},
                              {"t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"},
                              {"t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"}};
constexpr DatasetFiles kFashionMnist{"fashion_mnist.load_data",
                                     "fashion-mnist",
                                     {"train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
                                     {"train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"},
                                     {"t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"},
                                     {"t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"}};

constexpr int64_t kTrainCount = 60000, kTestCount = 10000, kSide = 28;

std::string search_order(const char* folder) {
  return keel::detail::cat("files are looked for in $KEEL_DATA_DIR/", folder, " when KEEL_DATA_DIR is set, else in ",
                           KEEL_BUNDLED_DATA_DIR, "/", folder, " (the source tree) when it exists, else in ",
                           KEEL_INSTALLED_DATA_DIR, "/", folder, " (the installed copy)");
}

fs::path dataset_dir(const char* folder) {
  if (const char* env = std::getenv("KEEL_DATA_DIR"); env && *env) return fs::path(env) / folder;
  std::error_code ec;
  fs::path bundled = fs::path(KEEL_BUNDLED_DATA_DIR) / folder;
  if (fs::is_directory(bundled, ec)) return bundled;
  return fs::path(KEEL_INSTALLED_DATA_DIR) / folder;
}

// Reads one file, checks its MD5 and that it holds `expected` uint8 data.
Tensor load_idx(const DatasetFiles& ds, const fs::path& dir, const IdxFile& file, const Shape& expected) {
  const std::string path = (dir / file.name).string();
  std::error_code ec;
  KEEL_CHECK(fs::is_regular_file(path, ec), NotFoundError, ds.api, ": missing file ", path, " (expected MD5 ", file.md5,
             "); ", search_order(ds.folder));
  const std::vector<uint8_t> bytes =
      data::detail::translate_allocation_failures(ds.api, path, [&] { return data::detail::read_file_bytes(path, ds.api); });
  const std::string md5 = data::detail::md5_hex(bytes.data(), bytes.size());
  auto corrupt = [&](const std::string& what) {
    return ValueError(keel::detail::cat(ds.api, ": corrupt file ", path, " (expected MD5 ", file.md5, ", its MD5 is ",
                                        md5, "): ", what));
  };
  // Decode even when the MD5 is wrong, to say what is wrong with the file where we can; the header must
  // give the expected shape before any data is read.
  Tensor t;
  try {
    t = data::detail::parse_idx(bytes, data::detail::IdxExpectation{DType::u8, expected});
  } catch (const ValueError& e) {
    throw corrupt(e.what());
  }
  if (md5 != file.md5) throw corrupt("the content differs from the published file");
  return t;
}

TrainTest load(const DatasetFiles& ds) {
  const fs::path dir = dataset_dir(ds.folder);
  TrainTest out;
  // Labels first: they are small, so a missing or damaged file is reported before the big reads.
  out.train.y = load_idx(ds, dir, ds.train_labels, {kTrainCount});
  out.test.y = load_idx(ds, dir, ds.test_labels, {kTestCount});
  out.train.x = load_idx(ds, dir, ds.train_images, {kTrainCount, kSide, kSide});
  out.test.x = load_idx(ds, dir, ds.test_images, {kTestCount, kSide, kSide});
  return out;
}

}  // namespace

namespace mnist {
TrainTest load_data() { return load(kMnist); }
}  // namespace mnist

namespace fashion_mnist {
TrainTest load_data() { return load(kFashionMnist); }
}  // namespace fashion_mnist

}  // namespace keel::datasets
