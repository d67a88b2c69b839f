// Reference MatMul and Dense: triple loops in double over row-major copies of the operands (the test
// oracle; no BLAS, no oneDNN).
#include <vector>

#include "core/dtype_dispatch.h"
#include "backends/cpu/ref/ref_common.h"
#include "ops/dispatch.h"
#include "ops/linalg_attrs.h"

namespace keel::cpu_ref {
namespace {

// Row-major index into an operand's batch block for the output batch index `idx` (size-1 axes broadcast).
int64_t batch_index(const Shape& operand, const std::vector<int64_t>& idx) {
  const size_t nb = operand.size() - 2, lead = idx.size() - nb;
  int64_t lin = 0;
  for (size_t i = 0; i < nb; ++i) lin = lin * operand[i] + (operand[i] == 1 ? 0 : idx[lead + i]);
  return lin;
}

void matmul_ref(const KernelArgs& args) {
  const Tensor &a = args.in[0], &b = args.in[1], &y = args.out[0];
  const std::vector<double> av = to_doubles(a), bv = to_doubles(b);
  const int64_t nd = y.ndim(), n = y.shape()[nd - 2], m = y.shape()[nd - 1], k = a.shape().back();
  const int64_t batches = n * m == 0 ? 0 : y.numel() / (n * m);
  std::vector<double> out(y.numel(), 0.0);
  std::vector<int64_t> idx(nd - 2, 0);
  for (int64_t bt = 0; bt < batches; ++bt) {
    int64_t rem = bt;
    for (int64_t d = nd - 3; d >= 0; --d) {
      idx[d] = rem % y.shape()[d];
      rem /= y.shape()[d];
    }
    const double* ap = av.data() + batch_index(a.shape(), idx) * n * k;
    const double* bp = bv.data() + batch_index(b.shape(), idx) * k * m;
    double* op = out.data() + bt * n * m;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) s += ap[i * k + p] * bp[p * m + j];
        op[i * m + j] = s;
      }
  }
  write_doubles(y, out);
}

void dense_ref(const KernelArgs& args) {
  const Tensor &x = args.in[0], &w = args.in[1], &y = args.out[0];
  const bool has_bias = args.get<DenseAttrs>().has_bias;
  const std::vector<double> xv = to_doubles(x), wv = to_doubles(w);
  const std::vector<double> bv = has_bias ? to_doubles(args.in[2]) : std::vector<double>();
  const int64_t rows = x.shape()[0], in = x.shape()[1], units = w.shape()[1];
  std::vector<double> out(y.numel());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t u = 0; u < units; ++u) {
      double s = has_bias ? bv[u] : 0.0;
      for (int64_t i = 0; i < in; ++i) s += xv[r * in + i] * wv[i * units + u];
      out[r * units + u] = s;
    }
  write_doubles(y, out);
}

KEEL_REGISTER_KERNEL(MatMul, kCpuRef, matmul_ref);
KEEL_REGISTER_KERNEL(Dense, kCpuRef, dense_ref);

}  // namespace
}  // namespace keel::cpu_ref
