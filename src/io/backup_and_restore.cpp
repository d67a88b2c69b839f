// BackupAndRestore (keras/src/callbacks/backup_and_restore.py, keras-reference §9.7), plus the state Keel
// saves so that a resumed fit is bitwise identical to an uninterrupted one (the global generator, the
// History so far) and a check that the two files come from the same backup. Under a multi-process
// strategy the chief alone reads and writes the backup; every worker's own state goes into the chief's
// metadata (Note [BackupAndRestore under a multi-worker strategy]).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "keel/core/grad_mode.h"
#include "keel/core/error.h"
#include "keel/io/callbacks.h"
#include "keel/io/weights.h"
#include "keel/models/model.h"
#include "keel/training/strategy.h"
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

}  // namespace

// Named, not anonymous: BackupAndRestore::Loaded holds a Metadata.
namespace backup_detail {

// What one worker saves of its own: the whole state of a single-process fit, and under a multi-process
// strategy what differs between the workers (each draws its own dropout masks and accumulates the
// metrics of its own shard of every batch).
struct WorkerState {
  random::GeneratorState random;  // at the start of the saved epoch
  std::optional<random::GeneratorState> batch_random;  // mid-epoch: after the last batch done
  std::vector<double> metrics;                         // mid-epoch: Trainer::metric_state()
  std::vector<Trainer::CallbackState> callbacks;
  std::vector<uint64_t> data_state;
};

// The content of training_metadata.json: Keras's fields, and Keel's ("keel") when the file has them.
struct Metadata {
  int epoch = 0;
  std::string text;  // as read, for the chief to hand to the other workers
  struct Keel {
    int64_t optimizer_iterations = 0;
    History history;
    // Keel's later fields (absent from older backups, which then resume at the start of `epoch`).
    int64_t batches_done = 0;  // batches of `epoch` already trained on
    // By rank: rank 0's fields are at the top of the "keel" object (where a single process has its own),
    // the other workers' in its "workers" array; "num_workers" (absent: 1) counts them.
    std::vector<WorkerState> workers;
  };
  std::optional<Keel> keel;
};

}  // namespace backup_detail

using backup_detail::Metadata;
using backup_detail::WorkerState;

namespace {

random::GeneratorState parse_state(const json& j) {
  return {j.at("seed").get<uint64_t>(), j.at("offset").get<uint64_t>()};
}

json state_json(const random::GeneratorState& state) { return {{"seed", state.seed}, {"offset", state.offset}}; }

template <typename Bad>
WorkerState parse_worker(const json& k, bool mid_epoch, const Bad& bad) {
  WorkerState w;
  w.random.seed = k.at("random_seed").get<uint64_t>();
  w.random.offset = k.at("random_offset").get<uint64_t>();
  if (mid_epoch) {
    w.batch_random = parse_state(k.at("batch_random"));
    for (const json& v : k.at("metrics")) {
      try {
        w.metrics.push_back(callbacks::json_to_double(v));
      } catch (const ValueError&) {
        throw bad("metric state value " + v.dump());
      }
    }
  }
  if (k.contains("callbacks"))
    for (const json& c : k.at("callbacks"))
      w.callbacks.push_back({c.at("type").get<std::string>(), c.at("index").get<int>(), c.at("state")});
  if (k.contains("data_state")) w.data_state = k.at("data_state").get<std::vector<uint64_t>>();
  return w;
}

// `text` is the content of the file at `path` (named in the errors).
Metadata parse_metadata_text(const std::string& text, const std::string& path) {
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
  m.text = text;
  const int64_t epoch = j["epoch"].get<int64_t>();
  if (epoch < 0 || epoch > std::numeric_limits<int>::max()) throw bad("\"epoch\" out of range");
  m.epoch = static_cast<int>(epoch);
  if (!j.contains("keel")) return m;  // a Keras backup: the epoch is all it restores
  try {
    const json& k = j.at("keel");
    Metadata::Keel keel;
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
    }
    const bool mid_epoch = keel.batches_done > 0;
    keel.workers.push_back(parse_worker(k, mid_epoch, bad));
    const int64_t workers = k.contains("num_workers") ? k.at("num_workers").get<int64_t>() : 1;
    if (workers < 1 || workers > std::numeric_limits<int>::max()) throw bad("\"num_workers\" out of range");
    if (workers > 1) {
      const json& others = k.at("workers");
      if (!others.is_array() || static_cast<int64_t>(others.size()) != workers - 1)
        throw bad("\"workers\" does not hold the states of the " + std::to_string(workers - 1) + " workers after the chief");
      for (const json& w : others) keel.workers.push_back(parse_worker(w, mid_epoch, bad));
    }
    m.keel = std::move(keel);
  } catch (const json::exception& e) {
    throw bad(std::string("\"keel\": ") + e.what());
  }
  return m;
}

