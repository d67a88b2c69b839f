// model.save / load_model with Keras 3's `.keras` archives (keel/io/model_file.h): a zip with no
// compression holding metadata.json, config.json and model.weights.h5, in this order
// (keras/src/saving/saving_lib.py). The zip is built in memory with libzip and written with
// write_atomically; reading takes the whole file into memory and opens it from there.
#include <zip.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>

#include "data/zip_member.h"
#include "io/atomic_file.h"
#include "io/legacy_h5.h"
#include "io/model_config.h"
#include "io/weights_internal.h"
#include "keel/core/error.h"
#include "keel/io/model_file.h"

namespace keel {
namespace saving {

namespace {

using json = nlohmann::json;

// The Keras version written to metadata.json: Keel writes Keras 3.10's layout. Keras does not check it
// when loading.
constexpr const char* kKerasVersion = "3.10.0";
constexpr const char* kMetadata = "metadata.json";
constexpr const char* kConfig = "config.json";
constexpr const char* kWeights = "model.weights.h5";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
struct SourceFree {
  void operator()(zip_source_t* s) const { zip_source_free(s); }
};

std::string zip_error_text(zip_error_t* error) { return zip_error_strerror(error); }

std::string date_saved() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d@%H:%M:%S", &local);
  return buffer;
}

void check_extension(const std::string& path, const char* what) {
  if (ends_with(path, ".keras")) return;
  throw ValueError(std::string(what) + ": invalid filepath extension. Please add the `.keras` extension to the "
                   "filepath (or `.h5`/`.hdf5` for the legacy HDF5 format). Received: filepath=" + path);
}

// The zip's bytes: each entry stored (no compression), in order.
std::string zip_image(const std::vector<std::pair<std::string, std::string>>& entries, const std::string& path) {
  zip_error_t error;
  zip_error_init(&error);
  std::unique_ptr<zip_source_t, SourceFree> buffer(zip_source_buffer_create(nullptr, 0, 0, &error));
  KEEL_CHECK(buffer, Error, "Cannot create the archive for '", path, "': ", zip_error_text(&error));
  zip_t* raw = zip_open_from_source(buffer.get(), ZIP_TRUNCATE, &error);
  KEEL_CHECK(raw, Error, "Cannot create the archive for '", path, "': ", zip_error_text(&error));
  zip_source_keep(buffer.get());  // the archive holds a reference; ours stays for reading the result
  std::unique_ptr<zip_t, ZipDiscard> archive(raw);
  for (const auto& [name, bytes] : entries) {
    zip_source_t* source = zip_source_buffer(archive.get(), bytes.data(), bytes.size(), 0);
    KEEL_CHECK(source, Error, "Cannot add '", name, "' to '", path, "': ", zip_strerror(archive.get()));
    const zip_int64_t index = zip_file_add(archive.get(), name.c_str(), source, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(source);
      throw Error("Cannot add '" + name + "' to '" + path + "': " + zip_strerror(archive.get()));
    }
    KEEL_CHECK(zip_set_file_compression(archive.get(), static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) == 0, Error,
               "Cannot store '", name, "' in '", path, "': ", zip_strerror(archive.get()));
  }
  KEEL_CHECK(zip_close(archive.get()) == 0, Error, "Cannot write the archive '", path, "': ", zip_strerror(archive.get()));
  archive.release();  // zip_close freed it

  zip_stat_t st;
  zip_stat_init(&st);
  KEEL_CHECK(zip_source_stat(buffer.get(), &st) == 0 && (st.valid & ZIP_STAT_SIZE), Error,
             "Cannot read back the archive for '", path, "'");
  std::string image(static_cast<size_t>(st.size), '\0');
  KEEL_CHECK(zip_source_open(buffer.get()) == 0, Error, "Cannot read back the archive for '", path, "'");
  const zip_int64_t got = zip_source_read(buffer.get(), image.data(), image.size());
  zip_source_close(buffer.get());
  KEEL_CHECK(got == static_cast<zip_int64_t>(image.size()), Error, "Cannot read back the archive for '", path, "'");
  return image;
}

std::string read_whole_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) throw NotFoundError("File not found: filepath=" + path + ". Please ensure the "
                                                             "file is an accessible `.keras` zip file.");
    throw Error("Cannot read '" + path + "': " + std::strerror(err));
  }
  KEEL_CHECK(!S_ISDIR(st.st_mode), ValueError, "'", path, "' is a directory, not a `.keras` archive");
  std::ifstream in(path, std::ios::binary);
  KEEL_CHECK(in, Error, "Cannot open '", path, "': ", std::strerror(errno));
  std::ostringstream os;
  os << in.rdbuf();
  KEEL_CHECK(!in.bad(), Error, "Cannot read '", path, "'");
  return os.str();
}

