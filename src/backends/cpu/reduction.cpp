// CPU kernels of Sum, Max, Min, Prod, ArgMax and ArgMin.
//
// Note [Reduction layout]: the input is made contiguous, size-1 axes are dropped and neighbouring axes
// of the same kind (reduced / kept) are merged. Each remaining reduced group is then one pass over a
// (A, R, B) view, reducing R: B == 1 is a row reduction (16 independent accumulators, so the loop
// vectorises without reassociating), B > 1 a column reduction (B-wide vector updates, e.g. bias
// gradients (N, C) -> (C)). Work is split over outputs; when there are too few outputs for the threads
// (a full sum, a few columns), R is split too and the partial results are combined in a second pass.
// float32 accumulates in float32; integers accumulate in their own type (wrapping like NumPy).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "keel/core/config.h"
#include "ops/dispatch.h"
#include "ops/reduction_attrs.h"

namespace keel::cpu {
namespace {

constexpr int64_t kSerialWork = 32768;  // elements below which threads cost more than they save
constexpr int64_t kColumnBlock = 1024;  // columns per task in column reductions (stays in L1)
constexpr int64_t kNarrow = 64;         // lane width of the few-columns path

template <class T> bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return v != v;
  else return false;
}

// max/min propagate NaN as NumPy does.
struct SumOp {
  template <class T> static T identity() { return T(0); }
  template <class T> static T combine(T a, T b) { return static_cast<T>(a + b); }
};
struct ProdOp {
  template <class T> static T identity() { return T(1); }
  template <class T> static T combine(T a, T b) { return static_cast<T>(a * b); }
};
struct MaxOp {
  template <class T> static T identity() {
    if constexpr (std::numeric_limits<T>::has_infinity) return -std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::lowest();
  }
  // Bitwise | (not ||) keeps the select branch-free, so the lane loops vectorise.
  template <class T> static T combine(T a, T b) { return ((b > a) | is_nan(b)) ? b : a; }
};
struct MinOp {
  template <class T> static T identity() {
    if constexpr (std::numeric_limits<T>::has_infinity) return std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::max();
  }
  template <class T> static T combine(T a, T b) { return ((b < a) | is_nan(b)) ? b : a; }
};

template <class Op, class T>
T reduce_lanes(const T* p, int64_t n) {
  constexpr int kLanes = 16;
  T acc[kLanes];
  for (T& v : acc) v = Op::template identity<T>();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
#pragma omp simd  // GCC -O3 fully unrolls this loop and then fails to vectorise the selects without it
    for (int j = 0; j < kLanes; ++j) acc[j] = Op::combine(acc[j], p[i + j]);
  }
  T r = Op::template identity<T>();
  for (; i < n; ++i) r = Op::combine(r, p[i]);
  for (T v : acc) r = Op::combine(r, v);
  return r;
}

// Two levels (lanes within chunks, then across chunks) bound the float32 rounding error of long rows.
template <class Op, class T>
T reduce_row(const T* p, int64_t n) {
  constexpr int64_t kChunk = 4096;
  if (n <= kChunk) return reduce_lanes<Op>(p, n);
  T r = Op::template identity<T>();
  for (int64_t c = 0; c < n; c += kChunk) r = Op::combine(r, reduce_lanes<Op>(p + c, std::min(kChunk, n - c)));
  return r;
}

// Few columns (B <= kNarrow / 2): a row is too short to vectorise, so rows are folded kNarrow/B at a time
// as vectors of L = (kNarrow/B)·B elements (lane j holds column j % B), in chunks for accuracy; the
// lanes of one column are folded at the end. d[0, B) = reduce of the rows of s (n rows of B).
template <class Op, class T>
void reduce_narrow_columns(const T* s, T* d, int64_t n, int64_t B) {
  const int64_t L = (kNarrow / B) * B, full = (n * B / L) * L;
  T part[kNarrow], chunk[kNarrow];
  for (int64_t j = 0; j < L; ++j) part[j] = Op::template identity<T>();
  for (int64_t c = 0; c < full; c += 64 * L) {
    for (int64_t j = 0; j < L; ++j) chunk[j] = Op::template identity<T>();
    for (int64_t i = c; i < std::min(full, c + 64 * L); i += L) {
#pragma omp simd
      for (int64_t j = 0; j < L; ++j) chunk[j] = Op::combine(chunk[j], s[i + j]);
    }
    for (int64_t j = 0; j < L; ++j) part[j] = Op::combine(part[j], chunk[j]);
  }
  for (int64_t b = 0; b < B; ++b) d[b] = Op::template identity<T>();
  for (int64_t j = 0; j < L; ++j) d[j % B] = Op::combine(d[j % B], part[j]);
  for (int64_t i = full; i < n * B; ++i) d[i % B] = Op::combine(d[i % B], s[i]);  // leftover rows
}

