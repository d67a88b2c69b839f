// fuzz_readers KIND ITERATIONS [SEED]: a mutation loop over one of Keel's file readers, in one process.
// Each iteration mutates a valid seed file (bit flips, interesting bytes and integers, truncation, chunk
// deletion and duplication), writes it to a scratch file and reads it back; the reader must either accept
// the file or throw a keel::Error. Anything else — another exception, or a crash, which ends the process —
// is a finding: the input being read is always in `<scratch dir>/current.<ext>` (tools/fuzz/run keeps it).
//   KIND: keras    load_model on .keras archives (zip; CRC-checked entries)
//         config   config.json text inside a well-formed .keras archive (reaches the JSON and config code)
//         weights  load_weights on .weights.h5 files (HDF5)
//         legacy   load_model on legacy .h5 model files (HDF5 attributes holding JSON, weights by layer name)
//         npy      data::read_npy on .npy files
// `fuzz_readers KIND replay FILE` reads one kept input (to debug a finding).
// Prints one line of counts at the end: iterations, loaded, keel errors by kind, findings.
#include <zip.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "keel/keel.h"

using namespace keel;
namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A small model with the layers whose weights and configs the readers see most: Dense, BatchNormalization,
// LSTM (a cell sub-object), Concatenate (a functional graph), and Adam's slots.
Model seed_model() {
  random::set_seed(1);
  auto x = layers::Input({6, 4});
  auto a = layers::Flatten()(layers::BatchNormalization()(layers::Dense(3, "relu")(x)));
  auto b = layers::LSTM(3)(x);
  Model m(x, layers::Dense(1, "sigmoid")(layers::Concatenate()({a, b})));
  m.compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  m.train_on_batch(random::normal({4, 6, 4}), ones({4, 1}));
  return m;
}

