// saving::load_model on legacy HDF5 model files (.h5: JSON configs in attributes, weights by layer name).
#include "../fuzz_target.h"
#include "keel/keel.h"

KEEL_FUZZ_TARGET(".h5", [](const std::string& path) { keel::saving::load_model(path); })
