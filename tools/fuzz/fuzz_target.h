// One fuzz target per reader: KEEL_FUZZ_TARGET(".ext", body) defines libFuzzer's entry point, which writes the
// input to a scratch file (the readers take paths, as users call them) and runs `body(path)`. A reader must
// accept the file or throw a keel::Error; any other exception leaves the entry point, which libFuzzer
// reports as a crash ("deadly signal" after std::terminate), as do sanitizer reports and real crashes.
// Built two ways (tools/fuzz/CMakeLists.txt): with clang's libFuzzer by scripts/fuzz, and with
// smoke_main.cpp, a small mutation loop over the committed corpus that CI runs under GCC's sanitizers.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "keel/core/error.h"

namespace keel::fuzz {

/// A scratch file for this process, removed at exit: $TMPDIR (or /tmp), named after the pid.
inline const std::string& scratch_path(const char* extension) {
  static const std::string path = [&] {
    const char* dir = std::getenv("TMPDIR");
    std::string p = std::string(dir && *dir ? dir : "/tmp") + "/keel-fuzz-" + std::to_string(::getpid()) + extension;
    std::atexit([] { std::remove(scratch_path("").c_str()); });
    return p;
  }();
  return path;
}

inline void write_scratch(const std::string& path, const uint8_t* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort();  // the harness, not the reader, failed
  }
}

}  // namespace keel::fuzz

#define KEEL_FUZZ_TARGET(extension, ...)                                                \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {           \
    const std::string& path = ::keel::fuzz::scratch_path(extension);                  \
    ::keel::fuzz::write_scratch(path, data, size);                                    \
    try {                                                                             \
      (__VA_ARGS__)(path);                                                            \
    } catch (const ::keel::Error&) {                                                  \
    }                                                                                 \
    return 0;                                                                         \
  }
