// tf.config device options against a fake GpuRuntime (two 16 GiB GPUs) that records the layout it was
// initialized with: visible devices, memory growth and its environment override, logical splits, the
// errors after initialization, default placement and DeviceScope, memory statistics routing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/gpu_runtime.h"
#include "keel/keel.h"

namespace keel {
namespace {

using config::LogicalDevice;
using config::LogicalDeviceConfiguration;
using config::PhysicalDevice;
using gpu::LogicalGpu;

constexpr size_t kMiB = 1024 * 1024;

class FakeGpuRuntime : public gpu::GpuRuntime {
 public:
  explicit FakeGpuRuntime(int gpus) : gpus_(gpus) {}
  int physical_device_count() override { return gpus_; }
  std::string device_description(int i) override { return "Fake GPU " + std::to_string(i) + ", 16.0 GiB"; }
  void initialize(const std::vector<LogicalGpu>& layout) override {
    ++init_calls;
    count_seen_inside_initialize = gpu::logical_gpu_count();  // re-entrant use must not deadlock or recurse
    if (fail_next_initialize) {
      fail_next_initialize = false;
      throw RuntimeError("fake initialize failure");
    }
    layout_ = layout;
  }
  // Distinct numbers per logical GPU so routing is visible.
  config::MemoryInfo memory_info(int logical) override { return {1000 * (logical + 1), 5000 * (logical + 1)}; }
  void reset_memory_stats(int logical) override { reset_calls.push_back(logical); }

  const std::vector<LogicalGpu>& layout() const { return layout_; }
  int init_calls = 0;
  int count_seen_inside_initialize = -1;
  bool fail_next_initialize = false;
  std::vector<int> reset_calls;

 private:
  int gpus_;
  std::vector<LogicalGpu> layout_;
};

class GpuConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = gpu::registered_gpu_runtime();  // the real CUDA runtime, in a CUDA build
    gpu::register_gpu_runtime(nullptr);
    gpu::reset_for_testing();
    clear_env();
  }
  void TearDown() override {
    gpu::register_gpu_runtime(saved_);
    gpu::reset_for_testing();
    clear_env();
  }
  static void clear_env() {
    unsetenv("KEEL_GPU_ALLOW_GROWTH");
    unsetenv("TF_FORCE_GPU_ALLOW_GROWTH");
  }
  FakeGpuRuntime& use_fake(int gpus = 2) {
    fake_ = std::make_unique<FakeGpuRuntime>(gpus);
    gpu::register_gpu_runtime(fake_.get());
    return *fake_;
  }
  static PhysicalDevice gpu_dev(int i) { return {"/physical_device:GPU:" + std::to_string(i), "GPU", i}; }
  static PhysicalDevice cpu_dev() { return {"/physical_device:CPU:0", "CPU", 0}; }
  static std::vector<std::string> names(const std::vector<LogicalDevice>& ds) {
    std::vector<std::string> out;
    for (const auto& d : ds) out.push_back(d.name);
    return out;
  }

  std::unique_ptr<FakeGpuRuntime> fake_;
  gpu::GpuRuntime* saved_ = nullptr;
};

// Runs fn, expects it to throw E, and returns the message.
template <class E, class Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception";
  return "";
}

TEST_F(GpuConfigTest, WithoutRuntimeOnlyTheCpuExists) {
  EXPECT_EQ(config::list_physical_devices(), std::vector<PhysicalDevice>{cpu_dev()});
  EXPECT_EQ(config::list_physical_devices("CPU"), std::vector<PhysicalDevice>{cpu_dev()});
  EXPECT_TRUE(config::list_physical_devices("GPU").empty());
  EXPECT_EQ(config::get_visible_devices(), std::vector<PhysicalDevice>{cpu_dev()});
  // Default placement needs no initialization without a runtime.
  EXPECT_EQ(default_device(), Device::cpu());
  EXPECT_FALSE(gpu::initialized());
  EXPECT_EQ(zeros({2}).device(), Device::cpu());

  EXPECT_EQ(names(config::list_logical_devices()), std::vector<std::string>{"/device:CPU:0"});
  EXPECT_TRUE(config::list_logical_devices("GPU").empty());
  EXPECT_TRUE(gpu::initialized());
  EXPECT_EQ(gpu::logical_gpu_count(), 0);
  EXPECT_TRUE(gpu::ensure_initialized().empty());
  EXPECT_EQ(default_device(), Device::cpu());
  EXPECT_NE(error_of<ValueError>([] { config::get_memory_info("GPU:0"); }).find("0 logical GPU(s)"), std::string::npos);
  EXPECT_THROW(DeviceScope("/GPU:0"), ValueError);
}

