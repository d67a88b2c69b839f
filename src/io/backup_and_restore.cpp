// BackupAndRestore (keras/src/callbacks/backup_and_restore.py, keras-reference §9.7), plus the state Keel
// saves so that a resumed fit is bitwise identical to an uninterrupted one (the global generator, the
// History so far) and a check that the two files come from the same backup.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

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

// The content of training_metadata.json: Keras's fields, and Keel's ("keel") when the file has them.
struct Metadata {
  int epoch = 0;
  struct Keel {
    random::GeneratorState random;  // at the start of `epoch`
    int64_t optimizer_iterations = 0;
    History history;
    // Keel's later fields (absent from older backups, which then resume at the start of `epoch`).
    int64_t batches_done = 0;  // batches of `epoch` already trained on
    std::optional<random::GeneratorState> batch_random;
    std::vector<double> metrics;
    std::vector<Trainer::CallbackState> callbacks;
    std::vector<uint64_t> data_state;
  };
  std::optional<Keel> keel;
};

random::GeneratorState parse_state(const json& j) {
  return {j.at("seed").get<uint64_t>(), j.at("offset").get<uint64_t>()};
}

json state_json(const random::GeneratorState& state) { return {{"seed", state.seed}, {"offset", state.offset}}; }

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
        try {
          out.push_back(callbacks::json_to_double(v));
        } catch (const ValueError&) {
          throw bad("history value " + v.dump() + " for \"" + key + "\"");
        }
      }
    }
    if (k.contains("batches_done")) {
      keel.batches_done = k.at("batches_done").get<int64_t>();
      if (keel.batches_done < 0) throw bad("negative \"batches_done\"");
      if (keel.batches_done > 0) {
        keel.batch_random = parse_state(k.at("batch_random"));
        for (const json& v : k.at("metrics")) {
          try {
            keel.metrics.push_back(callbacks::json_to_double(v));
          } catch (const ValueError&) {
            throw bad("metric state value " + v.dump());
          }
        }
      }
    }
    if (k.contains("callbacks"))
      for (const json& c : k.at("callbacks"))
        keel.callbacks.push_back({c.at("type").get<std::string>(), c.at("index").get<int>(), c.at("state")});
    if (k.contains("data_state")) keel.data_state = k.at("data_state").get<std::vector<uint64_t>>();
    m.keel = std::move(keel);
  } catch (const json::exception& e) {
    throw bad(std::string("\"keel\": ") + e.what());
  }
  return m;
}

// rename(2), then an fsync of the directory so that the rename survives a crash.
void rename_durably(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  KEEL_CHECK(!ec, Error, "BackupAndRestore: cannot rename '", from, "' to '", to, "': ", ec.message());
  const std::string dir = fs::path(to).parent_path().string();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

BackupAndRestore::BackupAndRestore(std::string backup_dir, BackupAndRestoreOptions options)
    : backup_dir_(std::move(backup_dir)), options_(std::move(options)) {
  KEEL_CHECK(!backup_dir_.empty(), ValueError, "Empty `backup_dir` argument passed");
  const fs::path dir(backup_dir_);
  weights_path_ = (dir / "latest.weights.h5").string();
  metadata_path_ = (dir / "training_metadata.json").string();
  next_metadata_path_ = metadata_path_ + ".next";
  prev_weights_path_ = weights_path_ + ".bkp";
  prev_metadata_path_ = metadata_path_ + ".bkp";
}

void BackupAndRestore::on_train_begin(Logs&) {
  batches_since_save_ = 0;
  last_batch_seen_ = 0;
  history_ = History();
  restored_epoch_.reset();
  restored_batch_ = 0;
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
    // The latest backup does not load (a corrupt file, a pair from two different saves): fall back to the
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
    fs::remove(next_metadata_path_);
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
    auto matches = [&](const std::optional<Metadata>& m) {
      return m && m->keel && optimizer.iterations() == m->keel->optimizer_iterations;
    };
    if ((!metadata || (metadata->keel && !matches(metadata))) && fs::exists(next_metadata_path_)) {
      // Interrupted between the two writes of a save: the new weights are complete and their metadata
      // waits beside them (see save()); it is committed now.
      std::optional<Metadata> next;
      try {
        next = parse_metadata(next_metadata_path_);
      } catch (const Error&) {
      }
      if (matches(next)) {
        rename_durably(next_metadata_path_, metadata_path_);
        metadata = std::move(next);
      }
    }
    if (metadata && metadata->keel && !matches(metadata))
      throw ValueError("BackupAndRestore: '" + weights_path_ + "' (optimizer iterations " +
                       std::to_string(optimizer.iterations()) + ") and '" + metadata_path_ + "' (" +
                       std::to_string(metadata->keel->optimizer_iterations) +
                       ") come from different backups: training was interrupted between writing them");
  }
  if (!metadata) return;
  restored_epoch_ = metadata->epoch;
  restored_from_previous_ = previous;
  if (!metadata->keel) {
    trainer.initial_epoch_override = metadata->epoch;  // Keras's metadata: the epoch, nothing more
    return;
  }
  Metadata::Keel& keel = *metadata->keel;
  random::set_state(keel.random);  // the epoch's start: its shuffle permutation is drawn again
  history_ = keel.history;
  trainer.resumed_history = keel.history;
  Trainer::ResumePoint resume;
  resume.epoch = metadata->epoch;
  resume.batches_done = keel.batches_done;
  resume.metric_state = std::move(keel.metrics);
  resume.random_state = keel.batch_random;
  resume.callback_states = std::move(keel.callbacks);
  resume.data_state = std::move(keel.data_state);
  trainer.resume_point = std::move(resume);
  restored_batch_ = keel.batches_done;
  // Counted on as the interrupted run counted: its last backup was taken after batch batches_done - 1.
  last_batch_seen_ = keel.batches_done > 0 ? keel.batches_done - 1 : 0;
}

