// The driver a fuzz target is linked with when libFuzzer is not (GCC builds, CI): runs every corpus file,
// then -runs=N mutations of them (bit flips, interesting bytes and integers, dictionary tokens, truncation,
// chunk deletion and duplication), from a fixed -seed so a failure reproduces. It finds less than libFuzzer
// (no coverage feedback) but runs on every CI build, under the ASan/UBSan tree too. Arguments, as libFuzzer
// takes them: [-runs=N] [-seed=S] [-dict=FILE] DIR_OR_FILE...; a crash or sanitizer report ends the
// process, with the input in the file named by "input:" on stderr.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// libFuzzer's dictionary format: one "token" per line with \xNN escapes; # comments; optional name= prefix.
std::vector<std::string> read_dictionary(const std::string& path) {
  std::vector<std::string> tokens;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const size_t open = line.find('"'), close = line.rfind('"');
    if (line.empty() || line[0] == '#' || open == std::string::npos || close <= open) continue;
    std::string token;
    for (size_t i = open + 1; i < close; ++i) {
      if (line[i] == '\\' && i + 1 < close && line[i + 1] == 'x' && i + 3 < close) {
        token += static_cast<char>(std::stoi(line.substr(i + 2, 2), nullptr, 16));
        i += 3;
      } else if (line[i] == '\\' && i + 1 < close) {
        token += line[++i];
      } else {
        token += line[i];
      }
    }
    tokens.push_back(token);
  }
  return tokens;
}

class Mutator {
 public:
  Mutator(uint64_t seed, std::vector<std::string> dictionary) : rng_(seed), dictionary_(std::move(dictionary)) {}

  std::string mutate(std::string s) {
    const int n = 1 + static_cast<int>(pick(4));
    for (int i = 0; i < n && !s.empty(); ++i) {
      const size_t at = pick(s.size());
      switch (pick(8)) {
        case 0: s[at] = static_cast<char>(s[at] ^ (1 << pick(8))); break;
        case 1: s[at] = static_cast<char>(std::vector<int>{0, 0xff, 0x7f, 0x80, 1, '"', '{', '9'}[pick(8)]); break;
        case 2: {  // an interesting integer over 4 or 8 bytes, either byte order
          const uint64_t values[] = {0, ~0ull, 0x7fffffffull, 0x80000000ull, 0xffffffffull, 1ull << 62, 1ull << 40};
          const uint64_t v = values[pick(7)];
          const size_t width = pick(2) ? 8 : 4;
          const bool big = pick(2);
          for (size_t k = 0; k < width && at + k < s.size(); ++k)
            s[at + k] = static_cast<char>(v >> (8 * (big ? width - 1 - k : k)));
          break;
        }
        case 3: s.resize(at); break;
        case 4: s.erase(at, std::min<size_t>(1 + pick(64), s.size() - at)); break;
        case 5: s.insert(at, s.substr(pick(s.size()), 1 + pick(64))); break;
        case 6:
          if (!dictionary_.empty()) s.insert(at, dictionary_[pick(dictionary_.size())]);
          break;
        default: s[at] = static_cast<char>(pick(256)); break;
      }
    }
    return s;
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::mt19937_64 rng_;
  std::vector<std::string> dictionary_;
};

// Keeps the input being run in a file, so that a crash leaves it behind; an input that takes over a second
// is kept too (as libFuzzer's slow-unit), since a reader that can be made slow is a finding of its own.
void run(const std::string& input, const std::string& keep, long index) {
  std::ofstream(keep, std::ios::binary | std::ios::trunc) << input;
  const auto start = std::chrono::steady_clock::now();
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (seconds > 1.0) {
    const std::string slow = keep + ".slow-" + std::to_string(index);
    std::ofstream(slow, std::ios::binary | std::ios::trunc) << input;
    std::fprintf(stderr, "slow input %ld: %.1f s, kept as %s\n", index, seconds, slow.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  long runs = 0;
  uint64_t seed = 1;
  std::string dictionary;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("-runs=", 0) == 0) runs = std::atol(arg.c_str() + 6);
    else if (arg.rfind("-seed=", 0) == 0) seed = std::strtoull(arg.c_str() + 6, nullptr, 10);
    else if (arg.rfind("-dict=", 0) == 0) dictionary = arg.substr(6);
    else if (fs::is_directory(arg))
      for (const auto& entry : fs::directory_iterator(arg)) corpus.push_back(read_file(entry.path()));
    else if (fs::is_regular_file(arg)) corpus.push_back(read_file(arg));
    else {
      std::fprintf(stderr, "%s: no such file or directory, or unknown option: %s\n", argv[0], arg.c_str());
      return 2;
    }
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "usage: %s [-runs=N] [-seed=S] [-dict=FILE] CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  const char* tmp = std::getenv("TMPDIR");
  const std::string keep = std::string(tmp && *tmp ? tmp : "/tmp") + "/keel-fuzz-smoke-input-" +
                           fs::path(argv[0]).filename().string();
  std::fprintf(stderr, "input: %s\n", keep.c_str());
  for (size_t i = 0; i < corpus.size(); ++i) run(corpus[i], keep, -1 - static_cast<long>(i));
  Mutator mutator(seed, dictionary.empty() ? std::vector<std::string>{} : read_dictionary(dictionary));
  std::mt19937_64 choose(seed);
  for (long i = 0; i < runs; ++i) run(mutator.mutate(corpus[choose() % corpus.size()]), keep, i);
  fs::remove(keep);
  std::printf("%s: %zu corpus inputs and %ld mutations, no crash\n", fs::path(argv[0]).filename().c_str(), corpus.size(),
              runs);
  return 0;
}
