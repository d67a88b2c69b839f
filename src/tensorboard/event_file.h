// One TensorBoard event file: a TFRecord file of Event messages (event.proto), named and begun as
// TensorFlow's summary writer does, so TensorBoard lists it as a run's file:
//   <logdir>/events.out.tfevents.<10-digit seconds>.<hostname>.<pid>.<counter>.v2
// whose first record is Event{wall_time, file_version: "brain.Event:2"}. Summaries follow the TensorBoard
// plugins' formats (TensorFlow 2's tf.summary): scalars as float32 scalar tensors of the "scalars" plugin,
// histograms as float64 [k, 3] tensors of [left edge, right edge, count] rows of the "histograms" plugin.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace keel::tensorboard {

class RecordWriter;

/// The buckets tf.summary.histogram writes for `data` (TensorBoard's histogram summary_v2 `_buckets`):
/// none for no data; one [v - 0.5, v + 0.5, n] bucket when every value is v; else `bucket_count` equal-width
/// buckets from min to max (the last edge exactly max), a value in bucket floor((v - min) / width), the
/// maximum in the last one.
std::vector<std::array<double, 3>> histogram_buckets(std::span<const double> data, int bucket_count);

class EventFile {
 public:
  /// Creates `logdir` (and its parents) and a new event file in it holding the file_version event.
  /// keel::Error naming the path when the folder or file cannot be created.
  explicit EventFile(const std::string& logdir);
  ~EventFile();
  EventFile(const EventFile&) = delete;
  EventFile& operator=(const EventFile&) = delete;

  void scalar(const std::string& tag, double value, int64_t step);
  void histogram(const std::string& tag, std::span<const double> data, int64_t step, int bucket_count = 30);
  /// Keras's keras_model_summary: the model's JSON (Model::to_json) as a string tensor of the
  /// "graph_keras_model" plugin, which TensorBoard's graph dashboard draws as the conceptual graph.
  void keras_model(const std::string& tag, const std::string& json, int64_t step);
  void flush();
  void close();
  const std::string& path() const;

 private:
  std::unique_ptr<RecordWriter> records_;
};

}  // namespace keel::tensorboard