TEST_F(GpuConfigTest, RuntimeWithZeroDevicesIsNeverInitialized) {
  FakeGpuRuntime& fake = use_fake(0);
  EXPECT_TRUE(config::list_physical_devices("GPU").empty());
  EXPECT_EQ(default_device(), Device::cpu());
  EXPECT_TRUE(gpu::initialized());
  EXPECT_EQ(names(config::list_logical_devices()), std::vector<std::string>{"/device:CPU:0"});
  EXPECT_EQ(fake.init_calls, 0);
}

TEST_F(GpuConfigTest, ListsPhysicalDevicesByType) {
  use_fake(2);
  const std::vector<PhysicalDevice> gpus{gpu_dev(0), gpu_dev(1)};
  EXPECT_EQ(config::list_physical_devices("GPU"), gpus);
  EXPECT_EQ(config::list_physical_devices("gpu"), gpus);
  EXPECT_EQ(config::list_physical_devices(), (std::vector<PhysicalDevice>{cpu_dev(), gpu_dev(0), gpu_dev(1)}));
  EXPECT_EQ(config::list_physical_devices("GPU")[1].name, "/physical_device:GPU:1");
  EXPECT_NE(error_of<ValueError>([] { config::list_physical_devices("TPU"); }).find("'TPU'"), std::string::npos);
  EXPECT_THROW(config::get_visible_devices("XLA_GPU"), ValueError);
  EXPECT_FALSE(gpu::initialized());  // listing physical devices does not initialize
}

TEST_F(GpuConfigTest, DefaultLayoutIsOneLogicalGpuPerPhysicalGpu) {
  FakeGpuRuntime& fake = use_fake(2);
  EXPECT_EQ(names(config::list_logical_devices()),
            (std::vector<std::string>{"/device:CPU:0", "/device:GPU:0", "/device:GPU:1"}));
  EXPECT_EQ(names(config::list_logical_devices("GPU")), (std::vector<std::string>{"/device:GPU:0", "/device:GPU:1"}));
  EXPECT_EQ(config::list_logical_devices("GPU")[0].device_type, "GPU");
  EXPECT_EQ(fake.layout(), (std::vector<LogicalGpu>{{0, std::nullopt, false}, {1, std::nullopt, false}}));
  EXPECT_EQ(gpu::logical_gpu_count(), 2);
  EXPECT_EQ(default_device(), Device::cuda(0));
  EXPECT_EQ(fake.init_calls, 1);  // exactly once, however often it is asked
  EXPECT_EQ(fake.count_seen_inside_initialize, 2);
}

TEST_F(GpuConfigTest, VisibleDevicesSelectAndRenumberGpus) {
  FakeGpuRuntime& fake = use_fake(2);
  config::set_visible_devices({gpu_dev(1)}, "GPU");
  EXPECT_EQ(config::get_visible_devices("GPU"), std::vector<PhysicalDevice>{gpu_dev(1)});
  EXPECT_EQ(config::get_visible_devices(), (std::vector<PhysicalDevice>{cpu_dev(), gpu_dev(1)}));
  EXPECT_EQ(names(config::list_logical_devices("GPU")), std::vector<std::string>{"/device:GPU:0"});
  // Logical GPU:0 is physical GPU 1.
  EXPECT_EQ(fake.layout(), (std::vector<LogicalGpu>{{1, std::nullopt, false}}));
}

