// Keras 3's progress bar (keras.utils.Progbar) and the ProgbarLogger callback that fit/evaluate/predict
// add when verbose != 0 (keras-reference §8.4). On a terminal the bar is redrawn in place; otherwise
// (a file, a pipe, CI logs) only the final line of each epoch is written.
//   32/32 ━━━━━━━━━━━━━━━━━━━━ 1s 15ms/step - accuracy: 0.9062 - loss: 0.2845
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "keel/training/callback.h"

namespace keel {

class Progbar {
 public:
  /// `target` steps (-1: unknown); verbose 1 = bar, 2 = one line when finalised. `dynamic` forces the
  /// in-place redraw on or off (default: whether `out` is a terminal).
  explicit Progbar(int64_t target, int verbose = 1, std::FILE* out = stdout, std::optional<bool> dynamic = {});
  /// Shows progress after `current` steps with these values; the final update ends the line.
  void update(int64_t current, const Logs& values, bool finalize = false);
  /// The text of an update without printing it or any control characters (used by tests).
  std::string render(int64_t current, const Logs& values, bool finalize, double now_seconds) const;

 private:
  double seconds_since_start() const;

  int64_t target_;
  int verbose_;
  std::FILE* out_;
  bool dynamic_;
  std::chrono::steady_clock::time_point start_;
  std::optional<double> time_after_first_step_;
  double last_update_ = -1.0;
  size_t previous_width_ = 0;
};

namespace callbacks {

/// Prints "Epoch i/N" and the progress bar; added by fit/evaluate/predict when verbose != 0.
class ProgbarLogger : public Callback {
 public:
  void on_train_begin(Logs&) override;
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_test_begin(Logs&) override;
  void on_test_batch_end(int64_t batch, Logs& logs) override;
  void on_test_end(Logs& logs) override;
  void on_predict_begin(Logs&) override;
  void on_predict_batch_end(int64_t batch, Logs& logs) override;
  void on_predict_end(Logs& logs) override;

 private:
  void start_bar();
  bool training_ = false;
  int64_t seen_ = 0;
  std::optional<Progbar> bar_;
};

}  // namespace callbacks
}  // namespace keel
