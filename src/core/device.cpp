// Device names: Keel's ("cpu", "cuda:1") and TensorFlow's ("/GPU:0", "/device:CPU:0", "/job:.../device:GPU:1").
#include "keel/core/device.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

#include "keel/core/error.h"

namespace keel {

Device Device::parse(std::string_view name) {
  std::string s(name);
  // TF full names: keep the part after the last "device:" (or the last '/').
  if (auto pos = s.rfind("device:"); pos != std::string::npos) s = s.substr(pos + 7);
  else if (auto slash = s.rfind('/'); slash != std::string::npos) s = s.substr(slash + 1);
  std::string kind = s.substr(0, s.find(':'));
  std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return std::tolower(c); });
  int index = 0;
  if (auto colon = s.find(':'); colon != std::string::npos) {
    std::string_view digits(s.data() + colon + 1, s.size() - colon - 1);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    KEEL_CHECK(ec == std::errc() && ptr == digits.data() + digits.size() && index >= 0, ValueError,
               "Invalid device name '", name, "': the index after ':' must be a non-negative integer");
  }
  if (kind == "cpu") return {DeviceType::kCPU, index};
  if (kind == "gpu" || kind == "cuda") return {DeviceType::kCUDA, index};
  throw ValueError(detail::cat("Invalid device name '", name,
                               "'. Expected e.g. \"cpu\", \"cuda:0\", \"/GPU:0\" or \"/device:CPU:0\""));
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
std::string Device::tf_name() const {
  return std::string(is_cpu() ? "/device:CPU:" : "/device:GPU:") + std::to_string(index);
}
std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }

}  // namespace keel
