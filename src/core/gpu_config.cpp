// TensorFlow's tf.config device options (tensorflow/python/eager/context.py) and their resolution into
// the layout of logical GPUs the registered GpuRuntime is initialized with (keras-reference §12.2).
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/gpu_runtime.h"
#include "keel/core/config.h"
#include "keel/core/error.h"

namespace keel {
namespace {

using config::LogicalDeviceConfiguration;
using config::PhysicalDevice;

struct ConfigState {
  gpu::GpuRuntime* counted_runtime = nullptr;  // the runtime physical_gpus was asked of
  std::optional<int> physical_gpus;
  std::optional<std::vector<PhysicalDevice>> visible;  // nullopt: every physical device
  std::map<int, bool> growth;                          // physical GPU index -> set_memory_growth
  std::map<int, std::vector<LogicalDeviceConfiguration>> logical;
  std::vector<LogicalDeviceConfiguration> cpu_logical;  // empty: one logical CPU
  std::vector<gpu::LogicalGpu> layout;
  bool initializing = false;  // inside GpuRuntime::initialize (re-entrant calls see the layout)
  bool initialized = false;
};

// Leaked on purpose: backends register and tensors may be created during static initialization or exit.
std::recursive_mutex& state_mutex() {
  static auto* mu = new std::recursive_mutex;
  return *mu;
}
ConfigState& state() {
  static auto* s = new ConfigState;
  return *s;
}
constinit std::atomic<gpu::GpuRuntime*> g_runtime{nullptr};
// Logical GPU count once initialized, -1 before: default_device() reads it without locking.
constinit std::atomic<int> g_logical_count{-1};

std::string physical_name(const std::string& type, int index) {
  return "/physical_device:" + type + ":" + std::to_string(index);
}
std::string describe(const PhysicalDevice& d) {
  return detail::cat("PhysicalDevice(name='", d.name, "', device_type='", d.device_type, "')");
}

// "", "CPU" or "GPU" (any case); ValueError naming anything else.
std::string normalize_type(const std::string& device_type, const char* fn) {
  std::string t = device_type;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::toupper(c); });
  KEEL_CHECK(t.empty() || t == "CPU" || t == "GPU", ValueError, fn, ": unknown device type '", device_type,
             "'; expected \"CPU\", \"GPU\" or \"\" for all types");
  return t;
}

int physical_gpu_count_locked(ConfigState& s) {
  gpu::GpuRuntime* rt = g_runtime.load();
  if (!s.physical_gpus || s.counted_runtime != rt) {
    s.physical_gpus = rt ? std::max(0, rt->physical_device_count()) : 0;
    s.counted_runtime = rt;
  }
  return *s.physical_gpus;
}

std::vector<PhysicalDevice> physical_devices_locked(ConfigState& s) {
  std::vector<PhysicalDevice> all{{physical_name("CPU", 0), "CPU", 0}};
  const int gpus = physical_gpu_count_locked(s);
  for (int i = 0; i < gpus; ++i) all.push_back({physical_name("GPU", i), "GPU", i});
  return all;
}

std::vector<PhysicalDevice> visible_devices_locked(ConfigState& s) {
  return s.visible ? *s.visible : physical_devices_locked(s);
}

std::vector<PhysicalDevice> of_type(const std::vector<PhysicalDevice>& devices, const std::string& type) {
  std::vector<PhysicalDevice> out;
  for (const auto& d : devices)
    if (type.empty() || d.device_type == type) out.push_back(d);
  return out;
}

void require_known_locked(ConfigState& s, const PhysicalDevice& d, const char* fn) {
  const auto all = physical_devices_locked(s);
  KEEL_CHECK(std::find(all.begin(), all.end(), d) != all.end(), ValueError, fn, ": unrecognized device ", describe(d),
             "; list_physical_devices() has ", all.size(), " device(s)");
}

bool initialized_locked(const ConfigState& s) { return s.initialized || s.initializing; }

// TF_FORCE_GPU_ALLOW_GROWTH semantics (tensorflow/core/common_runtime/gpu/gpu_bfc_allocator.cc): exactly
// "true" or "false" wins over the configuration, anything else is reported and ignored.
bool apply_growth_override(bool configured) {
  const char* name = "KEEL_GPU_ALLOW_GROWTH";
  const char* value = std::getenv(name);
  if (!value) {
    name = "TF_FORCE_GPU_ALLOW_GROWTH";
    value = std::getenv(name);
  }
  if (!value) return configured;
  const bool is_true = std::strcmp(value, "true") == 0;
  if (is_true || std::strcmp(value, "false") == 0) {
    if (is_true != configured)
      std::cerr << "Keel warning: overriding the memory growth setting because the " << name
                << " environment variable is set to \"" << value << "\". Original config value was "
                << (configured ? "true" : "false") << ".\n";
    return is_true;
  }
  std::cerr << "Keel error: the " << name << " environment variable is set but could not be parsed: \"" << value
            << "\". Valid values are \"true\" or \"false\". Using original config value of "
            << (configured ? "true" : "false") << ".\n";
  return configured;
}

