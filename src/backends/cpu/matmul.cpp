// MatMul and Dense on oneDNN's matmul primitive. Operands are described with their real strides, so a
// transposed view costs nothing; only layouts oneDNN cannot express (no unit stride in the matrix, or a
// 0-stride broadcast batch axis) are copied first. Dense fuses its bias into the same primitive.
// Primitives are cached by shapes, strides and dtype (see Note [Primitive cache] in onednn_common.h).
// Note [Large sgemm]: on this AVX-512 machine oneDNN 2.6's matmul primitive offers only brg:avx512_core for
// f32, which measured slower than oneDNN's own dnnl_sgemm on 64-byte aligned data once a product has
// about 2^20 multiply-adds or more (one thread: 128x784x512 0.90x, 512^3 0.96x, 16x512x512 0.66x,
// 2048^3 0.8-0.9x; tiny products are equal or favour brg). So f32 MatMul products from 2^20 multiply-adds
// per matrix call dnnl::sgemm once per batch matrix, reading the same strided operands.
//
// Note [Small sgemm]: for few rows the primitive is worse still: brgemm repacks the whole weight matrix on
// every call, which dominates a matrix-vector product (idle machine, 1 thread, Dense 784→512: 1 row 70 µs
// primitive vs 24 µs sgemm with the bias written first and beta = 1; 8 rows 85 vs 40; 32 rows 178 vs 135;
// 512→1 on 64 rows 2.2 vs 0.3). From 64 rows up the two are within ±10 %, so f32 products with at most 32
// rows, or at most 2^17 multiply-adds, take sgemm too, bias included; the rest keep the primitive.
#include <algorithm>
#include <cstring>

#include "backends/cpu/onednn_common.h"
#include "core/tensor_internals.h"
#include "ops/dispatch.h"
#include "ops/linalg_attrs.h"

