// keras.callbacks.TensorBoard (keras/src/callbacks/tensorboard.py, keras-reference §9.8).
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "keel/models/model.h"
#include "keel/tensorboard/tensorboard.h"
#include "keel/training/trainer.h"
#include "tensorboard/event_file.h"

namespace keel::callbacks {
namespace {

// What evaluate and fit report as the optimizer's step count; none before compile.
std::optional<int64_t> optimizer_iterations(const Trainer& trainer) {
  if (!trainer.optimizer_ptr()) return std::nullopt;
  return trainer.optimizer_ptr()->iterations();
}

}  // namespace

UpdateFrequency::UpdateFrequency(const char* mode) {
  const std::string m = mode ? mode : "(null)";
  KEEL_CHECK(m == "epoch" || m == "batch", ValueError, "Unrecognized update_freq: '", m,
             "'. Expected update_freq are 'epoch', 'batch' or a positive integer");
  batches_ = m == "batch" ? 1 : 0;
}

UpdateFrequency::UpdateFrequency(int batches) : batches_(batches) {
  KEEL_CHECK(batches > 0, ValueError, "update_freq must be 'epoch', 'batch' or a positive integer; received ", batches);
}

TensorBoard::TensorBoard(std::string log_dir, TensorBoardOptions options)
    : log_dir_(std::move(log_dir)), options_(options) {
  KEEL_CHECK(options_.histogram_freq >= 0, ValueError, "TensorBoard: histogram_freq must be >= 0; received ",
             options_.histogram_freq);
  KEEL_CHECK(options_.profile_batch == 0, UnimplementedError, "TensorBoard: profiling is not available in Keel; ",
             "received profile_batch=", options_.profile_batch, " (must be 0)");
  KEEL_CHECK(!options_.write_images, UnimplementedError,
             "TensorBoard: write_images is not available in Keel (weights are written as histograms with "
             "histogram_freq)");
  KEEL_CHECK(options_.embeddings_freq == 0, UnimplementedError,
             "TensorBoard: the embedding projector (embeddings_freq) is not available in Keel; received "
             "embeddings_freq=",
             options_.embeddings_freq, " (must be 0)");
}

TensorBoard::~TensorBoard() = default;
TensorBoard::TensorBoard(TensorBoard&&) noexcept = default;
TensorBoard& TensorBoard::operator=(TensorBoard&&) noexcept = default;

tensorboard::EventFile& TensorBoard::train_writer() {
  if (!train_) train_ = std::make_unique<tensorboard::EventFile>((std::filesystem::path(log_dir_) / "train").string());
  return *train_;
}

tensorboard::EventFile& TensorBoard::val_writer() {
  if (!val_) val_ = std::make_unique<tensorboard::EventFile>((std::filesystem::path(log_dir_) / "validation").string());
  return *val_;
}

void TensorBoard::on_train_begin(Logs&) {
  global_train_batch_ = 0;
  // Every fit writes new files, as Keras's set_model resets its writers.
  train_.reset();
  val_.reset();
  if (options_.write_graph) write_graph();
}

// Keras writes the conceptual graph of Sequential and functional models only; a model whose config does
// not serialize (an unregistered custom layer) gets a warning and no graph, as in Keras.
void TensorBoard::write_graph() {
  auto* impl = dynamic_cast<ModelImpl*>(&model());
  if (dynamic_cast<SequentialImpl*>(impl) == nullptr && dynamic_cast<FunctionalImpl*>(impl) == nullptr) return;
  std::string json;
  try {
    json = Model(std::static_pointer_cast<ModelImpl>(impl->shared_from_this())).to_json();
  } catch (const Error& e) {
    std::fprintf(stderr, "UserWarning: Model failed to serialize as JSON. Ignoring... %s\n", e.what());
    return;
  }
  train_writer().keras_model("keras", json, 0);
  train_writer().flush();
}

void TensorBoard::on_train_end(Logs&) {
  if (train_) train_->close();
  if (val_) val_->close();
  train_.reset();
  val_.reset();
}

void TensorBoard::on_epoch_begin(int, Logs&) {
  if (!options_.write_steps_per_second) return;
  epoch_start_iterations_ = optimizer_iterations(model()).value_or(0);
  epoch_start_ = Clock::now();
}

void TensorBoard::on_train_batch_begin(int64_t, Logs&) {
  ++global_train_batch_;
  if (options_.write_steps_per_second) batch_start_ = Clock::now();
}

void TensorBoard::on_train_batch_end(int64_t, Logs& logs) {
  if (options_.update_freq.per_epoch() || global_train_batch_ % options_.update_freq.batches() != 0) return;
  tensorboard::EventFile& writer = train_writer();
  if (options_.write_steps_per_second) {
    const double seconds = std::chrono::duration<double>(Clock::now() - batch_start_).count();
    writer.scalar("batch_steps_per_second", 1.0 / seconds, global_train_batch_);
  }
  for (const auto& [name, value] : logs) writer.scalar("batch_" + name, value, global_train_batch_);
  writer.flush();
}

void TensorBoard::on_epoch_end(int epoch, Logs& logs) {
  if (!logs.empty()) {
    Logs train_logs, val_logs;
    for (const auto& [name, value] : logs) {
      if (name.starts_with("val_"))
        val_logs[name.substr(4)] = value;
      else
        train_logs[name] = value;
    }
    if (model().optimizer_ptr()) train_logs["learning_rate"] = model().optimizer_ptr()->learning_rate();
    if (options_.write_steps_per_second) {
      const double seconds = std::chrono::duration<double>(Clock::now() - epoch_start_).count();
      const int64_t steps = optimizer_iterations(model()).value_or(0) - epoch_start_iterations_;
      train_logs["steps_per_second"] = static_cast<double>(steps) / seconds;
    }
    for (const auto& [name, value] : train_logs) train_writer().scalar("epoch_" + name, value, epoch);
    for (const auto& [name, value] : val_logs) val_writer().scalar("epoch_" + name, value, epoch);
  }
  if (options_.histogram_freq > 0 && epoch % options_.histogram_freq == 0) write_histograms(epoch);
  if (train_) train_->flush();
  if (val_) val_->flush();
}

void TensorBoard::write_histograms(int epoch) {
  auto* impl = dynamic_cast<ModelImpl*>(&model());
  if (impl == nullptr) return;  // a Trainer that is not a Layer has no weights to show
  tensorboard::EventFile& writer = train_writer();
  for (const Variable& variable : impl->weights()) {
    std::string name = variable.path();
    for (char& c : name)
      if (c == ':') c = '_';
    const std::vector<double> values = variable.value().to_vector<double>();
    writer.histogram(name + "/histogram", values, epoch);
  }
}

// After fit's validation and after evaluate(): the results against the optimizer's step count, so runs of
// evaluate between fits line up on one axis.
void TensorBoard::on_test_end(Logs& logs) {
  const std::optional<int64_t> iterations = optimizer_iterations(model());
  if (!iterations) return;
  tensorboard::EventFile& writer = val_writer();
  for (const auto& [name, value] : logs) writer.scalar("evaluation_" + name + "_vs_iterations", value, *iterations);
  writer.flush();
}

}  // namespace keel::callbacks
