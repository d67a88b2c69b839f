// IDX format (LeCun): magic 00 00 <type code> <ndim>, then ndim big-endian uint32 extents, then the
// elements, big-endian, row-major.
#include "data/idx.h"

#include <bit>
#include <cstring>
#include <type_traits>

#include "data/byte_source.h"
#include "keel/data/datasets.h"

namespace keel::data::detail {
namespace {

struct IdxType {
  uint8_t code;
  int bytes;    // size in the file
  DType dtype;  // what it becomes
  const char* name;
};
constexpr IdxType kIdxTypes[] = {{0x08, 1, DType::u8, "unsigned byte"}, {0x09, 1, DType::i32, "signed byte"},
                                 {0x0B, 2, DType::i32, "short"},        {0x0C, 4, DType::i32, "int"},
                                 {0x0D, 4, DType::f32, "float"},        {0x0E, 8, DType::f64, "double"}};

uint32_t big_endian_u32(const uint8_t b[4]) {
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | uint32_t{b[3]};
}

void read_exact(ByteSource& src, void* dst, size_t n, const char* what) {
  const int64_t start = src.position();
  const size_t got = src.read(dst, n);
  KEEL_CHECK(got == n, ValueError, "truncated IDX data: the ", what, " needs ", n, " bytes from byte ", start,
             " but the data ends at byte ", start + static_cast<int64_t>(got));
}

// Converts `count` big-endian elements of `type` in `raw` to the tensor's dtype.
template <class Src, class Dst>
void convert_big_endian(const uint8_t* raw, Dst* out, int64_t count) {
  using Bits = std::conditional_t<
      sizeof(Src) == 1, uint8_t,
      std::conditional_t<sizeof(Src) == 2, uint16_t, std::conditional_t<sizeof(Src) == 4, uint32_t, uint64_t>>>;
  for (int64_t i = 0; i < count; ++i) {
    Bits bits;
    std::memcpy(&bits, raw + i * sizeof(Src), sizeof(Src));
    if constexpr (std::endian::native == std::endian::little) {
      if constexpr (sizeof(Src) == 2) bits = __builtin_bswap16(bits);
      if constexpr (sizeof(Src) == 4) bits = __builtin_bswap32(bits);
      if constexpr (sizeof(Src) == 8) bits = __builtin_bswap64(bits);
    }
    out[i] = static_cast<Dst>(std::bit_cast<Src>(bits));
  }
}

}  // namespace

Tensor parse_idx(std::span<const uint8_t> file_bytes, std::optional<IdxExpectation> expected) {
  std::unique_ptr<ByteSource> src = open_byte_source(file_bytes);
  uint8_t magic[4];
  read_exact(*src, magic, 4, "magic number");
  const IdxType* type = nullptr;
  for (const IdxType& t : kIdxTypes)
    if (t.code == magic[2]) type = &t;
  KEEL_CHECK(magic[0] == 0 && magic[1] == 0 && type && magic[3] >= 1, ValueError, "bad IDX magic number 0x", std::hex,
             big_endian_u32(magic), std::dec,
             " at byte 0: expected 0x0000TTNN with type code TT in {08, 09, 0B, 0C, 0D, 0E} and NN >= 1 dimensions");

  Shape shape(magic[3]);
  std::vector<uint8_t> dims(4 * shape.size());
  read_exact(*src, dims.data(), dims.size(), "dimension list");
  for (size_t d = 0; d < shape.size(); ++d) shape[d] = big_endian_u32(&dims[4 * d]);
  if (expected)
    KEEL_CHECK(type->dtype == expected->dtype && shape == expected->shape, ValueError, "expected ",
               dtype_name(expected->dtype), " IDX data of shape ", shape_str(expected->shape), ", the header at byte 0 gives ",
               type->name, " data of shape ", shape_str(shape));
  // Checked before anything is allocated: the header alone must not decide how much memory a file costs.
  const int64_t data_bytes = checked_shape_bytes(shape, static_cast<size_t>(type->bytes), "IDX dimensions at byte 4");
  const int64_t count = data_bytes / type->bytes;
  const uint64_t at_most = src->max_remaining();
  KEEL_CHECK(static_cast<uint64_t>(data_bytes) <= at_most, ValueError, "truncated IDX data: the header gives ",
             shape_str(shape), " ", type->name, " elements, ", data_bytes, " bytes from byte ", src->position(),
             ", but the data ends at or before byte ", static_cast<uint64_t>(src->position()) + at_most);

  Tensor t = empty(shape, type->dtype, Device::cpu());  // filled from host memory below
  if (type->code == 0x08) {
    read_exact(*src, t.data_ptr(), data_bytes, "data");
  } else {
    std::vector<uint8_t> raw(data_bytes);
    read_exact(*src, raw.data(), data_bytes, "data");
    switch (type->code) {
      case 0x09:
        convert_big_endian<int8_t>(raw.data(), t.data<int32_t>(), count);
        break;
      case 0x0B:
        convert_big_endian<int16_t>(raw.data(), t.data<int32_t>(), count);
        break;
      case 0x0C:
        convert_big_endian<int32_t>(raw.data(), t.data<int32_t>(), count);
        break;
      case 0x0D:
        convert_big_endian<float>(raw.data(), t.data<float>(), count);
        break;
      case 0x0E:
        convert_big_endian<double>(raw.data(), t.data<double>(), count);
        break;
    }
  }
  // Anything after the data means the header does not describe the file. Reading to the end also makes
  // zlib check the gzip CRC and length.
  const int64_t end = src->position();
  uint8_t rest[4096];
  int64_t extra = 0;
  while (size_t got = src->read(rest, sizeof rest)) extra += static_cast<int64_t>(got);
  KEEL_CHECK(extra == 0, ValueError, "IDX data has ", extra, " bytes after the ", shape_str(shape), " ", type->name,
             " elements, which end at byte ", end);
  return t;
}

}  // namespace keel::data::detail

namespace keel::datasets {

Tensor read_idx(const std::string& path) {
  return data::detail::translate_allocation_failures("read_idx", path, [&] {
    std::vector<uint8_t> bytes = data::detail::read_file_bytes(path, "read_idx");
    try {
      return data::detail::parse_idx(bytes);
    } catch (const ValueError& e) {
      throw ValueError(keel::detail::cat("read_idx: ", path, ": ", e.what()));
    }
  });
}

}  // namespace keel::datasets
