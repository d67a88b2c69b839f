// Elementwise loop helper for the CPU kernels: runs a functor over 1-3 inputs and one fresh contiguous
// output with NumPy broadcasting.
//  - Every input contiguous with the output's shape, or a single element: one flat loop the compiler
//    vectorises (a single-element operand is hoisted into a register).
//  - Otherwise a strided walk over the output's axes after dropping size-1 axes and merging axes that are
//    contiguous for every operand; the innermost row runs a vectorisable loop when each input's inner
//    stride is 1 or 0 (bias-add style broadcasting), else a plain strided loop.
// Both split over threads with parallel_for above kParallelGrain elements.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "keel/core/config.h"
#include "ops/broadcast.h"
#include "ops/dispatch.h"
#include "backends/cpu/stream_store.h"

namespace keel::cpu {

/// Up to this many elements a loop runs on the calling thread (waking threads costs more than it saves).
inline constexpr int64_t kParallelGrain = 32768;
inline constexpr int kMaxLoopDims = 16;

/// Runs body(begin, end) over [0, n), in parallel for large n.
template <class Body> inline void parallel_range(int64_t n, Body&& body) {
  if (n > kParallelGrain && config::get_num_threads() > 1)
    parallel_for(n, kParallelGrain / 2, [&](int64_t b, int64_t e) { body(b, e); });
  else if (n > 0) body(int64_t{0}, n);
}

namespace detail_loop {

// Operand k of the loop reads p[i * stride] where stride is 1 (contiguous), 0 (one element) or runtime.
enum Access : int { kContig = 1, kBcast = 0, kStrided = 2 };

template <int A, class T> inline T load(const T* __restrict p, int64_t i, int64_t stride) {
  if constexpr (A == kContig) return p[i];
  else if constexpr (A == kBcast) return p[0];
  else return p[i * stride];
}

// One row of `len` outputs; the Access template arguments let the compiler vectorise the 0/1 cases.
template <int A0, int A1, int A2, class Out, class T0, class T1, class T2, class F>
inline void row(Out* __restrict o, const T0* __restrict p0, const T1* __restrict p1, const T2* __restrict p2,
                int64_t s0, int64_t s1, int64_t s2, int64_t len, const F& f) {
  constexpr int kArity = std::is_void_v<T2> ? (std::is_void_v<T1> ? 1 : 2) : 3;
  if constexpr (kArity == 1) {
    if constexpr (A0 == kBcast) {
      const Out v = f(p0[0]);
      for (int64_t i = 0; i < len; ++i)
        o[i] = v;
    } else {
      for (int64_t i = 0; i < len; ++i)
        o[i] = f(load<A0>(p0, i, s0));
    }
  } else if constexpr (kArity == 2) {
    if constexpr (A0 == kBcast) {
      const T0 a = p0[0];
      for (int64_t i = 0; i < len; ++i)
        o[i] = f(a, load<A1>(p1, i, s1));
    } else if constexpr (A1 == kBcast) {
      const T1 b = p1[0];
      for (int64_t i = 0; i < len; ++i)
        o[i] = f(load<A0>(p0, i, s0), b);
    } else {
      for (int64_t i = 0; i < len; ++i)
        o[i] = f(load<A0>(p0, i, s0), load<A1>(p1, i, s1));
    }
  } else {
    for (int64_t i = 0; i < len; ++i)
      o[i] = f(load<A0>(p0, i, s0), load<A1>(p1, i, s1), load<A2>(p2, i, s2));
  }
}

// Output shape with per-operand element strides (operand 0 is the output), size-1 axes dropped and
// mergeable axes merged. Always at least one axis.
template <size_t N> struct Plan {
  int nd = 0;
  std::array<int64_t, kMaxLoopDims> shape{};
  std::array<std::array<int64_t, kMaxLoopDims>, N> stride{};
};

template <size_t N> Plan<N> make_plan(const Shape& shape, const std::array<Strides, N>& strides) {
  KEEL_CHECK(shape.size() <= static_cast<size_t>(kMaxLoopDims), ShapeError, "elementwise CPU kernels support up to ",
             kMaxLoopDims, " axes, got shape ", shape_str(shape));
  Plan<N> p;
  // Walk from the innermost axis outwards, merging axis d into the current one when every operand
  // steps over the current axis exactly once per step of d.
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    if (shape[d] == 1) continue;
    bool merge = p.nd > 0;
    for (size_t k = 0; k < N && merge; ++k) {
      const int c = p.nd - 1;
      merge = strides[k][d] == p.stride[k][c] * p.shape[c];
    }
    if (merge) {
      p.shape[p.nd - 1] *= shape[d];
    } else {
      p.shape[p.nd] = shape[d];
      for (size_t k = 0; k < N; ++k)
        p.stride[k][p.nd] = strides[k][d];
      ++p.nd;
    }
  }
  if (p.nd == 0) {
    p.nd = 1;
    p.shape[0] = 1;
    for (size_t k = 0; k < N; ++k)
      p.stride[k][0] = 0;
  }
  // Stored innermost first above; reverse to outer-to-inner.
  std::reverse(p.shape.begin(), p.shape.begin() + p.nd);
  for (size_t k = 0; k < N; ++k)
    std::reverse(p.stride[k].begin(), p.stride[k].begin() + p.nd);
  return p;
}

// Calls row_fn(offsets, len) for each run of the innermost axis inside flat output range [begin, end).
template <size_t N, class RowFn>
void for_each_row(const Plan<N>& p, const std::array<int64_t, N>& base, int64_t begin, int64_t end, RowFn&& row_fn) {
  const int nd = p.nd;
  const int64_t inner = p.shape[nd - 1];
  std::array<int64_t, kMaxLoopDims> idx{};
  std::array<int64_t, N> off = base;
  int64_t rem = begin;
  for (int d = nd - 1; d >= 0; --d) {
    idx[d] = rem % p.shape[d];
    rem /= p.shape[d];
    for (size_t k = 0; k < N; ++k)
      off[k] += idx[d] * p.stride[k][d];
  }
  for (int64_t pos = begin; pos < end;) {
    const int64_t len = std::min(inner - idx[nd - 1], end - pos);
    row_fn(off, len);
    pos += len;
    idx[nd - 1] += len;
    for (size_t k = 0; k < N; ++k)
      off[k] += len * p.stride[k][nd - 1];
    if (idx[nd - 1] < inner) continue;
    for (size_t k = 0; k < N; ++k)
      off[k] -= inner * p.stride[k][nd - 1];
    idx[nd - 1] = 0;
    for (int d = nd - 2; d >= 0; --d) {
      for (size_t k = 0; k < N; ++k)
        off[k] += p.stride[k][d];
      if (++idx[d] < p.shape[d]) break;
      for (size_t k = 0; k < N; ++k)
        off[k] -= p.shape[d] * p.stride[k][d];
      idx[d] = 0;
    }
  }
}

inline int access_of(int64_t stride) { return stride == 1 ? kContig : stride == 0 ? kBcast : kStrided; }

// Picks the row instantiation for the runtime access pattern; only the common patterns are
// specialised, the rest share the all-strided loop.
template <class Out, class T0, class T1, class T2, class F>
void run_rows(Out* o, const T0* p0, const T1* p1, const T2* p2, const std::array<int64_t, 4>& s, int64_t len,
              const F& f) {
  constexpr int kArity = std::is_void_v<T2> ? (std::is_void_v<T1> ? 1 : 2) : 3;
  const int a0 = access_of(s[1]);
  const int a1 = kArity >= 2 ? access_of(s[2]) : kContig;
  const int a2 = kArity >= 3 ? access_of(s[3]) : kContig;
  if (a0 == kContig && a1 == kContig && a2 == kContig)
    return row<kContig, kContig, kContig>(o, p0, p1, p2, s[1], s[2], s[3], len, f);
  if constexpr (kArity == 1) {
    if (a0 == kBcast) return row<kBcast, kContig, kContig>(o, p0, p1, p2, s[1], s[2], s[3], len, f);
  } else if constexpr (kArity == 2) {
    if (a0 == kContig && a1 == kBcast) return row<kContig, kBcast, kContig>(o, p0, p1, p2, s[1], s[2], s[3], len, f);
    if (a0 == kBcast && a1 == kContig) return row<kBcast, kContig, kContig>(o, p0, p1, p2, s[1], s[2], s[3], len, f);
  } else {
    // where(mask, x, 0) and friends (the relu gradient): a scalar branch operand must not drop the row to the
    // strided loop, whose data-dependent branch mispredicts on every other element.
    if (a0 == kContig && a1 == kContig && a2 == kBcast)
      return row<kContig, kContig, kBcast>(o, p0, p1, p2, s[1], s[2], s[3], len, f);
    if (a0 == kContig && a1 == kBcast && a2 == kContig)
      return row<kContig, kBcast, kContig>(o, p0, p1, p2, s[1], s[2], s[3], len, f);
    if (a0 == kContig && a1 == kBcast && a2 == kBcast)
      return row<kContig, kBcast, kBcast>(o, p0, p1, p2, s[1], s[2], s[3], len, f);
  }
  row<kStrided, kStrided, kStrided>(o, p0, p1, p2, s[1], s[2], s[3], len, f);
}

template <class T> inline const T* typed(std::span<const Tensor> in, size_t k) {
  if constexpr (std::is_void_v<T>) return nullptr;
  else return static_cast<const T*>(in[k].data_ptr());
}

// p + i, or p itself for an absent (void) operand.
template <class T> inline const T* advance(const T* p, int64_t i) {
  if constexpr (std::is_void_v<T>) return p;
  else return p + i;
}

}  // namespace detail_loop