namespace keel::cpu {
namespace {

using dims = dnnl::memory::dims;

// An operand as oneDNN will read it: the tensor (possibly a contiguous copy), and dims/strides padded to
// `rank` with leading size-1 axes.
struct Operand {
  Tensor t;
  dims d, s;
};

// True when a plain strided matrix of rows x cols is something oneDNN's GEMM reads directly: row-major
// (unit column stride) or column-major (unit row stride) with a leading dimension that fits.
bool gemm_friendly(int64_t rows, int64_t cols, int64_t sr, int64_t sc) {
  return (sc == 1 && sr >= cols) || (sr == 1 && sc >= rows);
}

Operand describe(const Tensor& t, size_t rank) {
  Operand op{t, {}, {}};
  const size_t nd = t.shape().size();
  bool ok = true;
  for (size_t i = 0; i + 2 < nd; ++i)
    if (t.shape()[i] > 1 && t.strides()[i] == 0) ok = false;  // broadcast batch axis
  const int64_t rows = t.shape()[nd - 2], cols = t.shape()[nd - 1];
  int64_t sr = t.strides()[nd - 2], sc = t.strides()[nd - 1];
  // Size-1 axes: their stride is meaningless, pick the one that keeps the matrix GEMM-friendly.
  if (cols == 1) sc = 1;
  if (rows == 1) sr = sc == 1 ? cols : 1;
  if (!ok || !gemm_friendly(rows, cols, sr, sc)) {
    op.t = detail::contiguous_cpu(t);
    sr = cols;
    sc = 1;
  }
  op.d.assign(rank, 1);
  op.s.assign(rank, 0);
  for (size_t i = 0; i < nd; ++i) {
    op.d[rank - nd + i] = op.t.shape()[i];
    op.s[rank - nd + i] = op.t.strides()[i];
  }
  op.s[rank - 2] = sr;
  op.s[rank - 1] = sc;
  // Size-1 batch axes get the extent of everything inside them, like a dense layout would.
  for (size_t i = rank - 2; i-- > 0;) {
    if (op.d[i] != 1) continue;
    int64_t env = 1;
    for (size_t j = i + 1; j < rank; ++j) env = std::max(env, op.s[j] * op.d[j]);
    op.s[i] = env;
  }
  return op;
}

void append_dims(std::string& key, const dims& d) {
  key += '|';
  for (auto v : d) key += std::to_string(v) + ',';
}

// y[batch] = a[batch]·b[batch] (+ bias on every row) with dnnl::sgemm (see Notes [Large sgemm] and
// [Small sgemm]), operands as `describe` left them; `bias` is contiguous or undefined.
void run_sgemm(const Operand& a, const Operand& b, const Tensor& bias, const Tensor& y) {
  const size_t rank = y.shape().size();
  const int64_t n = y.shape()[rank - 2], m = y.shape()[rank - 1], k = a.d[rank - 1];
  const int64_t batches = y.numel() / (n * m);
  float beta = 0.0f;
  if (bias.defined()) {
    // The bias goes in first and the product is accumulated onto it (beta = 1).
    const float* bias_p = static_cast<const float*>(bias.data_ptr());
    float* out = static_cast<float*>(y.data_ptr());
    for (int64_t r = 0; r < batches * n; ++r)
      if (bias.numel() == 1) std::fill(out + r * m, out + (r + 1) * m, bias_p[0]);
      else std::memcpy(out + r * m, bias_p, m * sizeof(float));
    beta = 1.0f;
  }
  // Row-major operand: 'N' with its row stride; column-major: 'T' with its column stride.
  auto trans = [rank](const Operand& o) { return o.s[rank - 1] == 1 ? 'N' : 'T'; };
  auto ld = [rank](const Operand& o) { return o.s[rank - 1] == 1 ? o.s[rank - 2] : o.s[rank - 1]; };
  const float* ap = static_cast<const float*>(a.t.data_ptr());
  const float* bp = static_cast<const float*>(b.t.data_ptr());
  float* yp = static_cast<float*>(y.data_ptr());
  for (int64_t bt = 0; bt < batches; ++bt) {
    int64_t rem = bt, oa = 0, ob = 0;
    for (size_t i = rank - 2; i-- > 0;) {
      const int64_t idx = rem % y.shape()[i];
      rem /= y.shape()[i];
      if (a.d[i] != 1) oa += idx * a.s[i];
      if (b.d[i] != 1) ob += idx * b.s[i];
    }
    dnnl::sgemm(trans(a), trans(b), n, m, k, 1.0f, ap + oa, ld(a), bp + ob, ld(b), beta, yp + bt * n * m, m);
  }
}

struct MatmulPrim {
  dnnl::matmul prim;
  dnnl::memory::desc a, b, bias, y;
};

// Runs y = a·b (+ bias) where y is a fresh contiguous tensor of the broadcast shape.
void run_matmul(const Tensor& a_in, const Tensor& b_in, const Tensor& bias_in, const Tensor& y, const char* op) {
  if (y.numel() == 0) return;
  if (a_in.shape().back() == 0) {  // empty contraction: zeros, or the bias on every row
    if (!bias_in.defined()) {
      std::memset(y.data_ptr(), 0, y.numel() * dtype_size(y.dtype()));
    } else {
      Strides rows_of_bias(y.ndim(), 0);
      rows_of_bias.back() = bias_in.strides()[0];
      detail::copy_cpu(detail::make_view(bias_in, y.shape(), rows_of_bias, bias_in.offset()), y);
    }
    return;
  }
  const size_t rank = y.shape().size();
  const auto dt = onednn_dtype(y.dtype(), op);
  Operand a = describe(a_in, rank), b = describe(b_in, rank);
  Tensor bias = bias_in;
  if (bias.defined() && bias.numel() > 1 && bias.strides()[0] != 1) bias = detail::contiguous_cpu(bias);
  const int64_t rows = y.shape()[rank - 2], mnk = rows * y.shape()[rank - 1] * a.d[rank - 1];
  const bool large = !bias.defined() && mnk >= (int64_t{1} << 20);
  const bool small = rows <= 32 || mnk <= (int64_t{1} << 17);
  if (dt == dnnl::memory::data_type::f32 && (large || small)) return run_sgemm(a, b, bias, y);
  dims yd(y.shape().begin(), y.shape().end()), ys(y.strides().begin(), y.strides().end());

  std::string key = op;
  key += std::to_string(static_cast<int>(dt));
  for (const dims* v : {&a.d, &a.s, &b.d, &b.s, &yd}) append_dims(key, *v);
  key += bias.defined() ? "|bias" : "";
  auto p = cached_primitive<MatmulPrim>(key, op, [&] {
    auto m = std::make_shared<MatmulPrim>();
    m->a = dnnl::memory::desc(a.d, dt, a.s);
    m->b = dnnl::memory::desc(b.d, dt, b.s);
    m->y = dnnl::memory::desc(yd, dt, ys);
    if (bias.defined()) {
      dims bd(rank, 1), bs(rank, yd.back());
      bd.back() = yd.back();
      bs.back() = 1;
      m->bias = dnnl::memory::desc(bd, dt, bs);
      m->prim =
          dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(m->a, m->b, m->bias, m->y), onednn_engine()));
    } else {
      m->prim = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(m->a, m->b, m->y), onednn_engine()));
    }
    return m;
  });
  auto& eng = onednn_engine();
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, dnnl::memory(p->a, eng, a.t.data_ptr())},
                                             {DNNL_ARG_WEIGHTS, dnnl::memory(p->b, eng, b.t.data_ptr())},
                                             {DNNL_ARG_DST, dnnl::memory(p->y, eng, y.data_ptr())}};
  if (bias.defined()) args.emplace(DNNL_ARG_BIAS, dnnl::memory(p->bias, eng, bias.data_ptr()));
  p->prim.execute(onednn_stream(), args);
  onednn_stream().wait();
}

void matmul_cpu(const KernelArgs& args) { run_matmul(args.in[0], args.in[1], Tensor(), args.out[0], "matmul"); }

void dense_cpu(const KernelArgs& args) {
  const bool has_bias = args.get<DenseAttrs>().has_bias;
  run_matmul(args.in[0], args.in[1], has_bias ? args.in[2] : Tensor(), args.out[0], "dense");
}

KEEL_REGISTER_KERNEL(MatMul, kCpu, matmul_cpu);
KEEL_REGISTER_KERNEL(Dense, kCpu, dense_cpu);

}  // namespace
}  // namespace keel::cpu
