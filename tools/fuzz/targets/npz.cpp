// data::read_npz on .npz archives (zip of .npy members).
#include "../fuzz_target.h"
#include "keel/data/npy.h"

KEEL_FUZZ_TARGET(".npz", [](const std::string& path) { keel::data::read_npz(path); })