/// out[i] = f(in0[i], ...) over KernelArgs with 1-3 inputs (element types T0..T2; void for absent
/// inputs) and one contiguous output of type Out, broadcasting the inputs to the output's shape.
template <class Out, class T0, class T1 = void, class T2 = void, class F>
void elementwise_loop(const KernelArgs& args, const F& f) {
  using namespace detail_loop;
  constexpr size_t kIn = std::is_void_v<T2> ? (std::is_void_v<T1> ? 1 : 2) : 3;
  const Tensor& out = args.out[0];
  const int64_t n = out.numel();
  if (n == 0) return;
  Out* o = static_cast<Out*>(out.data_ptr());
  const T0* p0 = typed<T0>(args.in, 0);
  const T1* p1 = typed<T1>(args.in, 1);
  const T2* p2 = typed<T2>(args.in, 2);

  // Flat path: each input is either contiguous with the output's shape (stride 1) or one element (0).
  std::array<int64_t, 4> flat{1, 1, 1, 1};
  bool is_flat = true;
  for (size_t k = 0; k < kIn && is_flat; ++k) {
    const Tensor& t = args.in[k];
    if (t.numel() == 1) flat[k + 1] = 0;
    else is_flat = t.shape() == out.shape() && t.is_contiguous();
  }
  if (is_flat) {
    const bool stream = n * static_cast<int64_t>(sizeof(Out)) >= kStreamingStoreBytes;
    parallel_range(n, [&](int64_t b, int64_t e) {
      if (!stream) {
        run_rows(o + b, advance(p0, b * flat[1]), advance(p1, b * flat[2]), advance(p2, b * flat[3]), flat, e - b, f);
        return;
      }
      // Compute a cache-resident tile, then stream it out (Note [Streaming stores]).
      constexpr int64_t kTile = 4096 / sizeof(Out) * 4;
      alignas(64) Out tile[kTile];
      for (int64_t t = b; t < e; t += kTile) {
        const int64_t len = std::min(kTile, e - t);
        run_rows(tile, advance(p0, t * flat[1]), advance(p1, t * flat[2]), advance(p2, t * flat[3]), flat, len, f);
        stream_copy(o + t, tile, len);
      }
      stream_fence();
    });
    return;
  }

  // Strided path. Offsets are relative to each operand's data_ptr().
  std::array<Strides, kIn + 1> strides;
  strides[0] = out.strides();
  for (size_t k = 0; k < kIn; ++k)
    strides[k + 1] = broadcast_strides(args.in[k], out.shape());
  const Plan<kIn + 1> plan = make_plan(out.shape(), strides);
  std::array<int64_t, 4> inner{1, 0, 0, 0};
  for (size_t k = 0; k <= kIn; ++k)
    inner[k] = plan.stride[k][plan.nd - 1];
  parallel_range(n, [&](int64_t b, int64_t e) {
    for_each_row(plan, std::array<int64_t, kIn + 1>{}, b, e, [&](const std::array<int64_t, kIn + 1>& off, int64_t len) {
      run_rows(o + off[0], p0 + off[1], advance(p1, off[std::min<size_t>(2, kIn)]),
               advance(p2, off[std::min<size_t>(3, kIn)]), inner, len, f);
    });
  });
}

