// Attributes of DropoutMask: the Philox stream position and the drop rate. Element i of the mask uses
// counter (counter + i/4), lane i%4, and is kept iff random::uint_to_unit_float(draw) >= rate. Kept
// elements hold 1/(1 - rate), dropped ones 0, so dropout is a single multiply x·mask.
#pragma once
#include <cstdint>

namespace keel {

struct DropoutMaskAttrs {
  uint64_t key = 0;
  uint64_t counter = 0;
  double rate = 0.0;
};

}  // namespace keel
