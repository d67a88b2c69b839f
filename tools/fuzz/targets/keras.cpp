// saving::load_model on .keras archives: zip, config.json, metadata.json, model.weights.h5.
#include "../fuzz_target.h"
#include "keel/keel.h"

KEEL_FUZZ_TARGET(".keras", [](const std::string& path) { keel::saving::load_model(path); })
