// NumPy .npy and .npz files, as numpy.load / numpy.save read and write them.
//   Tensor x = data::read_npy("x.npy");
//   std::map<std::string, Tensor> arrays = data::read_npz("data.npz");   // keys without ".npy", as np.load
#pragma once
#include <map>
#include <string>

#include "keel/core/tensor.h"

namespace keel::data {

/// Reads a .npy file (format versions 1-3). Supported dtypes: <f2 <f4 <f8 <i4 <i8 |u1 |b1 (little-endian),
/// C order. Fortran order and big-endian data raise UnimplementedError; other dtypes or a malformed header
/// raise ValueError naming the file and byte offset; a missing file raises NotFoundError.
Tensor read_npy(const std::string& path);

/// Writes `t` as a version 1.0 .npy file (C order). The file is written beside `path` under a temporary
/// name and renamed into place, so a reader never sees half a file. bfloat16 has no NumPy dtype:
/// UnimplementedError.
void write_npy(const std::string& path, const Tensor& t);

/// Reads every array of a .npz archive (stored or deflated members, as np.savez / np.savez_compressed
/// write them). Keys are the member names without the ".npy" suffix.
std::map<std::string, Tensor> read_npz(const std::string& path);

}  // namespace keel::data
