// keras.callbacks.TensorBoard (keras-reference §9.8): event files TensorBoard reads, laid out as Keras lays
// them out, in `log_dir/train` and `log_dir/validation`:
//   model.fit(x, y, {.epochs = 10, .validation_split = 0.2,
//                    .callbacks = {callbacks::TensorBoard("logs", {.histogram_freq = 1})}});
//   // then: tensorboard --logdir logs
// Per epoch (step = epoch, 0-based): `epoch_<key>` scalars of the training logs and `epoch_learning_rate`
// in train/, the `val_` logs without the prefix in validation/. update_freq n ("batch" = 1): also
// `batch_<key>` every n training batches (step = batches since fit began, from 1). Every evaluation
// (fit's validation or evaluate()): `evaluation_<key>_vs_iterations` in validation/ at step = optimizer
// iterations. histogram_freq k: `<variable path>/histogram` of every weight every k epochs (epoch % k == 0).
// write_graph: the model's JSON (Sequential and functional models) for the graph dashboard, at fit's start.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "keel/training/callback.h"

namespace keel::tensorboard {
class EventFile;
}

namespace keel::callbacks {

/// Keras's update_freq: "epoch", "batch" (every batch) or a number of batches.
class UpdateFrequency {
 public:
  UpdateFrequency(const char* mode);  // NOLINT: implicit, as Keras takes the strings
  UpdateFrequency(int batches);       // NOLINT: implicit, as Keras takes an int
  bool per_epoch() const { return batches_ == 0; }
  int64_t batches() const { return batches_; }

 private:
  int64_t batches_ = 0;  // 0: per epoch
};

struct TensorBoardOptions {
  int histogram_freq = 0;
  bool write_graph = true;
  /// Weights as images: not available in Keel (UnimplementedError when true).
  bool write_images = false;
  bool write_steps_per_second = false;
  UpdateFrequency update_freq = "epoch";
  /// Profiling: not available in Keel (UnimplementedError unless 0, as Keras's torch backend refuses it).
  int profile_batch = 0;
  /// Embedding projector files: not available in Keel (UnimplementedError unless 0).
  int embeddings_freq = 0;
};

class TensorBoard : public Callback {
 public:
  explicit TensorBoard(std::string log_dir = "logs", TensorBoardOptions options = {});
  ~TensorBoard() override;
  TensorBoard(TensorBoard&&) noexcept;  // fit's callbacks list takes callbacks by value
  TensorBoard& operator=(TensorBoard&&) noexcept;

  void on_train_begin(Logs& logs) override;
  void on_train_end(Logs& logs) override;
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_batch_begin(int64_t batch, Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_test_end(Logs& logs) override;

  const std::string& log_dir() const { return log_dir_; }

 private:
  using Clock = std::chrono::steady_clock;
  tensorboard::EventFile& train_writer();
  tensorboard::EventFile& val_writer();
  void write_graph();
  void write_histograms(int epoch);

  std::string log_dir_;
  TensorBoardOptions options_;
  std::unique_ptr<tensorboard::EventFile> train_;
  std::unique_ptr<tensorboard::EventFile> val_;
  int64_t global_train_batch_ = 0;
  int64_t epoch_start_iterations_ = 0;
  Clock::time_point epoch_start_;
  Clock::time_point batch_start_;
};

}  // namespace keel::callbacks
