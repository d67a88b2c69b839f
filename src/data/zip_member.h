// Reading one member of a zip archive (libzip) without trusting its directory entry: .npz arrays and the
// entries of .keras archives.
#pragma once
#include <zip.h>

#include <cstdint>
#include <string>

namespace keel::data::detail {

/// The bytes of an open member whose directory entry claims `claimed_size` uncompressed bytes. They are read
/// as decompression produces them, in 1 MiB steps, so a claim of gigabytes (or 2^63 bytes) allocates
/// nothing until the data is there; ValueError prefixed by `where` when the data is not what the entry
/// claims or cannot be read.
std::string read_zip_member(zip_file_t* member, uint64_t claimed_size, const std::string& where);

}  // namespace keel::data::detail
