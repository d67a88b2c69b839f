// Writes the model-file seeds of the committed corpus (tools/fuzz/corpus): the seed model saved as .keras,
// .weights.h5 and legacy .h5, and its config.json. The npy/npz/IDX/CSV seeds are NumPy-written fixtures
// copied from tests/data/fixtures. Run from the repository root after a format change:
//   build-io/tools/fuzz/fuzz_make_corpus tools/fuzz/corpus
#include <zip.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "seed_model.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_corpus CORPUS_DIR\n");
    return 2;
  }
  namespace fs = std::filesystem;
  const fs::path corpus = argv[1];
  for (const char* target : {"keras", "weights_h5", "legacy_h5", "config_json"}) fs::create_directories(corpus / target);
  keel::Model model = keel::fuzz::seed_model();
  model.save((corpus / "keras/model.keras").string());
  model.save((corpus / "config_json_archive.keras").string());
  model.save_weights((corpus / "weights_h5/model.weights.h5").string());
  model.save((corpus / "legacy_h5/model.h5").string());
  // config.json out of the archive, as the config_json target's seed.
  int err = 0;
  zip_t* z = zip_open((corpus / "keras/model.keras").c_str(), ZIP_RDONLY, &err);
  zip_file_t* f = z ? zip_fopen(z, "config.json", 0) : nullptr;
  if (f == nullptr) return 1;
  std::string config;
  char buf[1 << 16];
  for (zip_int64_t n; (n = zip_fread(f, buf, sizeof buf)) > 0;) config.append(buf, static_cast<size_t>(n));
  zip_fclose(f);
  zip_discard(z);
  std::FILE* out = std::fopen((corpus / "config_json/config.json").c_str(), "wb");
  if (out == nullptr || std::fwrite(config.data(), 1, config.size(), out) != config.size() || std::fclose(out) != 0)
    return 1;
  std::printf("fuzz_make_corpus: wrote the model seeds under %s\n", corpus.c_str());
  return 0;
}
