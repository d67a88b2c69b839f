// Device: where a tensor's memory lives. Parses TensorFlow-style names ("/GPU:0", "/device:CPU:0",
// "/job:localhost/replica:0/task:0/device:GPU:1") as well as "cpu" and "cuda:N". Also the default
// placement of new tensors: DeviceScope (tf.device) and default_device().
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace keel {

enum class DeviceType : uint8_t { kCPU, kCUDA };
inline constexpr int kNumDeviceTypes = 2;

struct Device {
  DeviceType type = DeviceType::kCPU;
  int index = 0;

  static Device cpu() { return {DeviceType::kCPU, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::kCUDA, index}; }
  /// Accepts "cpu", "CPU:0", "cuda", "cuda:1", "GPU:0", "/GPU:0", "/device:GPU:0" and full TF names;
  /// throws ValueError quoting the name otherwise.
  static Device parse(std::string_view name);

  bool is_cpu() const { return type == DeviceType::kCPU; }
  bool is_cuda() const { return type == DeviceType::kCUDA; }
  /// "cpu" or "cuda:N".
  std::string str() const;
  /// TensorFlow's name: "/device:CPU:0" or "/device:GPU:N".
  std::string tf_name() const;
  friend bool operator==(const Device&, const Device&) = default;
};

std::ostream& operator<<(std::ostream& os, const Device& d);

/// RAII: tensors created on this thread inside the scope default to `device` (tf.device("/GPU:0")).
/// Scopes nest; the innermost wins. A GPU scope needs that logical GPU to exist (ValueError otherwise),
/// so constructing one initializes the GPU runtime. Destroy on the creating thread, innermost first.
class DeviceScope {
 public:
  explicit DeviceScope(std::string_view device_name);
  explicit DeviceScope(Device d);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;
  Device device() const { return device_; }

 private:
  Device device_;
  const DeviceScope* outer_;
};

/// The device creation functions use when none is given: the innermost DeviceScope, else GPU:0 when a GPU
/// is visible, else the CPU (TensorFlow's default placement). Without a registered GPU runtime this is the
/// CPU and touches no GPU API; with one, the first call initializes it (like TensorFlow's first op).
Device default_device();

}  // namespace keel