// context.py's _compute_gpu_options: visible GPUs in physical order; memory growth only counts when no
// visible GPU is split into logical devices, and then must be the same (set or unset) on every one.
std::vector<gpu::LogicalGpu> resolve_layout_locked(ConfigState& s) {
  std::vector<int> gpus;
  for (const auto& d : of_type(visible_devices_locked(s), "GPU")) gpus.push_back(d.index);
  if (gpus.empty()) return {};
  const bool any_split = std::any_of(gpus.begin(), gpus.end(), [&](int g) { return s.logical.count(g) > 0; });
  auto growth_of = [&](int g) -> std::optional<bool> {
    auto it = s.growth.find(g);
    return it == s.growth.end() ? std::nullopt : std::optional<bool>(it->second);
  };
  auto show = [](std::optional<bool> g) { return g ? (*g ? "true" : "false") : "unset"; };
  bool configured = false;
  if (!any_split) {
    const std::optional<bool> first = growth_of(gpus[0]);
    for (int g : gpus)
      KEEL_CHECK(growth_of(g) == first, ValueError,
                 "Memory growth cannot differ between GPU devices: ", physical_name("GPU", gpus[0]), " has ",
                 show(first), " but ", physical_name("GPU", g), " has ", show(growth_of(g)),
                 "; call set_memory_growth on every visible GPU");
    configured = first.value_or(false);
  }
  const bool growth = apply_growth_override(configured);
  std::vector<gpu::LogicalGpu> layout;
  for (int g : gpus) {
    auto split = s.logical.find(g);
    if (split == s.logical.end()) {
      layout.push_back({g, std::nullopt, growth});
      continue;
    }
    for (const auto& c : split->second)
      layout.push_back({g, static_cast<size_t>(*c.memory_limit_mb) * 1024 * 1024, growth});
  }
  return layout;
}

}  // namespace

