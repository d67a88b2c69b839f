// MatMul and Dense on cuBLAS (cublasGemmStridedBatchedEx). Keel's matrices are row-major and cuBLAS's
// column-major, so y = a·b is computed as yᵀ = bᵀ·aᵀ: a row-major matrix read as column-major is its
// transpose, so the operands swap places and each is passed untransposed when row-major, transposed when
// column-major (a transposed view costs nothing). Batch axes must reduce to one stride per operand (0 for
// a broadcast operand); anything else (mixed broadcasting, gaps) is copied dense first.
// float32 is exact float32 (CUBLAS_COMPUTE_32F) unless config::enable_tensor_float_32_execution is on;
// float16/bfloat16 compute in float32; float64 in float64. Dense writes the bias rows into y and
// accumulates the product onto them (beta = 1).
#include <vector>

#include "backends/cuda/cudnn_util.h"
#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "ops/dispatch.h"
#include "ops/linalg_attrs.h"

namespace keel::cuda {
namespace {

using namespace dnnutil;

// One GEMM operand as cuBLAS reads it: the tensor (maybe a dense copy), whether its matrices are
// column-major (so cuBLAS must transpose them), their leading dimension, and the batch stride.
struct GemmOperand {
  Tensor t;
  bool col_major = false;
  int64_t ld = 0;
  int64_t batch_stride = 0;
};

// The matrix strides of `t` (last two axes) normalised as the CPU backend does: a size-1 axis's stride is
// meaningless, so pick the one that keeps the matrix GEMM-readable.
bool matrix_layout(const Tensor& t, bool& col_major, int64_t& ld) {
  const size_t nd = t.shape().size();
  const int64_t rows = t.shape()[nd - 2], cols = t.shape()[nd - 1];
  int64_t sr = t.strides()[nd - 2], sc = t.strides()[nd - 1];
  if (cols == 1) sc = 1;
  if (rows == 1) sr = sc == 1 ? std::max<int64_t>(cols, 1) : 1;
  if (sc == 1 && sr >= std::max<int64_t>(cols, 1)) {
    col_major = false;
    ld = sr;
    return true;
  }
  if (sr == 1 && sc >= std::max<int64_t>(rows, 1)) {
    col_major = true;
    ld = sc;
    return true;
  }
  return false;
}

// The single stride that steps through `t`'s batch of matrices in y's batch order, if there is one:
// 0 when t has no batch (every batch axis 1), else t's batch axes must equal y's and collapse to one stride.
bool batch_stride(const Tensor& t, const Shape& y_batch, int64_t& stride) {
  const size_t nb = t.shape().size() - 2, yb = y_batch.size();
  int64_t count = 1;
  for (size_t i = 0; i < nb; ++i) count *= t.shape()[i];
  if (count == 1) {
    stride = 0;
    return true;
  }
  // Aligned from the right; an axis of t that is 1 where y's is not is a broadcast cuBLAS cannot express.
  for (size_t i = 0; i < yb; ++i) {
    const int64_t ti = i + nb >= yb ? t.shape()[i + nb - yb] : 1;
    if (ti != y_batch[i]) return false;
  }
  bool have = false;
  int64_t inner_extent = 0;  // stride·size of the previous (inner) non-1 axis
  for (size_t i = nb; i-- > 0;) {
    if (t.shape()[i] == 1) continue;
    if (!have) {
      stride = t.strides()[i];
      have = true;
    } else if (t.strides()[i] != inner_extent) {
      return false;
    }
    inner_extent = t.strides()[i] * t.shape()[i];
  }
  return have;
}

// Describes `t` as a GEMM operand for output batch `y_batch`, copying it dense (broadcast to the full
// batch) when its strides cannot be passed to cuBLAS as they are.
GemmOperand describe(const Tensor& t, const Shape& y_batch) {
  GemmOperand op{t};
  if (matrix_layout(t, op.col_major, op.ld) && batch_stride(t, y_batch, op.batch_stride)) return op;
  const size_t nd = t.shape().size();
  const int64_t rows = t.shape()[nd - 2], cols = t.shape()[nd - 1];
  int64_t count = 1;
  for (size_t i = 0; i + 2 < nd; ++i) count *= t.shape()[i];
  // Broadcast view of t over y's full batch (0 strides on broadcast axes; just the matrix when t has no
  // batch), then a dense copy.
  Shape full = count == 1 ? Shape{} : y_batch;
  full.push_back(rows);
  full.push_back(cols);
  const size_t fr = full.size();
  Strides st(fr, 0);
  for (size_t j = 0; j < fr; ++j) {
    if (j + nd < fr) continue;  // an axis t lacks: broadcast
    const size_t i = j + nd - fr;
    st[j] = (j + 2 < fr && t.shape()[i] == 1) ? 0 : t.strides()[i];
  }
  op.t = empty(full, t.dtype(), t.device());
  copy_on_device(detail::make_view(t, full, st, t.offset()), op.t);
  op.batch_stride = count == 1 ? 0 : rows * cols;
  op.col_major = false;
  op.ld = std::max<int64_t>(cols, 1);
  return op;
}

struct GemmTypes {
  cudaDataType_t data;
  cublasComputeType_t compute;
};

GemmTypes gemm_types(DType dt, const char* op) {
  switch (dt) {
    case DType::f32:
      return {CUDA_R_32F, tf32_enabled() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F};
    case DType::f64:
      return {CUDA_R_64F, CUBLAS_COMPUTE_64F};
    case DType::f16:
      return {CUDA_R_16F, CUBLAS_COMPUTE_32F};
    case DType::bf16:
      return {CUDA_R_16BF, CUBLAS_COMPUTE_32F};
    default:
      throw DTypeError(
          detail::cat(op, ": the CUDA backend supports float32, float64, float16 and bfloat16, got ", dtype_name(dt)));
  }
}

// y[row, j] = bias[j * bias_stride] for every row (raw element copies: no arithmetic, any float dtype).
template <class E>
__global__ void fill_rows_kernel(E* y, const E* bias, int64_t bias_stride, int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    y[i] = bias[(i % cols) * bias_stride];
}

void fill_rows(const Tensor& y, const Tensor& bias, int device) {
  const int64_t cols = y.shape().back(), rows = y.numel() / std::max<int64_t>(cols, 1);
  const int64_t bs = bias.numel() > 1 ? bias.strides()[0] : 1;
  cudaStream_t stream = current_stream(device);
  const int blocks = blocks_for(y.numel());
  detail::visit_bits(y.dtype(), "dense", [&]<class E>(detail::TypeTag<E>) {
    fill_rows_kernel<<<blocks, 256, 0, stream>>>(static_cast<E*>(y.data_ptr()), static_cast<const E*>(bias.data_ptr()),
                                                 bs, rows, cols);
  });
  check_launch("dense bias fill kernel");
}

// y = a·b (+ bias) with y of the broadcast batch shape; y may be any dense-or-not tensor (written through a
// dense temporary when it is not contiguous).
void run_gemm(const Tensor& a_in, const Tensor& b_in, const Tensor& bias, const Tensor& y_out, const char* op) {
  if (y_out.numel() == 0) return;
  const int device = device_of(y_out);
  set_device(device);
  const GemmTypes types = gemm_types(y_out.dtype(), op);
  Tensor y = y_out.is_contiguous() ? y_out : empty(y_out.shape(), y_out.dtype(), y_out.device());
  const size_t rank = y.shape().size();
  const int64_t n = y.shape()[rank - 2], m = y.shape()[rank - 1], k = a_in.shape().back();
  if (bias.defined()) {
    fill_rows(y, bias, device);
  } else if (k == 0) {
    zero_fill(y);
  }
  if (k > 0) {
    Shape y_batch(y.shape().begin(), y.shape().end() - 2);
    int64_t batches = 1;
    for (int64_t d : y_batch) batches *= d;
    const GemmOperand a = describe(a_in, y_batch), b = describe(b_in, y_batch);
    const double one = 1.0, beta_d = bias.defined() ? 1.0 : 0.0;
    const float one_f = 1.0f, beta_f = static_cast<float>(beta_d);
    const bool f64 = types.compute == CUBLAS_COMPUTE_64F;
    // Column-major view: yᵀ (m x n, ld m) = op(b)ᵀ-as-stored (m x k) · op(a)ᵀ-as-stored (k x n).
    KEEL_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        cublas_handle(device), b.col_major ? CUBLAS_OP_T : CUBLAS_OP_N, a.col_major ? CUBLAS_OP_T : CUBLAS_OP_N,
        to_int(m, op, "output columns"), to_int(n, op, "output rows"), to_int(k, op, "inner dimension"),
        f64 ? static_cast<const void*>(&one) : &one_f, b.t.data_ptr(), types.data, to_int(b.ld, op, "ldb"),
        b.batch_stride, a.t.data_ptr(), types.data, to_int(a.ld, op, "lda"), a.batch_stride,
        f64 ? static_cast<const void*>(&beta_d) : &beta_f, y.data_ptr(), types.data, to_int(m, op, "ldc"), n * m,
        to_int(batches, op, "batch count"), types.compute, CUBLAS_GEMM_DEFAULT));
  }
  if (!y.is_same(y_out)) copy_on_device(y, y_out);
}

void matmul_cuda(const KernelArgs& args) { run_gemm(args.in[0], args.in[1], Tensor(), args.out[0], "matmul"); }

void dense_cuda(const KernelArgs& args) {
  const bool has_bias = args.get<DenseAttrs>().has_bias;
  run_gemm(args.in[0], args.in[1], has_bias ? args.in[2] : Tensor(), args.out[0], "dense");
}

KEEL_REGISTER_KERNEL(MatMul, kCuda, matmul_cuda);
KEEL_REGISTER_KERNEL(Dense, kCuda, dense_cuda);

}  // namespace
}  // namespace keel::cuda
