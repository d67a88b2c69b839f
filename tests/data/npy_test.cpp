// .npy/.npz: files written by NumPy 1.24 (fixtures/make_fixtures.py), round trips, and errors.
#include <gtest/gtest.h>

#include "core/tensor_internals.h"
#include "keel/data/npy.h"
#include "temp_dir.h"
#include "test_util.h"

namespace keel::data {
namespace {

using keel::testing::expect_error;
using keel::testing::TempDir;

const std::string kFixtures = std::string(KEEL_TEST_DATA_DIR) + "/data/fixtures/";

TEST(Npy, ReadsEveryDTypeNumpyWrites) {
  Tensor f = read_npy(kFixtures + "f32_2x3.npy");
  EXPECT_EQ(f.dtype(), DType::f32);
  EXPECT_EQ(f.shape(), (Shape{2, 3}));
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, -7.5f}));

  Tensor d = read_npy(kFixtures + "f64_4.npy");
  EXPECT_EQ(d.dtype(), DType::f64);
  EXPECT_EQ(d.to_vector<double>(), (std::vector<double>{0.1, -0.2, 1e300, -4.0}));

  Tensor i = read_npy(kFixtures + "i32_2x2.npy");
  EXPECT_EQ(i.dtype(), DType::i32);
  EXPECT_EQ(i.to_vector<int32_t>(), (std::vector<int32_t>{1, -2, 2147483647, -2147483647 - 1}));

  Tensor l = read_npy(kFixtures + "i64_3.npy");
  EXPECT_EQ(l.dtype(), DType::i64);
  EXPECT_EQ(l.to_vector<int64_t>(), (std::vector<int64_t>{-1, 0, 9007199254740993}));

  Tensor u = read_npy(kFixtures + "u8_2x2x2.npy");  // arange(250, 258) wrapped to uint8
  EXPECT_EQ(u.dtype(), DType::u8);
  EXPECT_EQ(u.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(u.to_vector<uint8_t>(), (std::vector<uint8_t>{250, 251, 252, 253, 254, 255, 0, 1}));

  Tensor b = read_npy(kFixtures + "bool_3.npy");
  EXPECT_EQ(b.dtype(), DType::b8);
  EXPECT_EQ(b.to_vector<bool>(), (std::vector<bool>{true, false, true}));

  Tensor s = read_npy(kFixtures + "f32_scalar.npy");
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.item<float>(), 2.5f);

  Tensor e = read_npy(kFixtures + "f32_empty_0x3.npy");
  EXPECT_EQ(e.shape(), (Shape{0, 3}));

  Tensor v2 = read_npy(kFixtures + "v2_i32_3.npy");
  EXPECT_EQ(v2.to_vector<int32_t>(), (std::vector<int32_t>{7, 8, 9}));
}

TEST(Npy, WriteMatchesNumpyByteForByte) {
  TempDir dir;
  Tensor t = from_vector(std::vector<float>{1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, -7.5f}, {2, 3});
  write_npy(dir.file("a.npy"), t);
  EXPECT_EQ(keel::testing::read_bytes(dir.file("a.npy")), keel::testing::read_bytes(kFixtures + "f32_2x3.npy"));
  write_npy(dir.file("s.npy"), scalar_tensor(2.5));
  EXPECT_EQ(keel::testing::read_bytes(dir.file("s.npy")), keel::testing::read_bytes(kFixtures + "f32_scalar.npy"));
  write_npy(dir.file("b.npy"), from_vector(std::vector<bool>{true, false, true}, {3}));
  EXPECT_EQ(keel::testing::read_bytes(dir.file("b.npy")), keel::testing::read_bytes(kFixtures + "bool_3.npy"));
  // Only the final file is left: the temporary one was renamed.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 3);
}

TEST(Npy, RoundTripsEveryDTypeAndNonContiguousViews) {
  TempDir dir;
  std::vector<Tensor> tensors = {
      from_vector(std::vector<double>{1.0, -2.5, 3e-200}, {3}), from_vector(std::vector<int32_t>{5, -6}, {1, 2}),
      from_vector(std::vector<int64_t>{int64_t{1} << 40, -3}, {2, 1}), from_vector(std::vector<uint8_t>{0, 255}, {2}),
      arange(6.0).reshape({2, 3}).astype(DType::f16)};
  for (const Tensor& t : tensors) {
    write_npy(dir.file("t.npy"), t);
    Tensor back = read_npy(dir.file("t.npy"));
    EXPECT_EQ(back.dtype(), t.dtype());
    EXPECT_EQ(back.shape(), t.shape());
    EXPECT_EQ(back.to_vector<double>(), t.to_vector<double>());
  }
  // A transposed (strided) view is written in C order of its logical shape.
  Tensor base = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor transposed = keel::detail::make_view(base, {3, 2}, {1, 3}, 0);
  write_npy(dir.file("t.npy"), transposed);
  EXPECT_EQ(read_npy(dir.file("t.npy")).to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(Npy, Errors) {
  expect_error<UnimplementedError>([] { read_npy(kFixtures + "fortran_2x3.npy"); },
                                   {"fortran_2x3.npy", "Fortran-order", "not supported"});
  expect_error<UnimplementedError>([] { read_npy(kFixtures + "big_endian_f4.npy"); },
                                   {"big_endian_f4.npy", "big-endian", ">f4"});
  expect_error<ValueError>([] { read_npy(kFixtures + "complex64.npy"); }, {"complex64.npy", "unsupported", "<c8"});
  expect_error<NotFoundError>([] { read_npy(kFixtures + "missing.npy"); }, {"read_npy", "missing.npy"});
  expect_error<ValueError>([] { read_npy(kFixtures + "table.csv"); }, {"table.csv", "not a .npy file"});

  TempDir dir;
  std::vector<uint8_t> bytes = keel::testing::read_bytes(kFixtures + "f32_2x3.npy");
  bytes.resize(bytes.size() - 4);
  keel::testing::write_bytes(dir.file("short.npy"), bytes);
  expect_error<ValueError>([&] { read_npy(dir.file("short.npy")); },
                           {"short.npy", "(2, 3)", "24 bytes from byte 128", "holds 20 bytes"});
  expect_error<UnimplementedError>([&] { write_npy(dir.file("x.npy"), zeros({2}, DType::bf16)); },
                                   {"bfloat16", "no NumPy dtype"});
  expect_error<Error>([&] { write_npy(dir.file("no/such/dir/x.npy"), zeros({2})); }, {"write_npy", "no/such/dir"});
}

TEST(Npz, ReadsStoredAndDeflatedArchives) {
  for (const char* name : {"stored.npz", "deflated.npz"}) {
    std::map<std::string, Tensor> a = read_npz(kFixtures + name);
    ASSERT_TRUE(a.count("x") && a.count("y")) << name;
    EXPECT_EQ(a["x"].shape(), (Shape{3, 4}));
    EXPECT_EQ(a["x"].to_vector<float>(), (std::vector<float>{0, .25, .5, .75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75}));
    EXPECT_EQ(a["y"].dtype(), DType::i64);
    EXPECT_EQ(a["y"].to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2}));
  }
  std::map<std::string, Tensor> d = read_npz(kFixtures + "deflated.npz");
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d["mask"].to_vector<bool>(), (std::vector<bool>{true, false, true}));

  expect_error<NotFoundError>([] { read_npz(kFixtures + "missing.npz"); }, {"read_npz", "missing.npz"});
  expect_error<ValueError>([] { read_npz(kFixtures + "f32_2x3.npy"); }, {"f32_2x3.npy", "not a readable zip archive"});
}

}  // namespace
}  // namespace keel::data