TEST_F(GpuConfigTest, VisibleDevicesKeepPhysicalOrderAndOtherTypes) {
  FakeGpuRuntime& fake = use_fake(2);
  config::set_visible_devices({gpu_dev(1), gpu_dev(0), gpu_dev(1)}, "GPU");
  EXPECT_EQ(config::get_visible_devices("GPU"), (std::vector<PhysicalDevice>{gpu_dev(0), gpu_dev(1)}));
  config::set_visible_devices({cpu_dev(), gpu_dev(1)});  // all types at once
  EXPECT_EQ(config::get_visible_devices(), (std::vector<PhysicalDevice>{cpu_dev(), gpu_dev(1)}));
  config::set_visible_devices({cpu_dev()}, "CPU");  // leaves the GPUs as they were
  EXPECT_EQ(config::get_visible_devices("GPU"), std::vector<PhysicalDevice>{gpu_dev(1)});
  gpu::ensure_initialized();
  EXPECT_EQ(fake.layout(), (std::vector<LogicalGpu>{{1, std::nullopt, false}}));
}

TEST_F(GpuConfigTest, HidingEveryGpuMeansCpuPlacementAndNoInitialize) {
  FakeGpuRuntime& fake = use_fake(2);
  config::set_visible_devices({}, "GPU");
  EXPECT_TRUE(config::get_visible_devices("GPU").empty());
  EXPECT_EQ(default_device(), Device::cpu());
  EXPECT_TRUE(config::list_logical_devices("GPU").empty());
  EXPECT_EQ(fake.init_calls, 0);
  EXPECT_EQ(config::list_physical_devices("GPU").size(), 2u);  // still exist physically
}

TEST_F(GpuConfigTest, VisibleDevicesRejectUnknownWrongTypeAndHiddenCpu) {
  use_fake(2);
  const std::string unknown = error_of<ValueError>([] {
    config::set_visible_devices({{"/physical_device:GPU:7", "GPU", 7}}, "GPU");
  });
  EXPECT_NE(unknown.find("/physical_device:GPU:7"), std::string::npos) << unknown;
  EXPECT_THROW(config::set_visible_devices({cpu_dev()}, "GPU"), ValueError);
  EXPECT_THROW(config::set_visible_devices({gpu_dev(0)}, "TPU"), ValueError);
  const std::string hidden = error_of<ValueError>([] { config::set_visible_devices({gpu_dev(0)}); });
  EXPECT_NE(hidden.find("CPU cannot be hidden"), std::string::npos) << hidden;
  EXPECT_EQ(config::get_visible_devices().size(), 3u);  // failed calls changed nothing
}

TEST_F(GpuConfigTest, ChangesAfterInitializationRaiseTensorFlowsErrors) {
  use_fake(2);
  config::set_memory_growth(gpu_dev(0), true);
  config::set_memory_growth(gpu_dev(1), true);
  config::list_logical_devices();
  EXPECT_TRUE(gpu::initialized());

  EXPECT_EQ(error_of<RuntimeError>([] { config::set_visible_devices({gpu_dev(0)}, "GPU"); }),
            "Visible devices cannot be modified after being initialized");
  EXPECT_EQ(error_of<RuntimeError>([] { config::set_memory_growth(gpu_dev(0), false); }),
            "Physical devices cannot be modified after being initialized");
  EXPECT_EQ(error_of<RuntimeError>([] { config::set_logical_device_configuration(gpu_dev(0), {{1024}}); }),
            "Virtual devices cannot be modified after being initialized");
  // Re-stating the current configuration is not a change (as in TensorFlow).
  EXPECT_NO_THROW(config::set_visible_devices({gpu_dev(0), gpu_dev(1)}, "GPU"));
  EXPECT_NO_THROW(config::set_memory_growth(gpu_dev(1), true));
  EXPECT_NO_THROW(config::set_logical_device_configuration(gpu_dev(0), {}));
}

TEST_F(GpuConfigTest, MemoryGrowthOnEveryGpu) {
  FakeGpuRuntime& fake = use_fake(2);
  EXPECT_FALSE(config::get_memory_growth(gpu_dev(0)));
  config::set_memory_growth(gpu_dev(0), true);
  config::set_memory_growth(gpu_dev(1), true);
  EXPECT_TRUE(config::get_memory_growth(gpu_dev(1)));
  gpu::ensure_initialized();
  EXPECT_EQ(fake.layout(), (std::vector<LogicalGpu>{{0, std::nullopt, true}, {1, std::nullopt, true}}));
}