Metadata parse_metadata(const std::string& path) { return parse_metadata_text(read_file(path), path); }

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


// Note [BackupAndRestore under a multi-worker strategy]
// Under a strategy with several processes (MultiWorkerMirroredStrategy) the workers' variables are
// identical, but each worker draws its own dropout masks, accumulates the metrics of its own shard of each
// batch (the logs are their sum) and has its own callbacks and input. A backup must hold all of that, and
// a restart must hand every worker its own part of one and the same backup. So:
//  - saving is a collective: every worker calls save() at the same batches (the same save_freq count),
//    serializes its WorkerState and the states are gathered; the chief (rank 0) alone writes the files,
//    its own state at the top of "keel" and the others' in "keel.workers". The other workers write nothing
//    (Keras lets them write to temporary directories that it deletes: the same outcome, without files).
//    One metadata file holds every worker's state, so the kill-safe protocol of the single process (the
//    .next file, the optimizer's iteration count) covers all of it: there is no per-worker file that
//    could come from another save than the weights.
//  - restoring is a collective too: the chief alone reads backup_dir (committing a pending .next file or
//    falling back to the .bkp pair when needed, so no other process reads files it may be rewriting),
//    then broadcasts the metadata it settled on and the variables it loaded (model and optimizer); each
//    worker resumes with its own WorkerState. backup_dir need only exist on the chief's filesystem. When
//    the chief fails to restore, it still broadcasts, so that every worker fails with its message
//    rather than waiting for the collective's timeout.
//  - only the chief deletes backup_dir at the end (delete_checkpoint).
// A backup is resumed only by as many workers as wrote it (ValueError otherwise): shards, generators and
// accumulators do not carry over to another split of the batches.

// The collectives when fit runs under a strategy of several processes; nullptr otherwise.
StrategyExtended* multi_process(const Trainer& trainer) {
  const std::shared_ptr<StrategyExtended>& strategy = trainer.distribute_strategy();
  return strategy && strategy->process_count() > 1 ? strategy.get() : nullptr;
}

// `bytes` in a zero-padded int64 tensor of `words` elements (on the CPU, as the collectives take it).
Tensor to_words(const std::string& bytes, int64_t words) {
  Tensor t = zeros({words}, DType::i64, Device::cpu());
  if (!bytes.empty()) std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  return t;
}

int64_t words_for(int64_t bytes) { return std::max<int64_t>(1, (bytes + 7) / 8); }

// Every worker's `bytes`, in rank order; every worker calls it at the same point.
std::vector<std::string> all_gather_bytes(StrategyExtended& strategy, const std::string& bytes) {
  const Tensor size = from_vector(std::vector<int64_t>{static_cast<int64_t>(bytes.size())}, {1}, Device::cpu());
  const std::vector<int64_t> sizes = strategy.all_gather_rows(size).to_vector<int64_t>();
  const int64_t words = words_for(*std::max_element(sizes.begin(), sizes.end()));
  const Tensor all = strategy.all_gather_rows(to_words(bytes, words)).contiguous();
  const char* data = static_cast<const char*>(all.data_ptr());
  std::vector<std::string> out;
  for (size_t r = 0; r < sizes.size(); ++r)
    out.emplace_back(data + static_cast<int64_t>(r) * words * 8, static_cast<size_t>(sizes[r]));
  return out;
}

// The chief's `bytes` on every worker (the others pass anything).
std::string broadcast_bytes(StrategyExtended& strategy, const std::string& bytes) {
  std::vector<Tensor> size{from_vector(std::vector<int64_t>{static_cast<int64_t>(bytes.size())}, {1}, Device::cpu())};
  strategy.broadcast_from_chief(size);
  const int64_t n = size[0].to_vector<int64_t>()[0];
  std::vector<Tensor> data{to_words(strategy.process_rank() == 0 ? bytes : std::string(), words_for(n))};
  strategy.broadcast_from_chief(data);
  return std::string(static_cast<const char*>(data[0].data_ptr()), static_cast<size_t>(n));
}

