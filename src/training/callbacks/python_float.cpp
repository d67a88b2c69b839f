#include "training/callbacks/python_float.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

namespace keel::callbacks::detail {

std::string python_float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  const std::string sign = std::signbit(x) ? "-" : "";
  x = std::fabs(x);
  if (x == 0.0) return sign + "0.0";

  // Shortest round-trip digits as d.ddde±X; Python places the point from the same digits.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::scientific);
  (void)ec;  // 64 chars always suffice for a double
  const std::string sci(buf, end);
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (size_t i = 0; i < e_pos; ++i)
    if (sci[i] != '.') digits += sci[i];
  const int exponent = std::atoi(sci.c_str() + e_pos + 1);
  const int decpt = exponent + 1;  // x = 0.digits × 10^decpt
  const int n = static_cast<int>(digits.size());

  if (decpt <= -4 || decpt > 16) {
    std::string out = sign;
    out += digits[0];
    if (n > 1) {
      out += '.';
      out.append(digits, 1);
    }
    const int e = decpt - 1;
    out += e < 0 ? "e-" : "e+";
    if (std::abs(e) < 10) out += '0';
    out += std::to_string(std::abs(e));
    return out;
  }
  if (decpt <= 0) return sign + "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
  if (decpt < n)
    return sign + digits.substr(0, static_cast<size_t>(decpt)) + "." + digits.substr(static_cast<size_t>(decpt));
  return sign + digits + std::string(static_cast<size_t>(decpt - n), '0') + ".0";
}

}  // namespace keel::callbacks::detail
