// Python's repr() of a float (what str(float) and f"{x}" print), so messages and CSV rows read exactly
// as Keras writes them: shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16, else
// scientific with a two-digit exponent ("1e-05", "1.5e+16"); integers keep ".0"; "nan", "inf".
#pragma once
#include <string>

namespace keel::callbacks::detail {

std::string python_float_repr(double x);

}  // namespace keel::callbacks::detail
