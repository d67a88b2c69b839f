// .npy: "\x93NUMPY", major, minor, header length (uint16 for 1.x, uint32 for 2.x/3.x, little-endian), an
// ASCII Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces
// and ended by '\n', then the raw elements. .npz: a zip archive of .npy members (libzip).
#include "keel/data/npy.h"

#include <zip.h>

#include <bit>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "core/tensor_internals.h"
#include "data/byte_source.h"
#include "data/zip_member.h"

namespace keel::data {
namespace {

static_assert(std::endian::native == std::endian::little, "npy reading assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

struct NpyDType {
  std::string_view descr;
  DType dtype;
};
constexpr NpyDType kNpyDTypes[] = {{"<f2", DType::f16}, {"<f4", DType::f32}, {"<f8", DType::f64}, {"<i4", DType::i32},
                                   {"<i8", DType::i64}, {"|u1", DType::u8},  {"|b1", DType::b8}};

// Finds `'key':` in the header dict and returns the text after the colon, spaces skipped.
std::string_view dict_value(std::string_view header, std::string_view key, const std::string& where) {
  const std::string quoted = keel::detail::cat("'", key, "'");
  size_t at = header.find(quoted);
  KEEL_CHECK(at != std::string_view::npos, ValueError, where, ": the .npy header has no '", key, "' entry: ", header);
  at = header.find(':', at + quoted.size());
  KEEL_CHECK(at != std::string_view::npos, ValueError, where, ": malformed .npy header: ", header);
  std::string_view rest = header.substr(at + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return rest;
}

DType parse_descr(std::string_view value, const std::string& where) {
  KEEL_CHECK(!value.empty() && (value.front() == '\'' || value.front() == '"'), ValueError, where,
             ": unsupported .npy 'descr' ", value.substr(0, 40), " (structured dtypes are not supported)");
  const size_t end = value.find(value.front(), 1);
  KEEL_CHECK(end != std::string_view::npos, ValueError, where, ": malformed .npy 'descr' ", value);
  std::string descr(value.substr(1, end - 1));
  // NumPy writes one-byte types as |u1 and |b1, but < and = are equally valid for them.
  if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '=') && descr[2] == '1') descr[0] = '|';
  if (descr.size() == 3 && descr[0] == '=') descr[0] = '<';
  for (const NpyDType& d : kNpyDTypes)
    if (d.descr == descr) return d.dtype;
  KEEL_CHECK(descr.empty() || descr[0] != '>', UnimplementedError, where, ": big-endian .npy data ('", descr,
             "') is not supported; save it little-endian (e.g. arr.astype(arr.dtype.newbyteorder('<')))");
  throw ValueError(
      keel::detail::cat(where, ": unsupported .npy dtype '", descr, "'; supported: <f2 <f4 <f8 <i4 <i8 |u1 |b1"));
}

Shape parse_shape(std::string_view value, const std::string& where) {
  KEEL_CHECK(!value.empty() && value.front() == '(', ValueError, where, ": malformed .npy 'shape' ", value);
  const size_t close = value.find(')');
  KEEL_CHECK(close != std::string_view::npos, ValueError, where, ": malformed .npy 'shape' ", value);
  Shape shape;
  std::string_view items = value.substr(1, close - 1);
  while (!items.empty()) {
    while (!items.empty() && (items.front() == ' ' || items.front() == ',')) items.remove_prefix(1);
    if (items.empty()) break;
    int64_t extent = 0;
    auto [end, ec] = std::from_chars(items.data(), items.data() + items.size(), extent);
    KEEL_CHECK(ec == std::errc() && extent >= 0, ValueError, where, ": malformed .npy 'shape' ",
               value.substr(0, close + 1));
    shape.push_back(extent);
    items.remove_prefix(static_cast<size_t>(end - items.data()));
  }
  return shape;
}

// Parses a whole .npy image; `where` names the file (and member) in messages.
Tensor parse_npy(std::span<const uint8_t> bytes, const std::string& where) {
  KEEL_CHECK(bytes.size() >= kMagicLen + 4 && std::memcmp(bytes.data(), kMagic, kMagicLen) == 0, ValueError, where,
             ": not a .npy file (it does not start with \\x93NUMPY followed by a version)");
  const int major = bytes[6];
  KEEL_CHECK(major >= 1 && major <= 3, ValueError, where, ": unsupported .npy format version ", major, ".",
             int{bytes[7]}, " at byte 6");
  size_t header_len = bytes[8] | size_t{bytes[9]} << 8, header_start = 10;
  if (major >= 2) {
    KEEL_CHECK(bytes.size() >= 12, ValueError, where, ": truncated .npy header: the file has ", bytes.size(), " bytes");
    header_len |= size_t{bytes[10]} << 16 | size_t{bytes[11]} << 24;
    header_start = 12;
  }
  KEEL_CHECK(header_start + header_len <= bytes.size(), ValueError, where, ": truncated .npy header: it needs ",
             header_len, " bytes from byte ", header_start, " but the file has ", bytes.size(), " bytes");
  const std::string_view header(reinterpret_cast<const char*>(bytes.data()) + header_start, header_len);

  const DType dtype = parse_descr(dict_value(header, "descr", where), where);
  const std::string_view fortran = dict_value(header, "fortran_order", where);
  KEEL_CHECK(!fortran.starts_with("True"), UnimplementedError, where,
             ": Fortran-order (column-major) .npy data is not supported; save with np.ascontiguousarray(a)");
  KEEL_CHECK(fortran.starts_with("False"), ValueError, where, ": malformed .npy 'fortran_order' ",
             fortran.substr(0, 20));
  const Shape shape = parse_shape(dict_value(header, "shape", where), where);

  const size_t data_start = header_start + header_len;
  const size_t data_bytes = static_cast<size_t>(checked_shape_bytes(shape, dtype_size(dtype), where));
  KEEL_CHECK(bytes.size() - data_start == data_bytes, ValueError, where, ": the .npy header gives ", dtype_name(dtype),
             " data of shape ", shape_str(shape), " (", data_bytes, " bytes from byte ", data_start,
             ") but the file holds ", bytes.size() - data_start, " bytes there");
  Tensor t = empty(shape, dtype, Device::cpu());  // filled from host memory below
  if (data_bytes) std::memcpy(t.data_ptr(), bytes.data() + data_start, data_bytes);
  if (dtype == DType::b8) {
    const uint8_t* p = bytes.data() + data_start;
    for (size_t i = 0; i < data_bytes; ++i)
      KEEL_CHECK(p[i] <= 1, ValueError, where, ": .npy bool data holds the value ", int{p[i]}, " at byte ",
                 data_start + i);
  }
  return t;
}

std::string_view npy_descr(DType dtype) {
  for (const NpyDType& d : kNpyDTypes)
    if (d.dtype == dtype) return d.descr;
  throw UnimplementedError(keel::detail::cat("write_npy: ", dtype_name(dtype), " has no NumPy dtype"));
}

// Closes a libzip archive on every path out.
struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

}  // namespace

Tensor read_npy(const std::string& path) {
  return detail::translate_allocation_failures("read_npy", path, [&] {
    const std::vector<uint8_t> bytes = detail::read_file_bytes(path, "read_npy");
    return parse_npy(bytes, keel::detail::cat("read_npy: ", path));
  });
}

void write_npy(const std::string& path, const Tensor& t) {
  KEEL_CHECK(t.defined(), ValueError, "write_npy: ", path, ": the tensor is undefined");
  const std::string_view descr = npy_descr(t.dtype());
  std::string shape = "(";
  for (size_t d = 0; d < t.shape().size(); ++d) shape += keel::detail::cat(d ? ", " : "", t.shape()[d]);
  shape += t.shape().size() == 1 ? ",)" : ")";
  std::string header = keel::detail::cat("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape, ", }");
  // NumPy pads the header with spaces so that the data starts at a multiple of 64 bytes.
  const size_t unpadded = kMagicLen + 4 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  KEEL_CHECK(header.size() <= 65535, UnimplementedError, "write_npy: ", path, ": shape ", shape_str(t.shape()),
             " needs a header longer than format 1.0 allows");

  Tensor host = t.device().is_cpu() ? keel::detail::contiguous_cpu(t) : keel::detail::copy_to_device(t, Device::cpu());
  const size_t data_bytes = static_cast<size_t>(host.numel()) * dtype_size(host.dtype());
  std::vector<uint8_t> out(kMagicLen + 4 + header.size() + data_bytes);
  std::memcpy(out.data(), kMagic, kMagicLen);
  out[6] = 1;
  out[7] = 0;
  out[8] = static_cast<uint8_t>(header.size());
  out[9] = static_cast<uint8_t>(header.size() >> 8);
  std::memcpy(out.data() + 10, header.data(), header.size());
  if (data_bytes) std::memcpy(out.data() + 10 + header.size(), host.data_ptr(), data_bytes);
  detail::write_file_atomic(path, out, "write_npy");
}

namespace {
std::map<std::string, Tensor> read_npz_archive(const std::string& path) {
  std::error_code ec;
  KEEL_CHECK(std::filesystem::is_regular_file(path, ec), NotFoundError, "read_npz: no such file: ", path);
  int err = 0;
  std::unique_ptr<zip_t, ZipCloser> archive(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err));
  if (!archive) {
    zip_error_t error;
    zip_error_init_with_code(&error, err);
    const std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw ValueError(keel::detail::cat("read_npz: ", path, ": not a readable zip archive: ", message));
  }
  std::map<std::string, Tensor> arrays;
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    KEEL_CHECK(
        zip_stat_index(archive.get(), i, 0, &st) == 0 && (st.valid & ZIP_STAT_NAME) && (st.valid & ZIP_STAT_SIZE),
        ValueError, "read_npz: ", path, ": cannot read the directory entry of member ", i, ": ",
        zip_strerror(archive.get()));
    std::string name = st.name;
    if (name.ends_with('/')) continue;  // a directory entry
    const std::string where = keel::detail::cat("read_npz: ", path, ", member ", name);
    std::unique_ptr<zip_file_t, ZipFileCloser> member(zip_fopen_index(archive.get(), i, 0));
    KEEL_CHECK(member, ValueError, where, ": cannot open: ", zip_strerror(archive.get()));
    const std::string text = detail::read_zip_member(member.get(), st.size, where);
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    if (name.ends_with(".npy")) name.resize(name.size() - 4);
    arrays[name] = parse_npy(bytes, where);
  }
  return arrays;
}

}  // namespace

std::map<std::string, Tensor> read_npz(const std::string& path) {
  return detail::translate_allocation_failures("read_npz", path, [&] { return read_npz_archive(path); });
}

}  // namespace keel::data