TEST_F(GpuConfigTest, DifferingGrowthIsAValueErrorAtInitializationAndCanBeFixed) {
  FakeGpuRuntime& fake = use_fake(2);
  config::set_memory_growth(gpu_dev(0), true);  // GPU 1 left unset: differs, as in TensorFlow
  const std::string msg = error_of<ValueError>([] { config::list_logical_devices(); });
  EXPECT_NE(msg.find("Memory growth cannot differ between GPU devices"), std::string::npos) << msg;
  EXPECT_FALSE(gpu::initialized());
  EXPECT_EQ(fake.init_calls, 0);
  config::set_memory_growth(gpu_dev(1), false);
  EXPECT_THROW(gpu::ensure_initialized(), ValueError);  // true vs false differs too
  config::set_memory_growth(gpu_dev(1), true);
  EXPECT_EQ(gpu::logical_gpu_count(), 2);
  EXPECT_TRUE(fake.layout()[1].allow_growth);
}

TEST_F(GpuConfigTest, GrowthOnlyNeedsToAgreeAmongVisibleGpus) {
  FakeGpuRuntime& fake = use_fake(2);
  config::set_visible_devices({gpu_dev(0)}, "GPU");
  config::set_memory_growth(gpu_dev(0), true);
  gpu::ensure_initialized();
  EXPECT_EQ(fake.layout(), (std::vector<LogicalGpu>{{0, std::nullopt, true}}));
}

TEST_F(GpuConfigTest, EnvironmentForcesGrowthOnWithAWarning) {
  FakeGpuRuntime& fake = use_fake(2);
  setenv("KEEL_GPU_ALLOW_GROWTH", "true", 1);
  testing::internal::CaptureStderr();
  gpu::ensure_initialized();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("KEEL_GPU_ALLOW_GROWTH"), std::string::npos) << err;
  EXPECT_NE(err.find("Original config value was false"), std::string::npos) << err;
  EXPECT_EQ(fake.layout(), (std::vector<LogicalGpu>{{0, std::nullopt, true}, {1, std::nullopt, true}}));
}

TEST_F(GpuConfigTest, EnvironmentForcesGrowthOff) {
  FakeGpuRuntime& fake = use_fake(2);
  config::set_memory_growth(gpu_dev(0), true);
  config::set_memory_growth(gpu_dev(1), true);
  setenv("KEEL_GPU_ALLOW_GROWTH", "false", 1);
  testing::internal::CaptureStderr();
  gpu::ensure_initialized();
  EXPECT_NE(testing::internal::GetCapturedStderr().find("Original config value was true"), std::string::npos);
  EXPECT_FALSE(fake.layout()[0].allow_growth);
  EXPECT_FALSE(fake.layout()[1].allow_growth);
}

TEST_F(GpuConfigTest, EnvironmentAgreeingWithTheConfigIsSilent) {
  FakeGpuRuntime& fake = use_fake(2);
  setenv("KEEL_GPU_ALLOW_GROWTH", "false", 1);
  testing::internal::CaptureStderr();
  gpu::ensure_initialized();
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_FALSE(fake.layout()[0].allow_growth);
}

TEST_F(GpuConfigTest, UnparsableEnvironmentValueIsReportedAndIgnored) {
  FakeGpuRuntime& fake = use_fake(2);
  config::set_memory_growth(gpu_dev(0), true);
  config::set_memory_growth(gpu_dev(1), true);
  setenv("KEEL_GPU_ALLOW_GROWTH", "True", 1);  // only exactly "true" counts
  testing::internal::CaptureStderr();
  gpu::ensure_initialized();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("could not be parsed: \"True\""), std::string::npos) << err;
  EXPECT_TRUE(fake.layout()[0].allow_growth);
}

TEST_F(GpuConfigTest, TensorFlowEnvironmentNameIsTheFallback) {
  FakeGpuRuntime& fake = use_fake(2);
  setenv("TF_FORCE_GPU_ALLOW_GROWTH", "true", 1);
  testing::internal::CaptureStderr();
  gpu::ensure_initialized();
  EXPECT_NE(testing::internal::GetCapturedStderr().find("TF_FORCE_GPU_ALLOW_GROWTH"), std::string::npos);
  EXPECT_TRUE(fake.layout()[0].allow_growth);

  gpu::reset_for_testing();
  setenv("KEEL_GPU_ALLOW_GROWTH", "false", 1);  // Keel's name wins when both are set
  gpu::ensure_initialized();
  EXPECT_FALSE(fake.layout()[0].allow_growth);
}