// dst[a, b] = reduce over r in [r0, r1) of src[a, r, b], for a in [a0, a1) and b in [b0, b1).
template <class Op, class T>
void reduce_block(const T* src, T* dst, int64_t R, int64_t B, int64_t a, int64_t r0, int64_t r1, int64_t b0,
                  int64_t b1) {
  if (B == 1) {
    dst[a] = reduce_row<Op>(src + a * R + r0, r1 - r0);
    return;
  }
  if (B <= kNarrow / 2) {
    reduce_narrow_columns<Op>(src + (a * R + r0) * B, dst + a * B, r1 - r0, B);
    return;
  }
  // Rows are folded in chunks into a local block, then into d: two levels, as in reduce_row.
  constexpr int64_t kRowChunk = 64;
  T* d = dst + a * B + b0;
  const int64_t w = b1 - b0;
  T part[kColumnBlock];
  for (int64_t j = 0; j < w; ++j) d[j] = Op::template identity<T>();
  for (int64_t c = r0; c < r1; c += kRowChunk) {
    const T* s0 = src + (a * R + c) * B + b0;
    for (int64_t j = 0; j < w; ++j) part[j] = s0[j];
    for (int64_t r = c + 1; r < std::min(r1, c + kRowChunk); ++r) {
      const T* s = src + (a * R + r) * B + b0;
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) part[j] = Op::combine(part[j], s[j]);
    }
    for (int64_t j = 0; j < w; ++j) d[j] = Op::combine(d[j], part[j]);
  }
}

// Reduces contiguous src viewed as (A, R, B) over R into contiguous dst (A, B).
template <class Op, class T>
void reduce_arb(const T* src, T* dst, int64_t A, int64_t R, int64_t B) {
  const int64_t blocks = B == 1 ? 1 : (B + kColumnBlock - 1) / kColumnBlock;
  const int64_t block_w = B == 1 ? 1 : (B + blocks - 1) / blocks;
  const int64_t tasks = A * blocks;
  const int64_t work = A * R * B;
  const int64_t threads = work < kSerialWork ? 1 : config::get_num_threads();
  auto run = [&](T* out, int64_t parts, int64_t t0, int64_t t1) {
    const int64_t rlen = (R + parts - 1) / parts;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t p = t / tasks, a = (t % tasks) / blocks, blk = t % blocks;
      const int64_t b0 = blk * block_w, b1 = std::min(B, b0 + block_w);
      const int64_t r0 = std::min(R, p * rlen), r1 = std::min(R, r0 + rlen);
      reduce_block<Op>(src, out + p * A * B, R, B, a, r0, r1, b0, b1);
    }
  };
  if (tasks >= threads || R < 2 * threads) {
    const int64_t per_task = std::max<int64_t>(R * block_w, 1);
    parallel_for(tasks, std::max<int64_t>(1, kSerialWork / per_task),
                 [&](int64_t t0, int64_t t1) { run(dst, 1, t0, t1); });
    return;
  }
  // Too few outputs: split R into `parts` partial results, then reduce those (a small serial pass).
  const int64_t parts = std::min<int64_t>(threads, R);
  auto partial = std::make_unique<T[]>(parts * A * B);  // not std::vector: T may be bool
  parallel_for(parts * tasks, 1, [&](int64_t t0, int64_t t1) { run(partial.get(), parts, t0, t1); });
  reduce_arb<Op>(partial.get(), dst, 1, parts, A * B);
}

struct Group {
  int64_t size;
  bool reduced;
};

// Merged (size, reduced) groups of the input shape (Note [Reduction layout]).
std::vector<Group> merge_groups(const Shape& shape, const std::vector<int64_t>& axes) {
  std::vector<Group> g;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (shape[i] == 1) continue;
    bool red = std::binary_search(axes.begin(), axes.end(), i);
    if (!g.empty() && g.back().reduced == red) g.back().size *= shape[i];
    else g.push_back({shape[i], red});
  }
  return g;
}

Tensor contiguous_input(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor c = empty(x.shape(), x.dtype(), Device::cpu());
  detail::copy_cpu(x, c);
  return c;
}

template <class Op, class T>
void reduce_typed(const Tensor& x_in, const Tensor& out, const ReduceAttrs& attrs) {
  T* dst = static_cast<T*>(out.data_ptr());
  if (out.numel() == 0) return;
  if (x_in.numel() == 0) {
    std::fill(dst, dst + out.numel(), Op::template identity<T>());
    return;
  }
  Tensor x = contiguous_input(x_in);
  std::vector<Group> groups = merge_groups(x.shape(), attrs.axes);
  const T* src = static_cast<const T*>(x.data_ptr());
  std::unique_ptr<T[]> buf;  // intermediate result when several reduced groups remain
  while (true) {
    auto last = std::find_if(groups.rbegin(), groups.rend(), [](const Group& g) { return g.reduced; });
    if (last == groups.rend()) {  // nothing (left) to reduce: the data already is the result
      if (src != dst) std::memcpy(dst, src, out.numel() * sizeof(T));
      return;
    }
    const size_t gi = static_cast<size_t>(groups.rend() - last) - 1;
    int64_t A = 1, B = 1;
    bool more = false;
    for (size_t i = 0; i < groups.size(); ++i) {
      if (i < gi) {
        A *= groups[i].size;
        more = more || groups[i].reduced;
      }
      if (i > gi) B *= groups[i].size;
    }
    if (!more) {
      reduce_arb<Op>(src, dst, A, groups[gi].size, B);
      return;
    }
    auto next = std::make_unique<T[]>(A * B);
    reduce_arb<Op>(src, next.get(), A, groups[gi].size, B);
    buf = std::move(next);
    src = buf.get();
    groups.erase(groups.begin() + gi);
    groups = [&] {  // re-merge the neighbours of the removed group
      std::vector<Group> m;
      for (const Group& g : groups)
        if (!m.empty() && m.back().reduced == g.reduced) m.back().size *= g.size;
        else m.push_back(g);
      return m;
    }();
  }
}