// A .keras archive whose config.json is `config` (entries as Keras orders them, stored, valid CRCs).
std::string archive_with_config(const std::string& keras_bytes, const std::string& config, const std::string& scratch) {
  const std::string path = scratch + "/rebuilt.keras";
  write_file(path, keras_bytes);
  int err = 0;
  zip_t* z = zip_open(path.c_str(), 0, &err);
  if (z == nullptr) std::abort();
  zip_source_t* src = zip_source_buffer(z, config.data(), config.size(), 0);
  zip_int64_t index = zip_name_locate(z, "config.json", 0);
  if (src == nullptr || index < 0 || zip_file_replace(z, static_cast<zip_uint64_t>(index), src, 0) != 0) std::abort();
  zip_set_file_compression(z, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
  if (zip_close(z) != 0) std::abort();
  return read_file(path);
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}
  std::string mutate(std::string s) {
    const int n = 1 + static_cast<int>(pick(4));
    for (int i = 0; i < n && !s.empty(); ++i) {
      const size_t at = pick(s.size());
      switch (pick(7)) {
        case 0: s[at] = static_cast<char>(s[at] ^ (1 << pick(8))); break;
        case 1: s[at] = static_cast<char>(std::vector<int>{0, 0xff, 0x7f, 0x80, 1, '"', '{', '9'}[pick(8)]); break;
        case 2: {  // an interesting little-endian integer over 4 or 8 bytes
          const uint64_t values[] = {0, ~0ull, 0x7fffffffull, 0x80000000ull, 0xffffffffull, 1ull << 62, 1ull << 40};
          const uint64_t v = values[pick(7)];
          const size_t width = pick(2) ? 8 : 4;
          for (size_t k = 0; k < width && at + k < s.size(); ++k) s[at + k] = static_cast<char>(v >> (8 * k));
          break;
        }
        case 3: s.resize(at); break;
        case 4: s.erase(at, std::min<size_t>(1 + pick(64), s.size() - at)); break;
        case 5: s.insert(at, s.substr(pick(s.size()), 1 + pick(64))); break;
        default: s[at] = static_cast<char>(pick(256)); break;
      }
    }
    return s;
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::mt19937_64 rng_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: fuzz_readers keras|config|weights|legacy|npy ITERATIONS [SEED] | KIND replay FILE"
                         " (scratch dir: $FUZZ_DIR or .)\n");
    return 2;
  }
  const std::string kind = argv[1];
  const long iterations = std::atol(argv[2]);
  const uint64_t seed = argc > 3 && std::string(argv[2]) != "replay" ? std::strtoull(argv[3], nullptr, 10) : 1;
  const std::string scratch = std::getenv("FUZZ_DIR") ? std::getenv("FUZZ_DIR") : ".";
  fs::create_directories(scratch);

  Model model = seed_model();
  model.save(scratch + "/seed.keras");
  model.save_weights(scratch + "/seed.weights.h5");
  model.save(scratch + "/seed.h5");
  data::write_npy(scratch + "/seed.npy", random::normal({3, 4}));
  const std::string keras_bytes = read_file(scratch + "/seed.keras");
  std::string seed_bytes, ext;
  if (kind == "keras") seed_bytes = keras_bytes, ext = ".keras";
  else if (kind == "weights") seed_bytes = read_file(scratch + "/seed.weights.h5"), ext = ".weights.h5";
  else if (kind == "legacy") seed_bytes = read_file(scratch + "/seed.h5"), ext = ".h5";
  else if (kind == "npy") seed_bytes = read_file(scratch + "/seed.npy"), ext = ".npy";
  else if (kind == "config") {
    zip_t* z = zip_open((scratch + "/seed.keras").c_str(), ZIP_RDONLY, nullptr);
    zip_file_t* f = zip_fopen(z, "config.json", 0);
    char buf[1 << 16];
    zip_int64_t n;
    while ((n = zip_fread(f, buf, sizeof(buf))) > 0) seed_bytes.append(buf, static_cast<size_t>(n));
    zip_fclose(f);
    zip_discard(z);
    ext = ".keras";
  } else {
    std::fprintf(stderr, "unknown kind '%s'\n", kind.c_str());
    return 2;
  }

  Mutator mutator(seed);
  std::map<std::string, long> outcomes;
  long findings = 0;
  const std::string current = scratch + "/current" + ext;
  const bool replay = argc > 3 && std::string(argv[2]) == "replay";  // fuzz_readers KIND replay FILE: one input
  for (long i = 0; i < (replay ? 1 : iterations); ++i) {
    std::string input = replay ? read_file(argv[3]) : mutator.mutate(seed_bytes);
    if (kind == "config" && !replay) input = archive_with_config(keras_bytes, input, scratch);
    write_file(current, input);
    try {
      if (kind == "keras" || kind == "config" || kind == "legacy") saving::load_model(current);
      else if (kind == "weights") model.load_weights(current);
      else data::read_npy(current);
      ++outcomes["loaded"];
    } catch (const Error& e) {
      const char* what = dynamic_cast<const UnimplementedError*>(&e) ? "UnimplementedError"
                         : dynamic_cast<const NotFoundError*>(&e)    ? "NotFoundError"
                         : dynamic_cast<const ValueError*>(&e)       ? "ValueError"
                                                                     : "other keel::Error";
      ++outcomes[what];
      if (replay) std::printf("%s: %s\n", what, e.what());
      else if (std::string(what) == "other keel::Error") std::fprintf(stderr, "other keel::Error: %s\n", e.what());
    } catch (const std::exception& e) {
      ++findings;
      fs::copy_file(current, scratch + "/finding-" + std::to_string(i) + ext, fs::copy_options::overwrite_existing);
      std::fprintf(stderr, "finding %ld: %s (not a keel::Error): %s\n", i, typeid(e).name(), e.what());
    }
  }
  std::printf("fuzz_readers %s: %ld iterations, seed %llu:", kind.c_str(), iterations, static_cast<unsigned long long>(seed));
  for (const auto& [what, count] : outcomes) std::printf(" %s %ld,", what.c_str(), count);
  std::printf(" findings %ld\n", findings);
  return findings == 0 ? 0 : 1;
}
