// TensorBoard event files from C++ (tf.summary's file writer, keras-reference §9.8): what the TensorBoard
// callback writes, open to a custom train_step or any program.
//   auto writer = keel::summary::create_file_writer("logs/custom");
//   writer.scalar("loss", 0.25, /*step=*/1);
//   writer.histogram("dense/kernel", kernel, /*step=*/1);
//   writer.flush();   // `tensorboard --logdir logs` shows them
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "keel/core/tensor.h"

namespace keel::tensorboard {
class EventFile;
}

namespace keel::summary {

/// tf.summary.SummaryWriter: one new event file in `logdir` (created with its parents). Values reach the
/// file as they are written, and the OS at flush() or close() (the destructor closes).
class SummaryWriter {
 public:
  explicit SummaryWriter(const std::string& logdir);
  ~SummaryWriter();
  SummaryWriter(SummaryWriter&&) noexcept;
  SummaryWriter& operator=(SummaryWriter&&) noexcept;

  /// tf.summary.scalar: `value` as float32 at `step`, on TensorBoard's Scalars dashboard.
  void scalar(const std::string& name, double value, int64_t step);
  /// tf.summary.histogram: `data`'s elements (any shape, any device) in `buckets` equal-width buckets, on
  /// the Histograms and Distributions dashboards. ValueError when data holds NaN or infinity.
  void histogram(const std::string& name, const Tensor& data, int64_t step, int buckets = 30);
  void flush();
  /// Flushes and closes the file; later writes are a ValueError.
  void close();
  /// The event file's path.
  const std::string& path() const;

 private:
  std::unique_ptr<tensorboard::EventFile> file_;
};

/// tf.summary.create_file_writer.
SummaryWriter create_file_writer(const std::string& logdir);

}  // namespace keel::summary