template <class Op>
void reduce_cpu(const KernelArgs& a) {
  detail::visit_dtype(a.out[0].dtype(), [&]<class T>(detail::TypeTag<T>) {
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      throw DTypeError(detail::cat(op_name(a.op), ": the CPU kernel expects float16/bfloat16 to be reduced in ",
                                   "float32 (the glue casts)"));
    } else {
      reduce_typed<Op, T>(a.in[0], a.out[0], a.get<ReduceAttrs>());
    }
  });
}

// ArgMax/ArgMin over axis of (A, R, B): the first index of the extreme value, NaN counting as extreme.
template <bool kMax, class T>
void arg_reduce_typed(const Tensor& x_in, const Tensor& out, int64_t axis) {
  Tensor x = contiguous_input(x_in);
  const T* src = static_cast<const T*>(x.data_ptr());
  int64_t* dst = static_cast<int64_t*>(out.data_ptr());
  int64_t A = 1, B = 1;
  const int64_t R = x.shape()[axis];
  for (int64_t i = 0; i < x.ndim(); ++i) {
    if (i < axis) A *= x.shape()[i];
    if (i > axis) B *= x.shape()[i];
  }
  using Op = std::conditional_t<kMax, MaxOp, MinOp>;
  if (B == 1) {
    // Two vectorisable passes per row: the extreme value, then its first position.
    parallel_for(A, std::max<int64_t>(1, kSerialWork / std::max<int64_t>(R, 1)), [&](int64_t a0, int64_t a1) {
      for (int64_t a = a0; a < a1; ++a) {
        const T* p = src + a * R;
        const T m = reduce_row<Op>(p, R);
        int64_t i = 0;
        if (is_nan(m)) {
          while (!is_nan(p[i])) ++i;
        } else {
          while (p[i] != m) ++i;
        }
        dst[a] = i;
      }
    });
    return;
  }
  const int64_t blocks = (B + kColumnBlock - 1) / kColumnBlock;
  parallel_for(A * blocks, std::max<int64_t>(1, kSerialWork / (R * std::min(B, kColumnBlock))),
               [&](int64_t t0, int64_t t1) {
                 auto best = std::make_unique<T[]>(kColumnBlock);
                 for (int64_t t = t0; t < t1; ++t) {
                   const int64_t a = t / blocks, b0 = (t % blocks) * kColumnBlock;
                   const int64_t w = std::min(B, b0 + kColumnBlock) - b0;
                   int64_t* idx = dst + a * B + b0;
                   const T* s0 = src + a * R * B + b0;
                   for (int64_t j = 0; j < w; ++j) best[j] = s0[j], idx[j] = 0;
                   for (int64_t r = 1; r < R; ++r) {
                     const T* s = s0 + r * B;
#pragma omp simd
                     for (int64_t j = 0; j < w; ++j) {
                       const T v = s[j], b = best[j];
                       const bool better = (kMax ? v > b : v < b) || (is_nan(v) && !is_nan(b));
                       best[j] = better ? v : b;
                       idx[j] = better ? r : idx[j];
                     }
                   }
                 }
               });
}

template <bool kMax>
void arg_reduce_cpu(const KernelArgs& a) {
  detail::visit_dtype(a.in[0].dtype(), [&]<class T>(detail::TypeTag<T>) {
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      throw DTypeError(detail::cat(op_name(a.op), ": the CPU kernel expects float16/bfloat16 as float32"));
    } else {
      arg_reduce_typed<kMax, T>(a.in[0], a.out[0], a.get<ArgReduceAttrs>().axis);
    }
  });
}

KEEL_REGISTER_KERNEL(Sum, kCpu, reduce_cpu<SumOp>);
KEEL_REGISTER_KERNEL(Prod, kCpu, reduce_cpu<ProdOp>);
KEEL_REGISTER_KERNEL(Max, kCpu, reduce_cpu<MaxOp>);
KEEL_REGISTER_KERNEL(Min, kCpu, reduce_cpu<MinOp>);
KEEL_REGISTER_KERNEL(ArgMax, kCpu, arg_reduce_cpu<true>);
KEEL_REGISTER_KERNEL(ArgMin, kCpu, arg_reduce_cpu<false>);

}  // namespace
}  // namespace keel::cpu