TEST_F(GpuConfigTest, LogicalDevicesSplitAGpuWithLimits) {
  FakeGpuRuntime& fake = use_fake(2);
  const std::vector<LogicalDeviceConfiguration> split{{2048}, {4096}};
  config::set_logical_device_configuration(gpu_dev(0), split);
  EXPECT_EQ(config::get_logical_device_configuration(gpu_dev(0)), split);
  EXPECT_TRUE(config::get_logical_device_configuration(gpu_dev(1)).empty());
  EXPECT_EQ(names(config::list_logical_devices("GPU")),
            (std::vector<std::string>{"/device:GPU:0", "/device:GPU:1", "/device:GPU:2"}));
  EXPECT_EQ(fake.layout(),
            (std::vector<LogicalGpu>{{0, 2048 * kMiB, false}, {0, 4096 * kMiB, false}, {1, std::nullopt, false}}));
}

TEST_F(GpuConfigTest, EmptyLogicalConfigurationUndoesTheSplit) {
  FakeGpuRuntime& fake = use_fake(1);
  config::set_logical_device_configuration(gpu_dev(0), {{1000}, {1000}});
  config::set_logical_device_configuration(gpu_dev(0), {});
  EXPECT_TRUE(config::get_logical_device_configuration(gpu_dev(0)).empty());
  gpu::ensure_initialized();
  EXPECT_EQ(fake.layout(), (std::vector<LogicalGpu>{{0, std::nullopt, false}}));
}

TEST_F(GpuConfigTest, LogicalSplitOfAnInvisibleGpuIsIgnored) {
  FakeGpuRuntime& fake = use_fake(2);
  config::set_logical_device_configuration(gpu_dev(0), {{1000}, {1000}});
  config::set_visible_devices({gpu_dev(1)}, "GPU");
  gpu::ensure_initialized();
  EXPECT_EQ(fake.layout(), (std::vector<LogicalGpu>{{1, std::nullopt, false}}));
}

TEST_F(GpuConfigTest, LogicalDeviceLimitsAreValidated) {
  use_fake(2);
  EXPECT_NE(error_of<ValueError>([] {
              config::set_logical_device_configuration(gpu_dev(0), {{}});
            }).find("Setting memory limit is required"),
            std::string::npos);
  for (int64_t bad : {0, -5}) {
    const std::string msg = error_of<ValueError>([&] {
      config::set_logical_device_configuration(gpu_dev(0), {{1024}, {bad}});
    });
    EXPECT_NE(msg.find("memory_limit_mb must be positive, got " + std::to_string(bad)), std::string::npos) << msg;
  }
  EXPECT_THROW(config::set_logical_device_configuration(cpu_dev(), {{1024}}), ValueError);
  EXPECT_THROW(config::set_logical_device_configuration(gpu_dev(2), {{1024}}), ValueError);
  EXPECT_TRUE(config::get_logical_device_configuration(gpu_dev(0)).empty());  // nothing half-applied
}

TEST_F(GpuConfigTest, MemoryGrowthIsNotAllowedWithLogicalDevices) {
  use_fake(2);
  config::set_logical_device_configuration(gpu_dev(0), {{1024}, {1024}});
  const std::string msg = error_of<ValueError>([] { config::set_memory_growth(gpu_dev(0), true); });
  EXPECT_NE(msg.find("Cannot set memory growth on device when virtual devices configured"), std::string::npos) << msg;
  EXPECT_NO_THROW(config::set_memory_growth(gpu_dev(1), true));  // the other GPU is not split
  EXPECT_THROW(config::set_memory_growth(cpu_dev(), true), ValueError);
  EXPECT_THROW(config::get_memory_growth(cpu_dev()), ValueError);
  EXPECT_THROW(config::set_memory_growth({"/physical_device:GPU:9", "GPU", 9}, true), ValueError);
}

