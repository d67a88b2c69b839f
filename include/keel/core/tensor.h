// Tensor: an n-dimensional view (shape, element strides, offset, dtype) onto reference-counted storage.
// Copies of a Tensor share the same storage and autograd state, like Python references; views made
// by reshape/transpose/slicing share storage with their base. Methods that need kernels or autograd
// (reshape, astype, to, backward, ...) are defined by the ops and autograd modules; see the notes.
#pragma once
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "keel/core/allocator.h"
#include "keel/core/device.h"
#include "keel/core/dtype.h"
#include "keel/core/error.h"
#include "keel/core/shape.h"

namespace keel {

class Tensor;

/// A block of device memory owned by one allocator, shared by every tensor viewing it.
struct Storage {
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  Allocator* allocator = nullptr;
};

/// Base of autograd graph nodes; the ops module defines the concrete node, the autograd module walks them.
struct GradNode {
  virtual ~GradNode() = default;
};

struct AutogradMeta;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;
  std::unique_ptr<AutogradMeta> autograd;
  ~TensorImpl();
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Strides& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  int64_t ndim() const { return static_cast<int64_t>(impl().shape.size()); }
  /// Extent of axis `axis` (negative counts from the end).
  int64_t dim(int64_t axis) const;
  int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device; }
  bool is_contiguous() const;
  /// Raw pointer to the first element of this view.
  void* data_ptr() const;
  /// Typed pointer; throws DTypeError if T does not match dtype().
  template <class T> T* data() const;
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }

  /// Copies to a host vector of T (converting from the tensor's dtype), row-major. T is an element type
  /// of a DType (float, double, Half, BFloat16, int32_t, int64_t, uint8_t, bool).
  template <TensorElement T> std::vector<T> to_vector() const;
  /// The single element of a tensor with numel() == 1, converted to T.
  template <TensorElement T> T item() const;

  // --- autograd state (core) ---
  /// Marks a floating-point leaf tensor as needing gradients; returns *this.
  Tensor& requires_grad_(bool requires_grad = true);
  bool requires_grad() const;
  /// Accumulated gradient of a leaf after backward(); undefined Tensor if none.
  Tensor grad() const;
  void set_grad(const Tensor& g) const;
  void zero_grad() const;
  /// A tensor sharing storage with this one but outside the autograd graph.
  Tensor detach() const;
  bool is_leaf() const;
  const std::shared_ptr<GradNode>& grad_fn() const;

  // --- defined by the autograd module ---
  /// Reverse-mode differentiation from this tensor. A non-scalar needs an explicit `grad_output`.
  void backward(const Tensor& grad_output = Tensor(), bool retain_graph = false) const;

  // --- defined by the ops module (they dispatch kernels and record autograd) ---
  Tensor reshape(const Shape& new_shape) const;  // one -1 allowed; a view when strides allow
  Tensor contiguous() const;                     // itself if already contiguous
  Tensor astype(DType dtype) const;
  Tensor to(Device device) const;
  Tensor clone() const;                          // a contiguous copy, differentiable

  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  /// True when both handles refer to the same tensor (not value equality).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);
/// Prints like NumPy/Keras: values, then shape and dtype.
std::string to_string(const Tensor& t);

// --- creation (all default to float32 on default_device(), evaluated per call) ---
/// Uninitialised contiguous tensor.
Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = default_device());
Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = default_device());
Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = default_device());
Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = default_device());
/// [start, stop) with `step`, like numpy.arange; float32 unless dtype is given.
Tensor arange(double start, double stop, double step = 1.0, DType dtype = DType::f32);
Tensor arange(double stop);
/// Copies host data; the dtype follows T (a TensorElement). Throws ShapeError when data.size() != numel(shape).
template <TensorElement T>
Tensor from_vector(const std::vector<T>& data, const Shape& shape, Device device = default_device());
/// A 0-d tensor holding `value`.
Tensor scalar_tensor(double value, DType dtype = DType::f32, Device device = default_device());

// --- template definitions (to_vector and from_vector are instantiated in tensor.cpp for every TensorElement) ---
template <class T>
T* Tensor::data() const {
  KEEL_CHECK(dtype() == dtype_of_v<T>, DTypeError, "Tensor::data: requested ", dtype_name(dtype_of_v<T>),
             " but the tensor is ", dtype_name(dtype()));
  return static_cast<T*>(data_ptr());
}

template <TensorElement T>
T Tensor::item() const {
  KEEL_CHECK(numel() == 1, ValueError, "Tensor::item: expected a tensor with one element, got shape ",
             shape_str(shape()));
  return to_vector<T>()[0];
}

// std::vector<bool> is bit-packed: specialised.
template <>
Tensor from_vector<bool>(const std::vector<bool>& data, const Shape& shape, Device device);
template <>
std::vector<bool> Tensor::to_vector<bool>() const;

}  // namespace keel