// A read-only view of an archive held in memory.
class Archive {
 public:
  Archive(const std::string& bytes, std::string path) : path_(std::move(path)) {
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
    KEEL_CHECK(source, Error, "Cannot read '", path_, "': ", zip_error_text(&error));
    zip_t* z = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
    if (!z) {
      zip_source_free(source);
      const std::string reason = zip_error_text(&error);
      zip_error_fini(&error);
      throw ValueError("'" + path_ + "' is not a valid `.keras` archive: it cannot be read as a zip file (" + reason +
                       "); the file may be truncated or not a Keras model");
    }
    archive_.reset(z);
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    const zip_int64_t n = zip_get_num_entries(archive_.get(), 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      const char* name = zip_get_name(archive_.get(), static_cast<zip_uint64_t>(i), 0);
      out.push_back(name ? name : "?");
    }
    return out;
  }

  std::string read(const std::string& name) const {
    const zip_int64_t index = zip_name_locate(archive_.get(), name.c_str(), 0);
    if (index < 0) {
      std::string held;
      for (const auto& n : names()) {
        if (!held.empty()) held += ", ";
        held += '\'';
        held += n;
        held += '\'';
      }
      throw ValueError("'" + path_ + "' is not a valid `.keras` archive: it has no '" + name + "' entry (entries: [" +
                       held + "])");
    }
    zip_stat_t st;
    zip_stat_init(&st);
    KEEL_CHECK(zip_stat_index(archive_.get(), static_cast<zip_uint64_t>(index), 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE),
               ValueError, "'", path_, "': cannot read entry '", name, "': ", zip_strerror(archive_.get()));
    std::unique_ptr<zip_file_t, ZipFileClose> file(zip_fopen_index(archive_.get(), static_cast<zip_uint64_t>(index), 0));
    KEEL_CHECK(file, ValueError, "'", path_, "': cannot open entry '", name, "': ", zip_strerror(archive_.get()));
    return data::detail::read_zip_member(file.get(), st.size,
                                         "'" + path_ + "': entry '" + name + "' is damaged");
  }

 private:
  std::string path_;
  std::unique_ptr<zip_t, ZipDiscard> archive_;
};

json parse_json(const std::string& text, const std::string& where) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw ValueError("Malformed JSON in " + where + " at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const json::exception& e) {  // e.g. a number too large for a double
    throw ValueError("Malformed JSON in " + where + ": " + e.what());
  }
}

}  // namespace

std::string detail::archive_weights(const std::string& path) {
  const std::string bytes = read_whole_file(path);
  return Archive(bytes, path).read(kWeights);
}

void save_model(const Model& model, const std::string& path) {
  KEEL_CHECK(model, ValueError, "model.save: the model handle is empty");
  // As in Keras, any `.h5`/`.hdf5` path (even `x.weights.h5`) saves the whole model in the legacy format.
  if (ends_with(path, ".h5") || ends_with(path, ".hdf5")) return detail::save_legacy_model(*model.get(), path);
  check_extension(path, "model.save");
  const ModelImpl& impl = *model.get();
  KEEL_CHECK(impl.built(), ValueError, "model.save: the model '", impl.name(),
             "' is not built yet; build it (call it on data, or give it an Input) before saving");
  const json metadata = {{"keras_version", kKerasVersion}, {"date_saved", date_saved()}};
  const json config = detail::serialize_model(impl);
  std::vector<std::pair<std::string, std::string>> entries;
  entries.emplace_back(kMetadata, metadata.dump());
  entries.emplace_back(kConfig, config.dump());
  entries.emplace_back(kWeights, detail::weights_image(impl, path + "/" + kWeights));
  const std::string image = zip_image(entries, path);
  detail::write_atomically(path, [&](const std::string& temp_path) { detail::write_file(temp_path, image, path); });
}

Model load_model(const std::string& path, LoadOptions options) {
  if (ends_with(path, ".h5") || ends_with(path, ".hdf5")) return detail::load_legacy_model(path, options);
  check_extension(path, "load_model");
  const std::string bytes = read_whole_file(path);
  const Archive archive(bytes, path);
  const std::string config_where = keel::detail::cat("'", kConfig, "' of '", path, "'");
  const json config = parse_json(archive.read(kConfig), config_where);
  parse_json(archive.read(kMetadata), keel::detail::cat("'", kMetadata, "' of '", path, "'"));
  const std::string weights = archive.read(kWeights);
  Model model;
  try {
    model = detail::deserialize_model(config, options, config_where);
  } catch (const json::exception& e) {  // a value of the wrong JSON type somewhere in the config
    throw ValueError("Invalid model config in " + config_where + ": " + e.what());
  }
  const std::string weights_where = path + "/" + kWeights;
  detail::load_weights_from(*model.get(), [&] { return h5::File::open_image(weights, weights_where); }, weights_where,
                            LoadWeightsOptions{});
  return model;
}

}  // namespace saving

void Model::save(const std::string& path) const { saving::save_model(*this, path); }

}  // namespace keel
