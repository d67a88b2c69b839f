// BackupAndRestore (keras/src/callbacks/backup_and_restore.py, keras-reference §9.7), plus the state Keel
// saves so that a resumed fit is bitwise identical to an uninterrupted one (the global generator, the
// History so far) and a check that the two files come from the same backup.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "keel/core/error.h"
#include "keel/io/callbacks.h"
#include "keel/io/weights.h"
#include "keel/models/model.h"
#include "keel/training/trainer.h"

namespace keel::callbacks {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

Model model_handle(Trainer& trainer) {
  auto* impl = dynamic_cast<ModelImpl*>(&trainer);
  KEEL_CHECK(impl != nullptr, ValueError, "BackupAndRestore needs a keel Model to back up");
  return Model(std::static_pointer_cast<ModelImpl>(impl->shared_from_this()));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  if (in) bytes << in.rdbuf();
  KEEL_CHECK(in && !in.bad(), Error, "BackupAndRestore: cannot read '", path, "'");
  return bytes.str();
}

void copy_atomically(const std::string& from, const std::string& to) {
  const std::string bytes = read_file(from);
  saving::detail::write_atomically(to, [&](const std::string& temp) { saving::detail::write_file(temp, bytes, to); });
}

// JSON has no NaN or infinities: History values that are not finite are written as strings.
json encode_value(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

// The content of training_metadata.json: Keras's fields, and Keel's ("keel") when the file has them.
struct Metadata {
  int epoch = 0;
  struct Keel {
    random::GeneratorState random;
    int64_t optimizer_iterations = 0;
    History history;
  };
  std::optional<Keel> keel;
};

Metadata parse_metadata(const std::string& path) {
  const std::string text = read_file(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw ValueError("BackupAndRestore: malformed JSON in '" + path + "' at byte " + std::to_string(e.byte) + ": " +
                     e.what());
  } catch (const json::exception& e) {  // e.g. a number too large for a double
    throw ValueError("BackupAndRestore: malformed JSON in '" + path + "': " + e.what());
  }
  auto bad = [&](const std::string& what) {
    return ValueError("BackupAndRestore: unexpected content in '" + path + "': " + what);
  };
  if (!j.is_object() || !j.contains("epoch") || !j["epoch"].is_number_integer()) throw bad("no integer \"epoch\"");
  Metadata m;
  const int64_t epoch = j["epoch"].get<int64_t>();
  if (epoch < 0 || epoch > std::numeric_limits<int>::max()) throw bad("\"epoch\" out of range");
  m.epoch = static_cast<int>(epoch);
  if (!j.contains("keel")) return m;  // a Keras backup: the epoch is all it restores
  try {
    const json& k = j.at("keel");
    Metadata::Keel keel;
    keel.random.seed = k.at("random_seed").get<uint64_t>();
    keel.random.offset = k.at("random_offset").get<uint64_t>();
    keel.optimizer_iterations = k.at("optimizer_iterations").get<int64_t>();
    const json& h = k.at("history");
    for (const json& e : h.at("epoch")) keel.history.epoch.push_back(e.get<int>());
    for (const auto& [key, values] : h.at("history").items()) {
      std::vector<double>& out = keel.history.history[key];
      for (const json& v : values) {
        if (v.is_number())
          out.push_back(v.get<double>());
        else if (v == "nan")
          out.push_back(std::numeric_limits<double>::quiet_NaN());
        else if (v == "inf")
          out.push_back(std::numeric_limits<double>::infinity());
        else if (v == "-inf")
          out.push_back(-std::numeric_limits<double>::infinity());
        else
          throw bad("history value " + v.dump() + " for \"" + key + "\"");
      }
    }
    m.keel = std::move(keel);
  } catch (const json::exception& e) {
    throw bad(std::string("\"keel\": ") + e.what());
  }
  return m;
}

}  // namespace

BackupAndRestore::BackupAndRestore(std::string backup_dir, BackupAndRestoreOptions options)
    : backup_dir_(std::move(backup_dir)), options_(std::move(options)) {
  KEEL_CHECK(!backup_dir_.empty(), ValueError, "Empty `backup_dir` argument passed");
  const fs::path dir(backup_dir_);
  weights_path_ = (dir / "latest.weights.h5").string();
  metadata_path_ = (dir / "training_metadata.json").string();
  prev_weights_path_ = weights_path_ + ".bkp";
  prev_metadata_path_ = metadata_path_ + ".bkp";
}

void BackupAndRestore::on_train_begin(Logs&) {
  batches_since_save_ = 0;
  last_batch_seen_ = 0;
  current_epoch_ = 0;
  history_ = History();
  restored_epoch_.reset();
  restored_from_previous_ = false;
  backups_written_ = 0;
  restore();
  epoch_start_state_ = random::get_state();
}

void BackupAndRestore::restore() {
  Model model = model_handle(this->model());
  KEEL_CHECK(model.get()->built(), ValueError,
             "To use the BackupAndRestore callback, you model must be built before you call `fit()`. Model ",
             model.get()->name(), " is unbuilt. You can build it beforehand by calling it on a batch of data.");
  try {
    restore_from(false);
  } catch (const Error&) {
    // The latest backup does not load (a corrupt file, a crash between its two writes): fall back to the
    // previous one, which double_checkpoint keeps, as Keras does.
    if (!fs::exists(prev_weights_path_)) throw;
    copy_atomically(prev_weights_path_, weights_path_);
    fs::remove(prev_weights_path_);
    if (fs::exists(prev_metadata_path_)) {
      copy_atomically(prev_metadata_path_, metadata_path_);
      fs::remove(prev_metadata_path_);
    } else if (fs::exists(metadata_path_)) {
      fs::remove(metadata_path_);
    }
    restore_from(true);
  }
}

void BackupAndRestore::restore_from(bool previous) {
  // Everything is read and checked before anything is applied, except the weights, which a failure
  // after them leaves loaded (fit then fails, or the fallback loads the previous ones over them).
  std::optional<Metadata> metadata;
  if (fs::exists(metadata_path_)) metadata = parse_metadata(metadata_path_);
  Trainer& trainer = model();
  if (fs::exists(weights_path_)) {
    Model model = model_handle(trainer);
    Optimizer& optimizer = trainer.optimizer();
    if (!optimizer.built()) optimizer.build(model.trainable_weights());  // its variables must exist to load
    saving::load_weights(model, weights_path_);
    if (metadata && metadata->keel && optimizer.iterations() != metadata->keel->optimizer_iterations)
      throw ValueError("BackupAndRestore: '" + weights_path_ + "' (optimizer iterations " +
                       std::to_string(optimizer.iterations()) + ") and '" + metadata_path_ + "' (" +
                       std::to_string(metadata->keel->optimizer_iterations) +
                       ") come from different backups: training was interrupted between writing them");
  }
  if (!metadata) return;
  trainer.initial_epoch_override = metadata->epoch;
  restored_epoch_ = metadata->epoch;
  restored_from_previous_ = previous;
  current_epoch_ = metadata->epoch;
  if (metadata->keel) {
    random::set_state(metadata->keel->random);
    history_ = metadata->keel->history;
    trainer.resumed_history = metadata->keel->history;
  }
}

void BackupAndRestore::on_epoch_begin(int epoch, Logs&) {
  current_epoch_ = epoch;
  epoch_start_state_ = random::get_state();
}

void BackupAndRestore::on_epoch_end(int epoch, Logs& logs) {
  history_.on_epoch_end(epoch, logs);
  current_epoch_ = epoch + 1;
  last_batch_seen_ = 0;
  epoch_start_state_ = random::get_state();  // what the next epoch starts from
  if (options_.save_freq.per_epoch()) save(0);
}

void BackupAndRestore::on_train_batch_end(int64_t batch, Logs&) {
  if (options_.save_freq.per_epoch()) return;
  // Counted as Keras counts them: a batch index not above the last one seen starts a new epoch.
  batches_since_save_ += batch <= last_batch_seen_ ? batch + 1 : batch - last_batch_seen_;
  last_batch_seen_ = batch;
  if (batches_since_save_ < options_.save_freq.batches()) return;
  batches_since_save_ = 0;
  save(batch);
}

void BackupAndRestore::save(int64_t batch) {
  try {
    fs::create_directories(backup_dir_);
  } catch (const fs::filesystem_error& e) {
    throw Error("BackupAndRestore: cannot create the backup directory '" + backup_dir_ + "': " + e.code().message());
  }
  if (options_.double_checkpoint) {
    if (fs::exists(weights_path_)) copy_atomically(weights_path_, prev_weights_path_);
    if (fs::exists(metadata_path_)) copy_atomically(metadata_path_, prev_metadata_path_);
  }
  Trainer& trainer = model();
  saving::save_weights(model_handle(trainer), weights_path_);

  json history = json::object();
  for (const auto& [key, values] : history_.history) {
    json list = json::array();
    for (double v : values) list.push_back(encode_value(v));
    history[key] = std::move(list);
  }
  const Optimizer& optimizer = trainer.optimizer();
  json metadata = {
      {"epoch", current_epoch_},
      {"batch", batch},
      {"keel",
       {{"random_seed", epoch_start_state_.seed},
        {"random_offset", epoch_start_state_.offset},
        {"optimizer_iterations", optimizer.built() ? optimizer.iterations() : int64_t{0}},
        {"history", {{"epoch", history_.epoch}, {"history", std::move(history)}}}}},
  };
  const std::string text = metadata.dump();
  saving::detail::write_atomically(
      metadata_path_, [&](const std::string& temp) { saving::detail::write_file(temp, text, metadata_path_); });
  ++backups_written_;
}

void BackupAndRestore::on_train_end(Logs&) {
  if (!options_.delete_checkpoint) return;
  std::error_code ec;
  if (!fs::exists(backup_dir_, ec)) return;
  fs::remove_all(backup_dir_, ec);
  KEEL_CHECK(!ec, Error, "BackupAndRestore: cannot delete the backup directory '", backup_dir_, "': ", ec.message());
}

}  // namespace keel::callbacks