namespace config {

std::vector<PhysicalDevice> list_physical_devices(const std::string& device_type) {
  const std::string type = normalize_type(device_type, "list_physical_devices");
  std::lock_guard lock(state_mutex());
  return of_type(physical_devices_locked(state()), type);
}

void set_visible_devices(const std::vector<PhysicalDevice>& devices, const std::string& device_type) {
  const std::string type = normalize_type(device_type, "set_visible_devices");
  std::lock_guard lock(state_mutex());
  ConfigState& s = state();
  for (const auto& d : devices) {
    require_known_locked(s, d, "set_visible_devices");
    KEEL_CHECK(type.empty() || d.device_type == type, ValueError, "set_visible_devices: ", describe(d),
               " is not of device type '", type, "'");
  }
  // Devices of other types keep their visibility; the result is kept in physical order, so the order
  // of `devices` and duplicates in it do not matter.
  const auto current = visible_devices_locked(s);
  std::vector<PhysicalDevice> next;
  for (const auto& d : physical_devices_locked(s)) {
    const auto& from = (type.empty() || d.device_type == type) ? devices : current;
    if (std::find(from.begin(), from.end(), d) != from.end()) next.push_back(d);
  }
  KEEL_CHECK(!of_type(next, "CPU").empty(), ValueError,
             "set_visible_devices: the CPU cannot be hidden (Keel always runs host code on it)");
  if (next == current) return;
  KEEL_CHECK(!initialized_locked(s), RuntimeError, "Visible devices cannot be modified after being initialized");
  s.visible = std::move(next);
}

std::vector<PhysicalDevice> get_visible_devices(const std::string& device_type) {
  const std::string type = normalize_type(device_type, "get_visible_devices");
  std::lock_guard lock(state_mutex());
  return of_type(visible_devices_locked(state()), type);
}

void set_memory_growth(const PhysicalDevice& device, bool enable) {
  std::lock_guard lock(state_mutex());
  ConfigState& s = state();
  require_known_locked(s, device, "set_memory_growth");
  KEEL_CHECK(device.device_type == "GPU", ValueError, "Cannot set memory growth on non-GPU devices (", describe(device),
             ")");
  KEEL_CHECK(!s.logical.count(device.index), ValueError,
             "Cannot set memory growth on device when virtual devices configured (", describe(device),
             " has a logical device configuration)");
  if (auto it = s.growth.find(device.index); it != s.growth.end() && it->second == enable) return;
  KEEL_CHECK(!initialized_locked(s), RuntimeError, "Physical devices cannot be modified after being initialized");
  s.growth[device.index] = enable;
}

bool get_memory_growth(const PhysicalDevice& device) {
  std::lock_guard lock(state_mutex());
  ConfigState& s = state();
  require_known_locked(s, device, "get_memory_growth");
  KEEL_CHECK(device.device_type == "GPU", ValueError, "Cannot get memory growth on non-GPU devices (", describe(device),
             ")");
  auto it = s.growth.find(device.index);
  return it != s.growth.end() && it->second;
}

void set_logical_device_configuration(const PhysicalDevice& device,
                                      const std::vector<LogicalDeviceConfiguration>& logical) {
  std::lock_guard lock(state_mutex());
  ConfigState& s = state();
  require_known_locked(s, device, "set_logical_device_configuration");
  if (device.device_type == "CPU") {
    // As TensorFlow allows for testing: several logical CPUs sharing the host's memory and threads
    // (MirroredStrategy over "/CPU:0", "/CPU:1"). They take no memory limit.
    for (const auto& c : logical)
      KEEL_CHECK(!c.memory_limit_mb.has_value(), ValueError, "set_logical_device_configuration: ", describe(device),
                 ": logical CPU devices take no memory limit");
    s.cpu_logical = logical;
    return;
  }
  for (const auto& c : logical) {
    KEEL_CHECK(c.memory_limit_mb.has_value(), ValueError, "Setting memory limit is required for GPU virtual devices (",
               describe(device), ")");
    KEEL_CHECK(*c.memory_limit_mb > 0, ValueError, "set_logical_device_configuration: memory_limit_mb must be ",
               "positive, got ", *c.memory_limit_mb, " for ", describe(device));
  }
  auto it = s.logical.find(device.index);
  const bool unchanged = it == s.logical.end() ? logical.empty() : it->second == logical;
  if (unchanged) return;
  KEEL_CHECK(!initialized_locked(s), RuntimeError, "Virtual devices cannot be modified after being initialized");
  if (logical.empty())
    s.logical.erase(device.index);
  else
    s.logical[device.index] = logical;
}

std::vector<LogicalDeviceConfiguration> get_logical_device_configuration(const PhysicalDevice& device) {
  std::lock_guard lock(state_mutex());
  ConfigState& s = state();
  require_known_locked(s, device, "get_logical_device_configuration");
  auto it = s.logical.find(device.index);
  if (device.device_type == "CPU") return s.cpu_logical;
  return it != s.logical.end() ? it->second : std::vector<LogicalDeviceConfiguration>{};
}

std::vector<LogicalDevice> list_logical_devices(const std::string& device_type) {
  const std::string type = normalize_type(device_type, "list_logical_devices");
  const int gpus = gpu::logical_gpu_count();
  std::vector<LogicalDevice> out;
  if (type != "GPU") {
    std::lock_guard lock(state_mutex());
    const size_t cpus = std::max<size_t>(1, state().cpu_logical.size());
    for (size_t i = 0; i < cpus; ++i) out.push_back({Device{DeviceType::kCPU, static_cast<int>(i)}.tf_name(), "CPU"});
  }
  if (type != "CPU")
    for (int i = 0; i < gpus; ++i) out.push_back({Device::cuda(i).tf_name(), "GPU"});
  return out;
}

namespace {
// The runtime and logical index behind a device name such as "GPU:0"; initializes.
std::pair<gpu::GpuRuntime*, int> memory_stats_target(const std::string& device, const char* fn) {
  const Device d = Device::parse(device);
  KEEL_CHECK(d.is_cuda(), ValueError, fn, ": memory statistics are kept for GPU devices only, got '", device, "'");
  const int gpus = gpu::logical_gpu_count();
  KEEL_CHECK(d.index >= 0 && d.index < gpus, ValueError, fn, ": no device '", device, "'; ", gpus,
             " logical GPU(s) are visible");
  gpu::GpuRuntime* rt = g_runtime.load();
  KEEL_CHECK(rt != nullptr, RuntimeError, fn, ": the GPU runtime was unregistered");
  return {rt, d.index};
}
}  // namespace

MemoryInfo get_memory_info(const std::string& device) {
  auto [rt, index] = memory_stats_target(device, "get_memory_info");
  return rt->memory_info(index);
}

void reset_memory_stats(const std::string& device) {
  auto [rt, index] = memory_stats_target(device, "reset_memory_stats");
  rt->reset_memory_stats(index);
}

}  // namespace config

namespace gpu {

void register_gpu_runtime(GpuRuntime* runtime) { g_runtime.store(runtime); }
bool has_gpu_runtime() { return g_runtime.load(std::memory_order_relaxed) != nullptr; }
GpuRuntime* registered_gpu_runtime() { return g_runtime.load(); }

const std::vector<LogicalGpu>& ensure_initialized() {
  std::lock_guard lock(state_mutex());
  ConfigState& s = state();
  if (initialized_locked(s)) return s.layout;
  std::vector<LogicalGpu> layout = resolve_layout_locked(s);  // throws before anything changes
  if (!layout.empty()) {
    s.layout = std::move(layout);
    s.initializing = true;
    try {
      s.counted_runtime->initialize(s.layout);  // a non-empty layout was counted by this runtime
    } catch (...) {
      s.initializing = false;
      s.layout.clear();
      throw;
    }
    s.initializing = false;
  }
  s.initialized = true;
  g_logical_count.store(static_cast<int>(s.layout.size()), std::memory_order_release);
  return s.layout;
}

int logical_gpu_count() {
  const int n = g_logical_count.load(std::memory_order_acquire);
  return n >= 0 ? n : static_cast<int>(ensure_initialized().size());
}

bool initialized() {
  std::lock_guard lock(state_mutex());
  return initialized_locked(state());
}

void reset_for_testing() {
  std::lock_guard lock(state_mutex());
  state() = ConfigState{};
  g_logical_count.store(-1, std::memory_order_release);
}

}  // namespace gpu
}  // namespace keel
