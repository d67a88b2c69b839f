// Files made to hurt the readers (issue 20): headers whose shape products wrap around, and small files that
// claim gigabytes. Each must end in a keel::Error naming the file, before the claim is allocated: the
// process's peak memory may not grow by more than kSlack while these are read.
#include <gtest/gtest.h>

#include <string>

#include "data/byte_source.h"
#include "hand_made_files.h"
#include "keel/data/datasets.h"
#include "keel/data/npy.h"
#include "temp_dir.h"
#include "test_util.h"

namespace keel::data {
namespace {

using keel::testing::expect_error;
using keel::testing::peak_rss_bytes;
using keel::testing::TempDir;

constexpr int64_t kSlack = int64_t{64} << 20;

// A .npy file: the header dict as given, padded as NumPy pads it, then `payload`.
std::vector<uint8_t> npy_with(const std::string& dict, size_t payload) {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(payload, '\x11');
  return {out.begin(), out.end()};
}

TEST(HostileFiles, NpyShapeWhoseProductWrapsAroundIsRejected) {
  TempDir dir;
  // 4611686018427387905 * 4 elements * 4 bytes is 16 modulo 2^64: the 16-byte payload used to be accepted
  // as a tensor of that shape, and reading it went past the buffer.
  keel::testing::write_bytes(dir.file("wrap.npy"),
                             npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387905, 4), }", 16));
  expect_error<ShapeError>([&] { read_npy(dir.file("wrap.npy")); },
                           {"read_npy", "wrap.npy", "(4611686018427387905, 4)", "more than 2^63 bytes"});
  // The element count alone fits but not the bytes.
  keel::testing::write_bytes(dir.file("bytes.npy"),
                             npy_with("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }", 0));
  expect_error<ShapeError>([&] { read_npy(dir.file("bytes.npy")); }, {"bytes.npy", "more than 2^63 bytes"});
}

TEST(HostileFiles, EmptyRefusesShapesBeyondTheAddressSpace) {
  expect_error<ShapeError>([] { empty({int64_t{1} << 62, 4}, DType::f32); }, {"empty", "more than 2^63 bytes"});
  expect_error<ShapeError>([] { empty({3, -1}); }, {"empty", "negative dimension", "(3, -1)"});
  // A zero extent is an empty tensor, whatever the others claim.
  EXPECT_EQ(empty({int64_t{1} << 62, 0, int64_t{1} << 62}).numel(), 0);
}

TEST(HostileFiles, EightByteIdxHeaderClaimingSixteenGigabytesAllocatesNothing) {
  TempDir dir;
  std::vector<uint8_t> bytes{0, 0, 0x0C, 1};  // int32, one dimension of 2^32 - 1: 16 GiB
  for (uint8_t b : keel::testing::be32(0xFFFFFFFFu)) bytes.push_back(b);
  keel::testing::write_bytes(dir.file("claim.idx"), bytes);
  keel::testing::write_bytes(dir.file("claim.idx.gz"), keel::testing::gzip_stored(bytes));
  const int64_t before = peak_rss_bytes();
  expect_error<ValueError>([&] { datasets::read_idx(dir.file("claim.idx")); },
                           {"claim.idx", "(4294967295,) int elements", "from byte 8", "ends at or before byte 8"});
  // Compressed: the bound is what the rest of the gzip stream could inflate to.
  expect_error<ValueError>([&] { datasets::read_idx(dir.file("claim.idx.gz")); },
                           {"claim.idx.gz", "truncated IDX data", "17179869180 bytes from byte 8"});
  EXPECT_LT(peak_rss_bytes() - before, kSlack);
}

TEST(HostileFiles, NpzDirectoryClaimsAreCheckedAgainstTheData) {
  TempDir dir;
  const std::vector<uint8_t> npy = npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
  // The archive is well formed; only the claimed sizes lie. 4 GiB used to be allocated and zeroed, and 2^62
  // and 2^63 threw std::bad_alloc and std::length_error, which are not keel::Errors.
  const int64_t before = peak_rss_bytes();
  for (uint64_t claim : {uint64_t{4} << 30, uint64_t{1} << 62, uint64_t{1} << 63, uint64_t{5}}) {
    const std::string path = dir.file("claim" + std::to_string(claim) + ".npz");
    keel::testing::write_bytes(path, keel::testing::zip_claiming("x.npy", npy, claim));
    expect_error<ValueError>([&] { read_npz(path); }, {"read_npz", path, "member x.npy"});
  }
  EXPECT_LT(peak_rss_bytes() - before, kSlack);
  // The builder makes readable archives when the claim is true, so the errors above are the claims'.
  keel::testing::write_bytes(dir.file("true.npz"), keel::testing::zip_claiming("x.npy", npy, npy.size()));
  EXPECT_EQ(read_npz(dir.file("true.npz")).at("x").shape(), (Shape{2}));
}

TEST(HostileFiles, AllocationFailuresBecomeResourceExhaustedErrors) {
  expect_error<ResourceExhaustedError>(
      [] { detail::translate_allocation_failures("read_npz", "a.npz", []() -> int { throw std::bad_alloc(); }); },
      {"read_npz", "a.npz", "out of memory"});
  expect_error<ResourceExhaustedError>(
      [] {
        detail::translate_allocation_failures("read_csv", "b.csv", []() -> int { throw std::length_error("vector"); });
      },
      {"read_csv", "b.csv", "too large"});
  // Other errors pass through unchanged.
  expect_error<ValueError>(
      [] { detail::translate_allocation_failures("x", "y", []() -> int { throw ValueError("as it was"); }); },
      {"as it was"});
}

}  // namespace
}  // namespace keel::data