TEST_F(GpuConfigTest, WithLogicalDevicesConfiguredGrowthComesOnlyFromTheEnvironment) {
  // TensorFlow's _compute_gpu_options ignores allow_growth once virtual devices exist; the environment
  // override still applies to every allocator.
  FakeGpuRuntime& fake = use_fake(2);
  config::set_logical_device_configuration(gpu_dev(0), {{3000}});
  config::set_memory_growth(gpu_dev(1), true);  // differs from GPU 0 but is not checked
  gpu::ensure_initialized();
  EXPECT_EQ(fake.layout(), (std::vector<LogicalGpu>{{0, 3000 * kMiB, false}, {1, std::nullopt, false}}));

  gpu::reset_for_testing();
  config::set_logical_device_configuration(gpu_dev(0), {{3000}});
  setenv("KEEL_GPU_ALLOW_GROWTH", "true", 1);
  testing::internal::CaptureStderr();
  gpu::ensure_initialized();
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(fake.layout(), (std::vector<LogicalGpu>{{0, 3000 * kMiB, true}, {1, std::nullopt, true}}));
}

TEST_F(GpuConfigTest, FailedRuntimeInitializationCanBeRetried) {
  FakeGpuRuntime& fake = use_fake(2);
  fake.fail_next_initialize = true;
  EXPECT_THROW(gpu::ensure_initialized(), RuntimeError);
  EXPECT_FALSE(gpu::initialized());
  EXPECT_EQ(gpu::logical_gpu_count(), 2);
  EXPECT_EQ(fake.init_calls, 2);
  EXPECT_EQ(fake.layout().size(), 2u);
}

TEST_F(GpuConfigTest, DefaultDeviceIsGpuZeroWhenAGpuIsVisible) {
  FakeGpuRuntime& fake = use_fake(2);
  EXPECT_EQ(default_device(), Device::cuda(0));  // the first call initializes, like TensorFlow's first op
  EXPECT_TRUE(gpu::initialized());
  EXPECT_EQ(fake.init_calls, 1);
  EXPECT_EQ(default_device(), Device::cuda(0));
  EXPECT_EQ(fake.init_calls, 1);
}

TEST_F(GpuConfigTest, DeviceScopesNestAndStayOnTheirThread) {
  use_fake(2);
  EXPECT_EQ(default_device(), Device::cuda(0));
  {
    DeviceScope outer("/GPU:1");
    EXPECT_EQ(outer.device(), Device::cuda(1));
    EXPECT_EQ(default_device(), Device::cuda(1));
    {
      DeviceScope cpu(Device::cpu());
      EXPECT_EQ(default_device(), Device::cpu());
      Device seen_by_other_thread = Device::cpu();
      std::thread([&] { seen_by_other_thread = default_device(); }).join();
      EXPECT_EQ(seen_by_other_thread, Device::cuda(0));
      {
        DeviceScope inner("/job:localhost/replica:0/task:0/device:GPU:0");
        EXPECT_EQ(default_device(), Device::cuda(0));
      }
      EXPECT_EQ(default_device(), Device::cpu());
    }
    EXPECT_EQ(default_device(), Device::cuda(1));
  }
  EXPECT_EQ(default_device(), Device::cuda(0));
  const std::string msg = error_of<ValueError>([] { DeviceScope s("/GPU:2"); });
  EXPECT_NE(msg.find("2 logical GPU(s)"), std::string::npos) << msg;
  EXPECT_THROW(DeviceScope("/CPU:1"), ValueError);
  EXPECT_THROW(DeviceScope("/TPU:0"), ValueError);
  EXPECT_EQ(default_device(), Device::cuda(0));  // failed scopes left nothing behind
}

TEST_F(GpuConfigTest, CpuScopeWithoutRuntime) {
  EXPECT_EQ(default_device(), Device::cpu());
  DeviceScope s("cpu");
  EXPECT_EQ(default_device(), Device::cpu());
  EXPECT_FALSE(gpu::initialized());  // a CPU scope needs no GPU runtime
}

