// The model config reader: the input is config.json's text, placed in an otherwise valid .keras archive
// (the corpus's), so mutations reach the JSON and config code instead of stopping at the zip checks.
#include <zip.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "../fuzz_target.h"
#include "keel/keel.h"

namespace {

// The archive every input is placed in: KEEL_FUZZ_CONFIG_ARCHIVE, or the corpus's model.keras.
std::string base_archive() {
  const char* path = std::getenv("KEEL_FUZZ_CONFIG_ARCHIVE");
  std::ifstream in(path ? path : KEEL_FUZZ_CORPUS_DIR "/config_json_archive.keras", std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  if (bytes.str().empty()) {
    std::fprintf(stderr, "config_json: cannot read the base archive (set KEEL_FUZZ_CONFIG_ARCHIVE)\n");
    std::abort();
  }
  return bytes.str();
}

}  // namespace

KEEL_FUZZ_TARGET(".json", [](const std::string& json_path) {
  static const std::string archive = base_archive();
  std::ifstream in(json_path, std::ios::binary);
  std::stringstream config;
  config << in.rdbuf();
  const std::string text = config.str();
  const std::string keras_path = json_path + ".keras";
  std::ofstream(keras_path, std::ios::binary) << archive;
  int err = 0;
  zip_t* z = zip_open(keras_path.c_str(), 0, &err);
  zip_source_t* src = z ? zip_source_buffer(z, text.data(), text.size(), 0) : nullptr;
  const zip_int64_t index = z ? zip_name_locate(z, "config.json", 0) : -1;
  if (src == nullptr || index < 0 || zip_file_replace(z, static_cast<zip_uint64_t>(index), src, 0) != 0 ||
      zip_set_file_compression(z, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) != 0 || zip_close(z) != 0) {
    std::fprintf(stderr, "config_json: cannot rebuild the archive\n");
    std::abort();
  }
  try {
    keel::saving::load_model(keras_path);
  } catch (...) {
    std::remove(keras_path.c_str());
    throw;
  }
  std::remove(keras_path.c_str());
})
