// The CUDA side of the GPU runtime: logical GPUs (TensorFlow's virtual devices), each with its own
// caching allocator and stream on a physical CUDA device. Internal to the CUDA backend.
// Note [logical GPUs]: every index the backend receives (Device::index, the functions of
// cuda_context.h) is a LOGICAL GPU index. Several logical GPUs may share one physical device; each has
// its own allocator, memory limit, stream and library handles. physical_device() maps one to the other
// and is the only place CUDA device ordinals come from.
#pragma once
#include <cstddef>

#include "core/caching_allocator.h"

namespace keel::cuda {

/// Number of logical GPUs; initialises the GPU runtime (config is frozen from then on).
int logical_device_count();
/// The CUDA device ordinal that logical GPU `logical` runs on; ValueError naming the device when it
/// does not exist.
int physical_device(int logical);
/// The caching allocator of logical GPU `logical`.
memory::CachingAllocator& device_allocator(int logical);

/// Copies `nbytes` between host memory and logical GPU memory (or between two logical GPUs) on the
/// destination GPU's stream and waits for it. Large pageable host buffers go through pinned staging.
void copy_bytes(void* dst, bool dst_on_gpu, int dst_gpu, const void* src, bool src_on_gpu, int src_gpu, size_t nbytes);

}  // namespace keel::cuda