// A host-memory stand-in for the CUDA device backend, so creation functions can place tensors on "GPUs".
class HostBackedDevice : public DeviceBackend {
  class HostAllocator : public Allocator {
   public:
    void* allocate(size_t n) override { return std::malloc(n ? n : 1); }
    void deallocate(void* p, size_t) override { std::free(p); }
  };
  HostAllocator allocator_;

 public:
  Allocator& allocator(int) override { return allocator_; }
  void copy(void* dst, Device, const void* src, Device, size_t n) override { std::memcpy(dst, src, n); }
  int device_count() override { return 2; }
};

TEST_F(GpuConfigTest, CreationFunctionsFollowTheDefaultDevice) {
  if (has_device_backend(DeviceType::kCUDA))
    GTEST_SKIP() << "a real CUDA device backend is registered; this test installs a host-backed fake in its place";
  HostBackedDevice fake_device;
  register_device_backend(DeviceType::kCUDA, &fake_device);
  use_fake(2);
  {
    Tensor z = zeros({2, 3});
    EXPECT_EQ(z.device(), Device::cuda(0));
    EXPECT_EQ(z.to_vector<float>(), std::vector<float>(6, 0.0f));
    EXPECT_EQ(full({2}, 2.5).to_vector<float>(), (std::vector<float>{2.5f, 2.5f}));
    Tensor v = from_vector(std::vector<float>{1, 2, 3}, {3});
    EXPECT_EQ(v.device(), Device::cuda(0));
    EXPECT_EQ(v.to_vector<float>(), (std::vector<float>{1, 2, 3}));
    EXPECT_EQ(scalar_tensor(4.0).item<float>(), 4.0f);
    // Random draws are placed too, with the same numbers as on the CPU.
    Tensor r = random::uniform({5}, 0.0, 1.0, DType::f32, 7);
    EXPECT_EQ(r.device(), Device::cuda(0));
    DeviceScope gpu1("/GPU:1");
    EXPECT_EQ(ones({1}).device(), Device::cuda(1));
    EXPECT_EQ(empty({1}, DType::i64).device(), Device::cuda(1));
    DeviceScope cpu("/CPU:0");
    EXPECT_EQ(ones({1}).device(), Device::cpu());
    EXPECT_EQ(random::uniform({5}, 0.0, 1.0, DType::f32, 7).to_vector<float>(), r.to_vector<float>());
    EXPECT_EQ(zeros({1}, DType::f32, Device::cuda(1)).device(), Device::cuda(1));  // explicit wins
  }
  register_device_backend(DeviceType::kCUDA, nullptr);
}

TEST_F(GpuConfigTest, MemoryStatisticsRouteToTheLogicalGpu) {
  FakeGpuRuntime& fake = use_fake(2);
  config::set_logical_device_configuration(gpu_dev(0), {{1024}, {1024}});
  const config::MemoryInfo info = config::get_memory_info("GPU:2");  // physical GPU 1
  EXPECT_EQ(info.current, 3000);
  EXPECT_EQ(info.peak, 15000);
  EXPECT_EQ(config::get_memory_info("/device:GPU:1").current, 2000);
  config::reset_memory_stats("GPU:1");
  config::reset_memory_stats("cuda:0");
  EXPECT_EQ(fake.reset_calls, (std::vector<int>{1, 0}));
  EXPECT_NE(error_of<ValueError>([] { config::get_memory_info("CPU:0"); }).find("GPU devices only"), std::string::npos);
  EXPECT_NE(error_of<ValueError>([] { config::get_memory_info("GPU:3"); }).find("3 logical GPU(s)"), std::string::npos);
  EXPECT_THROW(config::reset_memory_stats("TPU:0"), ValueError);
}

TEST_F(GpuConfigTest, ResetForTestingForgetsConfiguration) {
  use_fake(2);
  config::set_visible_devices({gpu_dev(0)}, "GPU");
  config::set_memory_growth(gpu_dev(0), true);
  gpu::ensure_initialized();
  gpu::reset_for_testing();
  EXPECT_FALSE(gpu::initialized());
  EXPECT_EQ(config::get_visible_devices("GPU").size(), 2u);
  EXPECT_FALSE(config::get_memory_growth(gpu_dev(0)));
}

}  // namespace
}  // namespace keel
