// data::read_npy on .npy files.
#include "../fuzz_target.h"
#include "keel/data/npy.h"

KEEL_FUZZ_TARGET(".npy", [](const std::string& path) { keel::data::read_npy(path); })
