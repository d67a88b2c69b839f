// What every communicator shares: the checks on a collective's tensor (with messages naming the op), the
// KEEL_COLLECTIVE_TIMEOUT_S override, and the wording of tensors and durations in error messages.
#pragma once
#include <chrono>
#include <string>
#include <string_view>

#include "keel/core/tensor.h"
#include "keel/distribute/communicator.h"

namespace keel::distribute::detail {

/// f32, f64, i32 and i64: the dtypes every engine can reduce.
bool is_reducible(DType dtype);

/// ValueError naming `op` and the rank unless `tensor` is defined, on the CPU and contiguous; with
/// `reducible`, also unless its dtype is one is_reducible() accepts.
void check_host_tensor(std::string_view op, int rank, const Tensor& tensor, bool reducible);

/// ValueError unless 0 <= root < size.
void check_root(std::string_view op, int rank, int root, int size);

/// KEEL_COLLECTIVE_TIMEOUT_S (whole seconds > 0) when set, else `fallback`; ValueError naming the variable
/// and its value when it is malformed.
std::chrono::milliseconds collective_timeout(std::chrono::milliseconds fallback);

/// "3 s", "0.25 s".
std::string format_seconds(std::chrono::milliseconds duration);

/// "sum", "min", "max".
const char* to_string(ReduceOp op);

/// "float32 tensor of shape (2, 3)".
std::string describe(const Tensor& tensor);

/// The shape all_gather returns for `shape` on every one of `world_size` ranks: axis 0 times world_size,
/// or [world_size] for a scalar.
Shape gathered_shape(const Shape& shape, int world_size);

/// Whether this build has MPI (defined by mpi_communicator.cpp, or by mpi_unavailable.cpp without MPI).
bool have_mpi();

}  // namespace keel::distribute::detail
