#include "distribute/collective_util.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "keel/core/error.h"

namespace keel::distribute::detail {

bool is_reducible(DType dtype) {
  return dtype == DType::f32 || dtype == DType::f64 || dtype == DType::i32 || dtype == DType::i64;
}

void check_host_tensor(std::string_view op, int rank, const Tensor& tensor, bool reducible) {
  KEEL_CHECK(tensor.defined(), ValueError, "rank ", rank, ": ", op, ": the tensor is undefined");
  KEEL_CHECK(tensor.device().is_cpu(), ValueError, "rank ", rank, ": ", op, ": the tensor is on ",
             tensor.device().str(), "; this communicator serves CPU tensors only");
  KEEL_CHECK(tensor.is_contiguous(), ValueError, "rank ", rank, ": ", op,
             ": the tensor must be contiguous (call .contiguous() first), got ", describe(tensor));
  if (reducible) {
    KEEL_CHECK(is_reducible(tensor.dtype()), ValueError, "rank ", rank, ": ", op, ": cannot reduce dtype ",
               dtype_name(tensor.dtype()), "; expected float32, float64, int32 or int64");
  }
}

void check_root(std::string_view op, int rank, int root, int size) {
  KEEL_CHECK(root >= 0 && root < size, ValueError, "rank ", rank, ": ", op, ": root ", root, " is outside [0, ", size,
             ")");
}

std::chrono::milliseconds collective_timeout(std::chrono::milliseconds fallback) {
  const char* value = std::getenv("KEEL_COLLECTIVE_TIMEOUT_S");
  if (value == nullptr || *value == '\0') return fallback;
  errno = 0;
  char* end = nullptr;
  const long long seconds = std::strtoll(value, &end, 10);
  KEEL_CHECK(errno == 0 && *end == '\0' && seconds > 0 && seconds <= 365LL * 24 * 3600, ValueError,
             "KEEL_COLLECTIVE_TIMEOUT_S='", value, "': expected a whole number of seconds > 0");
  return std::chrono::seconds(seconds);
}

std::string format_seconds(std::chrono::milliseconds duration) {
  std::ostringstream os;
  os << static_cast<double>(duration.count()) / 1000.0 << " s";
  return os.str();
}

const char* to_string(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return "sum";
    case ReduceOp::kMin:
      return "min";
    case ReduceOp::kMax:
      return "max";
  }
  return "?";
}

std::string describe(const Tensor& tensor) {
  if (!tensor.defined()) return "undefined";
  return ::keel::detail::cat(dtype_name(tensor.dtype()), " tensor of shape ", shape_str(tensor.shape()));
}

Shape gathered_shape(const Shape& shape, int world_size) {
  if (shape.empty()) return {world_size};
  Shape out = shape;
  out[0] *= world_size;
  return out;
}

}  // namespace keel::distribute::detail