void BackupAndRestore::on_epoch_begin(int, Logs&) { epoch_start_state_ = random::get_state(); }

void BackupAndRestore::after_epoch_end(int epoch, const Logs& logs) {
  Logs copy = logs;
  history_.on_epoch_end(epoch, copy);
  last_batch_seen_ = 0;
  if (options_.save_freq.per_epoch()) save(epoch + 1, -1);
}

void BackupAndRestore::after_train_batch_end(int epoch, int64_t batch, const Logs&) {
  if (options_.save_freq.per_epoch()) return;
  // Counted as Keras counts them: a batch index not above the last one seen starts a new epoch.
  batches_since_save_ += batch <= last_batch_seen_ ? batch + 1 : batch - last_batch_seen_;
  last_batch_seen_ = batch;
  if (batches_since_save_ < options_.save_freq.batches()) return;
  batches_since_save_ = 0;
  save(epoch, batch);
}

void BackupAndRestore::save(int epoch, int64_t batch) {
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
  const bool mid_epoch = batch >= 0;
  json history = json::object();
  for (const auto& [key, values] : history_.history) {
    json list = json::array();
    for (double v : values) list.push_back(callbacks::double_to_json(v));
    history[key] = std::move(list);
  }
  json callback_states = json::array();
  for (const Trainer::CallbackState& c : trainer.callback_states())
    callback_states.push_back({{"type", c.type}, {"index", c.index}, {"state", c.state}});
  const Optimizer& optimizer = trainer.optimizer();
  json keel = {
      // At an epoch end the generator is where the next epoch starts.
      {"random_seed", mid_epoch ? epoch_start_state_.seed : random::get_state().seed},
      {"random_offset", mid_epoch ? epoch_start_state_.offset : random::get_state().offset},
      {"optimizer_iterations", optimizer.built() ? optimizer.iterations() : int64_t{0}},
      {"history", {{"epoch", history_.epoch}, {"history", std::move(history)}}},
      {"batches_done", mid_epoch ? batch + 1 : 0},
      {"callbacks", std::move(callback_states)},
      {"data_state", trainer.epoch_data_state()},
  };
  if (mid_epoch) {
    keel["batch_random"] = state_json(random::get_state());
    json metrics = json::array();
    for (double v : trainer.metric_state()) metrics.push_back(callbacks::double_to_json(v));
    keel["metrics"] = std::move(metrics);
  }
  const json metadata = {{"epoch", epoch}, {"batch", mid_epoch ? batch : 0}, {"keel", std::move(keel)}};
  const std::string text = metadata.dump();
  // The metadata first goes beside the old pair, then the weights replace theirs, then the metadata is
  // renamed over its own: killed anywhere in between, the directory holds a consistent pair, or new weights
  // whose metadata restore() finds in the ".next" file (matched by the optimizer's iteration count).
  saving::detail::write_atomically(next_metadata_path_, [&](const std::string& temp) {
    saving::detail::write_file(temp, text, metadata_path_);
  });
  saving::save_weights(model_handle(trainer), weights_path_);
  rename_durably(next_metadata_path_, metadata_path_);
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
