#include "tensorboard/event_file.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "event.pb.h"
#include "keel/core/error.h"
#include "tensorboard/record_writer.h"

namespace keel::tensorboard {
namespace {

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

// TensorFlow's EventsWriter file name; the per-process counter keeps two writers opened in the same second
// apart (and RecordWriter never overwrites a file).
std::string new_event_file_path(const std::string& logdir) {
  static std::atomic<int> counter{0};
  char name[512];
  std::snprintf(name, sizeof(name), "events.out.tfevents.%010lld.%s.%d.%d.v2",
                static_cast<long long>(std::time(nullptr)), hostname().c_str(), static_cast<int>(getpid()), counter++);
  return (std::filesystem::path(logdir) / name).string();
}

void write_event(RecordWriter& records, Event& event) {
  event.set_wall_time(wall_time());
  std::string bytes;
  KEEL_CHECK(event.SerializeToString(&bytes), ValueError, "Cannot serialize a TensorBoard event");
  records.write(bytes);
}

void write_value(RecordWriter& records, Summary::Value value, int64_t step) {
  Event event;
  event.set_step(step);
  *event.mutable_summary()->add_value() = std::move(value);
  write_event(records, event);
}

// The metadata TensorBoard's plugins write (tensorboard/plugins/*/metadata.py): the plugin's name, its
// PluginData message at version 0 (which serializes to no bytes) and the data class.
void set_plugin(Summary::Value& value, const std::string& plugin, DataClass data_class, std::string content = "") {
  SummaryMetadata* metadata = value.mutable_metadata();
  metadata->mutable_plugin_data()->set_plugin_name(plugin);
  metadata->mutable_plugin_data()->set_content(std::move(content));
  metadata->set_data_class(data_class);
}

}  // namespace

std::vector<std::array<double, 3>> histogram_buckets(std::span<const double> data, int bucket_count) {
  KEEL_CHECK(bucket_count > 0, ValueError, "histogram: buckets must be a positive integer; received ", bucket_count);
  if (data.empty()) return {};
  const auto [lo, hi] = std::minmax_element(data.begin(), data.end());
  const double min = *lo, max = *hi;
  KEEL_CHECK(std::isfinite(min) && std::isfinite(max), ValueError,
             "histogram: the data holds a non-finite value (NaN or infinity), which has no bucket");
  if (max - min == 0) return {{min - 0.5, min + 0.5, static_cast<double>(data.size())}};
  const double width = (max - min) / bucket_count;
  std::vector<std::array<double, 3>> buckets(bucket_count);
  for (int i = 0; i < bucket_count; ++i) {
    // NumPy's linspace(min, max, bucket_count + 1) with the last edge exactly max
    buckets[i][0] = min + i * width;
    buckets[i][1] = i + 1 == bucket_count ? max : min + (i + 1) * width;
    buckets[i][2] = 0;
  }
  for (double v : data) {
    const auto index = static_cast<int64_t>(std::floor((v - min) / width));
    buckets[std::min<int64_t>(index, bucket_count - 1)][2] += 1;
  }
  return buckets;
}

EventFile::EventFile(const std::string& logdir) {
  std::error_code error;
  std::filesystem::create_directories(logdir, error);
  if (error) throw Error("Cannot create the TensorBoard log directory " + logdir + ": " + error.message());
  records_ = std::make_unique<RecordWriter>(new_event_file_path(logdir));
  Event event;
  event.set_file_version("brain.Event:2");
  write_event(*records_, event);
  records_->flush();
}

EventFile::~EventFile() = default;

void EventFile::scalar(const std::string& tag, double value, int64_t step) {
  Summary::Value v;
  v.set_tag(tag);
  set_plugin(v, "scalars", DATA_CLASS_SCALAR);
  TensorProto* tensor = v.mutable_tensor();
  tensor->set_dtype(DT_FLOAT);  // tf.summary.scalar writes float32
  tensor->mutable_tensor_shape();
  tensor->add_float_val(static_cast<float>(value));
  write_value(*records_, std::move(v), step);
}

void EventFile::histogram(const std::string& tag, std::span<const double> data, int64_t step, int bucket_count) {
  const auto buckets = histogram_buckets(data, bucket_count);
  Summary::Value v;
  v.set_tag(tag);
  set_plugin(v, "histograms", DATA_CLASS_TENSOR);
  TensorProto* tensor = v.mutable_tensor();
  tensor->set_dtype(DT_DOUBLE);
  tensor->mutable_tensor_shape()->add_dim()->set_size(static_cast<int64_t>(buckets.size()));
  tensor->mutable_tensor_shape()->add_dim()->set_size(3);
  for (const auto& bucket : buckets)
    for (double x : bucket) tensor->add_double_val(x);
  write_value(*records_, std::move(v), step);
}

void EventFile::keras_model(const std::string& tag, const std::string& json, int64_t step) {
  Summary::Value v;
  v.set_tag(tag);
  set_plugin(v, "graph_keras_model", DATA_CLASS_UNKNOWN, "1");  // Keras writes version "1" as the content
  TensorProto* tensor = v.mutable_tensor();
  tensor->set_dtype(DT_STRING);
  tensor->mutable_tensor_shape();
  tensor->add_string_val(json);
  write_value(*records_, std::move(v), step);
}

void EventFile::flush() { records_->flush(); }
void EventFile::close() { records_->close(); }
const std::string& EventFile::path() const { return records_->path(); }

}  // namespace keel::tensorboard