// The chief's values of `vars` on every worker.
void broadcast_variables(StrategyExtended& strategy, const std::vector<Variable>& vars) {
  NoGradGuard no_grad;
  std::vector<Tensor> values;
  for (const Variable& v : vars) values.push_back(v.value().to(Device::cpu()).contiguous().clone());
  strategy.broadcast_from_chief(values);
  for (size_t i = 0; i < vars.size(); ++i) vars[i].assign(values[i].to(vars[i].value().device()));
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

// What the files of backup_dir held, once loaded (the weights into the model and its optimizer).
struct BackupAndRestore::Loaded {
  std::optional<Metadata> metadata;
  bool weights = false;   // latest.weights.h5 was loaded
  bool previous = false;  // from the .bkp pair
};

void BackupAndRestore::restore() {
  Model model = model_handle(this->model());
  KEEL_CHECK(model.get()->built(), ValueError,
             "To use the BackupAndRestore callback, you model must be built before you call `fit()`. Model ",
             model.get()->name(), " is unbuilt. You can build it beforehand by calling it on a batch of data.");
  StrategyExtended* strategy = multi_process(this->model());
  if (strategy == nullptr) {
    apply(load());
    return;
  }
  // Note [BackupAndRestore under a multi-worker strategy]: the chief loads, then shares.
  Loaded loaded;
  std::exception_ptr failure;
  json shared;
  if (strategy->process_rank() == 0) {
    try {
      loaded = load();
      shared = {{"metadata", loaded.metadata ? json(loaded.metadata->text) : json(nullptr)},
                {"weights", loaded.weights},
                {"previous", loaded.previous}};
    } catch (const std::exception& e) {
      failure = std::current_exception();
      shared = {{"error", e.what()}};
    }
  }
  const std::string received = broadcast_bytes(*strategy, shared.dump());
  if (failure) std::rethrow_exception(failure);
  if (strategy->process_rank() != 0) {
    shared = json::parse(received);
    if (shared.contains("error"))
      throw Error("BackupAndRestore: the chief (worker 0) could not restore the backup in '" + backup_dir_ +
                  "': " + shared["error"].get<std::string>());
    loaded.weights = shared.at("weights").get<bool>();
    loaded.previous = shared.at("previous").get<bool>();
    if (!shared.at("metadata").is_null())
      loaded.metadata = parse_metadata_text(shared.at("metadata").get<std::string>(), metadata_path_);
  }
  if (loaded.weights) {
    Optimizer& optimizer = this->model().optimizer();
    if (!optimizer.built()) optimizer.build(model.trainable_weights());
    std::vector<Variable> vars = model.weights();
    vars.insert(vars.end(), optimizer.variables().begin(), optimizer.variables().end());
    broadcast_variables(*strategy, vars);
  }
  apply(std::move(loaded));
}

BackupAndRestore::Loaded BackupAndRestore::load() {
  try {
    return load_from(false);
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
    return load_from(true);
  }
}

BackupAndRestore::Loaded BackupAndRestore::load_from(bool previous) {
  // Everything is read and checked before anything is applied, except the weights, which a failure
  // after them leaves loaded (fit then fails, or the fallback loads the previous ones over them).
  Loaded loaded;
  loaded.previous = previous;
  if (fs::exists(metadata_path_)) loaded.metadata = parse_metadata(metadata_path_);
  Trainer& trainer = model();
  if (fs::exists(weights_path_)) {
    Model model = model_handle(trainer);
    Optimizer& optimizer = trainer.optimizer();
    if (!optimizer.built()) optimizer.build(model.trainable_weights());  // its variables must exist to load
    saving::load_weights(model, weights_path_);
    loaded.weights = true;
    auto matches = [&](const std::optional<Metadata>& m) {
      return m && m->keel && optimizer.iterations() == m->keel->optimizer_iterations;
    };
    std::optional<Metadata>& metadata = loaded.metadata;
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
  return loaded;
}

void BackupAndRestore::apply(Loaded loaded) {
  if (!loaded.metadata) return;
  Metadata& metadata = *loaded.metadata;
  Trainer& trainer = model();
  restored_epoch_ = metadata.epoch;
  restored_from_previous_ = loaded.previous;
  if (!metadata.keel) {
    trainer.initial_epoch_override = metadata.epoch;  // Keras's metadata: the epoch, nothing more
    return;
  }
  Metadata::Keel& keel = *metadata.keel;
  const StrategyExtended* strategy = multi_process(trainer);
  const int workers = strategy ? strategy->process_count() : 1;
  KEEL_CHECK(static_cast<int>(keel.workers.size()) == workers, ValueError, "BackupAndRestore: the backup in '",
             backup_dir_, "' was written by a fit of ", keel.workers.size(), " worker(s) and this fit runs ", workers,
             ": the workers' shards of the batches, generators and metric accumulators do not carry over. Resume "
             "with ",
             keel.workers.size(), " worker(s), or delete the backup to start afresh");
  WorkerState& own = keel.workers[strategy ? strategy->process_rank() : 0];
  random::set_state(own.random);  // the epoch's start: its shuffle permutation is drawn again
  history_ = keel.history;
  trainer.resumed_history = keel.history;
  Trainer::ResumePoint resume;
  resume.epoch = metadata.epoch;
  resume.batches_done = keel.batches_done;
  resume.metric_state = std::move(own.metrics);
  resume.random_state = own.batch_random;
  resume.callback_states = std::move(own.callbacks);
  resume.data_state = std::move(own.data_state);
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
  Trainer& trainer = model();
  const bool mid_epoch = batch >= 0;
  // This worker's own state (WorkerState's fields).
  json keel = {
      // At an epoch end the generator is where the next epoch starts.
      {"random_seed", mid_epoch ? epoch_start_state_.seed : random::get_state().seed},
      {"random_offset", mid_epoch ? epoch_start_state_.offset : random::get_state().offset},
      {"data_state", trainer.epoch_data_state()},
  };
  json callback_states = json::array();
  for (const Trainer::CallbackState& c : trainer.callback_states())
    callback_states.push_back({{"type", c.type}, {"index", c.index}, {"state", c.state}});
  keel["callbacks"] = std::move(callback_states);
  if (mid_epoch) {
    keel["batch_random"] = state_json(random::get_state());
    json metrics = json::array();
    for (double v : trainer.metric_state()) metrics.push_back(callbacks::double_to_json(v));
    keel["metrics"] = std::move(metrics);
  }
  StrategyExtended* strategy = multi_process(trainer);
  if (strategy != nullptr) {
    // Note [BackupAndRestore under a multi-worker strategy]: the chief writes every worker's state.
    const std::vector<std::string> states = all_gather_bytes(*strategy, keel.dump());
    if (strategy->process_rank() != 0) return;
    json others = json::array();
    for (size_t r = 1; r < states.size(); ++r) others.push_back(json::parse(states[r]));
    keel["num_workers"] = static_cast<int64_t>(states.size());
    keel["workers"] = std::move(others);
  }
  try {
    fs::create_directories(backup_dir_);
  } catch (const fs::filesystem_error& e) {
    throw Error("BackupAndRestore: cannot create the backup directory '" + backup_dir_ + "': " + e.code().message());
  }
  if (options_.double_checkpoint) {
    if (fs::exists(weights_path_)) copy_atomically(weights_path_, prev_weights_path_);
    if (fs::exists(metadata_path_)) copy_atomically(metadata_path_, prev_metadata_path_);
  }
  json history = json::object();
  for (const auto& [key, values] : history_.history) {
    json list = json::array();
    for (double v : values) list.push_back(callbacks::double_to_json(v));
    history[key] = std::move(list);
  }
  const Optimizer& optimizer = trainer.optimizer();
  keel["optimizer_iterations"] = optimizer.built() ? optimizer.iterations() : int64_t{0};
  keel["history"] = {{"epoch", history_.epoch}, {"history", std::move(history)}};
  keel["batches_done"] = mid_epoch ? batch + 1 : 0;
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
  // Under a multi-process strategy the chief alone touches backup_dir.
  if (const StrategyExtended* strategy = multi_process(model()); strategy && strategy->process_rank() != 0) return;
  std::error_code ec;
  if (!fs::exists(backup_dir_, ec)) return;
  fs::remove_all(backup_dir_, ec);
  KEEL_CHECK(!ec, Error, "BackupAndRestore: cannot delete the backup directory '", backup_dir_, "': ", ec.message());
}

}  // namespace keel::callbacks
