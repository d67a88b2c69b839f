// Shared oneDNN plumbing for the CPU backend: one engine and stream, memory descriptors for Keel tensors
// (with their real strides, so transposed views need no copy), and a primitive cache.
// Note [Primitive cache]: creating a oneDNN primitive (JIT code generation) costs 0.1-10 ms, running it
// microseconds, so every primitive is created once per key (op, shapes, strides, attributes) and kept.
#pragma once
#include <functional>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>

#include "keel/core/tensor.h"

namespace keel::cpu {

dnnl::engine& onednn_engine();
dnnl::stream& onednn_stream();

/// oneDNN data type of a Keel dtype (f32, bf16, f16, s32, u8); throws DTypeError naming `op` otherwise.
dnnl::memory::data_type onednn_dtype(DType dt, std::string_view op);
/// Descriptor of `t` with its shape and strides (a 0-d tensor becomes shape {1}).
dnnl::memory::desc onednn_desc(const Tensor& t, std::string_view op);
/// Descriptor with an explicit shape/strides over t's dtype (for reinterpreting, e.g. NHWC as 2-D).
dnnl::memory::desc onednn_desc(const Tensor& t, const dnnl::memory::dims& dims, const dnnl::memory::dims& strides,
                               std::string_view op);
/// oneDNN memory wrapping t's data (no copy).
dnnl::memory onednn_memory(const Tensor& t, const dnnl::memory::desc& desc);

/// Appends shape, strides and dtype of t to a cache key.
void append_key(std::string& key, const Tensor& t);

/// Thread-safe cache of arbitrary objects (primitives, primitive descriptors) by string key.
class PrimitiveCache {
 public:
  template <class T>
  std::shared_ptr<T> get_or_create(const std::string& key, const std::function<std::shared_ptr<T>()>& make) {
    {
      std::lock_guard lock(mu_);
      auto it = cache_.find(key);
      if (it != cache_.end()) return std::static_pointer_cast<T>(it->second);
    }
    std::shared_ptr<T> made = make();
    std::lock_guard lock(mu_);
    cache_.emplace(key, made);
    return made;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return cache_.size();
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<void>> cache_;
};
PrimitiveCache& primitive_cache();

/// primitive_cache().get_or_create, with the dnnl::error oneDNN throws for a configuration it has no
/// implementation of (e.g. bf16 on a CPU without bf16) turned into an UnimplementedError naming `op`.
template <class T, class F>
std::shared_ptr<T> cached_primitive(const std::string& key, std::string_view op, F&& make) {
  return primitive_cache().get_or_create<T>(key, [&]() -> std::shared_ptr<T> {
    try {
      return make();
    } catch (const dnnl::error& e) {
      throw UnimplementedError(
          detail::cat(op, ": oneDNN has no implementation for this configuration (", e.what(), ")"));
    }
  });
}

}  // namespace keel::cpu