/// Calls fn(TypeTag<T>{}) for the dtypes elementwise kernels compute in: float32/float64, plus
/// int32/int64/uint8/bool when kInts. 16-bit floats are converted first (run_half_as_float32).
template <bool kInts, class F> void visit_compute(DType dt, OpId op, F&& fn) {
  using keel::detail::TypeTag;
  switch (dt) {
    case DType::f32:
      return fn(TypeTag<float>{});
    case DType::f64:
      return fn(TypeTag<double>{});
    default:
      break;
  }
  if constexpr (kInts) {
    switch (dt) {
      case DType::i32:
        return fn(TypeTag<int32_t>{});
      case DType::i64:
        return fn(TypeTag<int64_t>{});
      case DType::u8:
        return fn(TypeTag<uint8_t>{});
      case DType::b8:
        return fn(TypeTag<bool>{});
      default:
        break;
    }
  }
  throw DTypeError(keel::detail::cat(op_name(op), ": the CPU kernel does not support dtype ", dtype_name(dt)));
}

/// float16/bfloat16 operands: runs `body` on float32 copies and converts the outputs back (compute in
/// float32, as the dtype notes say). Returns false, doing nothing, when no operand is 16-bit.
inline bool run_half_as_float32(const KernelArgs& a, KernelFn body) {
  auto is16 = [](const Tensor& t) { return t.dtype() == DType::f16 || t.dtype() == DType::bf16; };
  bool any = std::any_of(a.in.begin(), a.in.end(), is16) || std::any_of(a.out.begin(), a.out.end(), is16);
  if (!any) return false;
  std::vector<Tensor> in, out;
  for (const Tensor& t : a.in) {
    if (!is16(t)) {
      in.push_back(t);
      continue;
    }
    in.push_back(empty(t.shape(), DType::f32, t.device()));
    keel::detail::copy_cpu(t, in.back());
  }
  for (const Tensor& t : a.out)
    out.push_back(is16(t) ? empty(t.shape(), DType::f32, t.device()) : t);
  body(KernelArgs{a.op, in, out, a.attrs});
  for (size_t i = 0; i < out.size(); ++i)
    if (is16(a.out[i])) keel::detail::copy_cpu(out[i], a.out[i]);
  return true;
}

}  // namespace keel::cpu
