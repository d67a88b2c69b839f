// Copies with non-temporal (streaming) stores. Note [Streaming stores]: an ordinary store to memory that
// is not in cache first reads the line (read-for-ownership), so a kernel writing a large fresh output moves
// 4 bytes of traffic per 3 it needs (add: two reads, one read-for-ownership, one write). Streaming stores
// skip that read; elementwise kernels use them for outputs too large to stay in cache anyway.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace keel::cpu {

/// Outputs at least this large are written with streaming stores.
inline constexpr int64_t kStreamingStoreBytes = int64_t{16} << 20;

/// dst[0, n) = src[0, n) with streaming stores where dst is 64-byte aligned; ordinary stores elsewhere.
/// Callers must issue stream_fence() before other threads read dst.
template <class T>
inline void stream_copy(T* dst, const T* src, int64_t n) {
  int64_t i = 0;
  char* d = reinterpret_cast<char*>(dst);
  const char* s = reinterpret_cast<const char*>(src);
  const int64_t bytes = n * static_cast<int64_t>(sizeof(T));
  const int64_t head = std::min<int64_t>(bytes, (64 - reinterpret_cast<uintptr_t>(d) % 64) % 64);
  std::memcpy(d, s, head);
  i = head;
#if defined(__AVX512F__)
  for (; i + 64 <= bytes; i += 64) _mm512_stream_si512(reinterpret_cast<__m512i*>(d + i), _mm512_loadu_si512(s + i));
#elif defined(__AVX__)
  for (; i + 32 <= bytes; i += 32)
    _mm256_stream_si256(reinterpret_cast<__m256i*>(d + i), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i)));
#else
  for (; i + 16 <= bytes; i += 16)
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + i), _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
#endif
  std::memcpy(d + i, s + i, bytes - i);
}

inline void stream_fence() { _mm_sfence(); }

}  // namespace keel::cpu
