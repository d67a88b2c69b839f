// oneDNN engine, stream, descriptors and the primitive cache (see onednn_common.h).
#include "backends/cpu/onednn_common.h"

namespace keel::cpu {

dnnl::engine& onednn_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}
dnnl::stream& onednn_stream() {
  // Streams are not thread-safe; each thread that runs kernels gets its own.
  thread_local dnnl::stream stream(onednn_engine());
  return stream;
}

dnnl::memory::data_type onednn_dtype(DType dt, std::string_view op) {
  using dt_t = dnnl::memory::data_type;
  switch (dt) {
    case DType::f32: return dt_t::f32;
    case DType::bf16: return dt_t::bf16;
    case DType::f16: return dt_t::f16;
    case DType::i32: return dt_t::s32;
    case DType::u8: return dt_t::u8;
    default:
      throw DTypeError(detail::cat(op, ": the CPU backend (oneDNN) does not support ", dtype_name(dt),
                                   "; use float32"));
  }
}

dnnl::memory::desc onednn_desc(const Tensor& t, const dnnl::memory::dims& dims, const dnnl::memory::dims& strides,
                               std::string_view op) {
  return dnnl::memory::desc(dims, onednn_dtype(t.dtype(), op), strides);
}

dnnl::memory::desc onednn_desc(const Tensor& t, std::string_view op) {
  if (t.ndim() == 0) return onednn_desc(t, {1}, {1}, op);
  dnnl::memory::dims dims(t.shape().begin(), t.shape().end());
  dnnl::memory::dims strides(t.strides().begin(), t.strides().end());
  return onednn_desc(t, dims, strides, op);
}

dnnl::memory onednn_memory(const Tensor& t, const dnnl::memory::desc& desc) {
  return dnnl::memory(desc, onednn_engine(), t.data_ptr());
}

void append_key(std::string& key, const Tensor& t) {
  key += '|';
  for (int64_t d : t.shape()) key += std::to_string(d) + ',';
  key += ';';
  for (int64_t s : t.strides()) key += std::to_string(s) + ',';
  key += ';';
  key += std::to_string(static_cast<int>(t.dtype()));
}

PrimitiveCache& primitive_cache() {
  static PrimitiveCache cache;
  return cache;
}

}  // namespace keel::cpu
