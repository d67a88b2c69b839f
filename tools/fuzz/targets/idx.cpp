// datasets::read_idx on IDX files, raw or gzip-compressed.
#include "../fuzz_target.h"
#include "keel/data/datasets.h"

KEEL_FUZZ_TARGET(".idx", [](const std::string& path) { keel::datasets::read_idx(path); })
