#include "data/zip_member.h"

#include "keel/core/error.h"

namespace keel::data::detail {

std::string read_zip_member(zip_file_t* member, uint64_t claimed_size, const std::string& where) {
  constexpr size_t kStep = size_t{1} << 20;
  std::string bytes;
  for (;;) {
    const size_t at = bytes.size();
    bytes.resize(at + kStep);
    const zip_int64_t got = zip_fread(member, bytes.data() + at, kStep);
    KEEL_CHECK(got >= 0, ValueError, where, ": reading failed after ", at, " bytes: ", zip_file_strerror(member));
    bytes.resize(at + static_cast<size_t>(got));
    KEEL_CHECK(bytes.size() <= claimed_size, ValueError, where, ": the member holds more than the ", claimed_size,
               " bytes its directory entry gives");
    if (got == 0) break;
  }
  KEEL_CHECK(bytes.size() == claimed_size, ValueError, where, ": the directory entry gives ", claimed_size,
             " bytes but the member holds ", bytes.size());
  bytes.shrink_to_fit();
  return bytes;
}

}  // namespace keel::data::detail
