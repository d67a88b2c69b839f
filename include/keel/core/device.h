// Device: where a tensor's memory lives. Parses TensorFlow-style names ("/GPU:0", "/device:CPU:0",
// "/job:localhost/replica:0/task:0/device:GPU:1") as well as "cpu" and "cuda:N".
#pragma once
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

}  // namespace keel
