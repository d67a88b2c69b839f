// Model::load_weights on .weights.h5 files (HDF5), into the corpus's model.
#include "../fuzz_target.h"
#include "../seed_model.h"

KEEL_FUZZ_TARGET(".weights.h5", [](const std::string& path) {
  static keel::Model model = keel::fuzz::seed_model();
  model.load_weights(path);
})
