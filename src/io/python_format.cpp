#include "io/python_format.h"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "keel/core/error.h"
#include "training/callbacks/python_float.h"

namespace keel::saving::detail {

namespace {

struct Spec {
  char fill = ' ';
  char align = 0;  // '<' '>' '^' '=' or 0 (numbers right-aligned)
  char sign = '-';
  int width = 0;
  int precision = -1;
  char type = 0;
};

Spec parse_spec(const std::string& spec, const std::string& field) {
  Spec s;
  size_t i = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (spec.size() >= 2 && is_align(spec[1])) {
    s.fill = spec[0];
    s.align = spec[1];
    i = 2;
  } else if (!spec.empty() && is_align(spec[0])) {
    s.align = spec[0];
    i = 1;
  }
  if (i < spec.size() && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) s.sign = spec[i++];
  if (i < spec.size() && spec[i] == '0') {
    if (s.align == 0) {
      s.fill = '0';
      s.align = '=';
    }
    ++i;
  }
  while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) s.width = s.width * 10 + (spec[i++] - '0');
  if (i < spec.size() && spec[i] == '.') {
    ++i;
    KEEL_CHECK(i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i])), ValueError,
               "Format specifier missing precision in field {", field, ":", spec, "}");
    s.precision = 0;
    while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i])))
      s.precision = s.precision * 10 + (spec[i++] - '0');
  }
  if (i < spec.size()) s.type = spec[i++];
  KEEL_CHECK(i == spec.size() && (s.type == 0 || std::string("dfFeEgG%").find(s.type) != std::string::npos), ValueError,
             "Invalid or unsupported format specifier '", spec, "' in field {", field, ":", spec,
             "} (supported: [[fill]align][sign][0][width][.precision][type], type one of d f F e E g G %)");
  return s;
}

std::string printf_double(const char* format, int precision, double x) {
  char buf[512];
  std::snprintf(buf, sizeof(buf), format, precision, x);
  return buf;
}

// The digits of |value| (no sign) in the spec's type.
std::string magnitude(const FormatValue& value, const Spec& s, const std::string& field) {
  if (const auto* i = std::get_if<int64_t>(&value); i != nullptr && (s.type == 0 || s.type == 'd')) {
    KEEL_CHECK(s.precision < 0, ValueError, "Precision not allowed in integer format specifier in field {", field, "}");
    const uint64_t m = *i < 0 ? 0 - static_cast<uint64_t>(*i) : static_cast<uint64_t>(*i);
    return std::to_string(m);
  }
  KEEL_CHECK(s.type != 'd', ValueError, "Unknown format code 'd' for object of type 'float' in field {", field, "}");
  const double x = std::fabs(std::holds_alternative<int64_t>(value) ? static_cast<double>(std::get<int64_t>(value))
                                                                    : std::get<double>(value));
  if (std::isnan(x)) return s.type != 0 && std::isupper(static_cast<unsigned char>(s.type)) ? "NAN" : "nan";
  if (std::isinf(x)) return s.type != 0 && std::isupper(static_cast<unsigned char>(s.type)) ? "INF" : "inf";
  const int p = s.precision < 0 ? 6 : s.precision;
  switch (s.type) {
    case 'f': return printf_double("%.*f", p, x);
    case 'F': return printf_double("%.*F", p, x);
    case 'e': return printf_double("%.*e", p, x);
    case 'E': return printf_double("%.*E", p, x);
    case 'g': return printf_double("%.*g", p == 0 ? 1 : p, x);
    case 'G': return printf_double("%.*G", p == 0 ? 1 : p, x);
    case '%': return printf_double("%.*f", p, x * 100) + "%";
    default: break;
  }
  if (s.precision < 0) return callbacks::detail::python_float_repr(x);
  // No type with a precision: like 'g', but a float keeps at least one digit after the point.
  std::string out = printf_double("%.*g", p == 0 ? 1 : p, x);
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

std::string format_field(const FormatValue& value, const std::string& spec_text, const std::string& field) {
  const Spec s = parse_spec(spec_text, field);
  if (spec_text.empty()) {
    if (const auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
    return callbacks::detail::python_float_repr(std::get<double>(value));
  }
  const bool negative = std::holds_alternative<int64_t>(value) ? std::get<int64_t>(value) < 0
                                                               : std::signbit(std::get<double>(value)) &&
                                                                     !std::isnan(std::get<double>(value));
  const std::string digits = magnitude(value, s, field);
  const std::string sign = negative ? "-" : s.sign == '+' ? "+" : s.sign == ' ' ? " " : "";
  const size_t length = sign.size() + digits.size();
  if (static_cast<size_t>(s.width) <= length) return sign + digits;
  const std::string pad(static_cast<size_t>(s.width) - length, s.fill);
  switch (s.align) {
    case '<': return sign + digits + pad;
    case '^': return pad.substr(0, pad.size() / 2) + sign + digits + pad.substr(pad.size() / 2);
    case '=': return sign + pad + digits;
    default: return pad + sign + digits;
  }
}

}  // namespace

std::string python_format(const std::string& pattern, const std::map<std::string, FormatValue>& values) {
  std::string out;
  try {
    for (size_t i = 0; i < pattern.size(); ++i) {
      const char c = pattern[i];
      if (c == '}') {
        KEEL_CHECK(i + 1 < pattern.size() && pattern[i + 1] == '}', ValueError, "Single '}' encountered in format string");
        out += '}';
        ++i;
        continue;
      }
      if (c != '{') {
        out += c;
        continue;
      }
      if (i + 1 < pattern.size() && pattern[i + 1] == '{') {
        out += '{';
        ++i;
        continue;
      }
      const size_t close = pattern.find('}', i);
      KEEL_CHECK(close != std::string::npos, ValueError, "expected '}' before end of string");
      const std::string field = pattern.substr(i + 1, close - i - 1);
      const size_t colon = field.find(':');
      const std::string name = field.substr(0, colon);
      const std::string spec = colon == std::string::npos ? "" : field.substr(colon + 1);
      auto it = values.find(name);
      KEEL_CHECK(it != values.end(), ValueError, "KeyError: '", name, "'");
      out += format_field(it->second, spec, name);
      i = close;
    }
  } catch (const ValueError& e) {
    throw ValueError("Failed to format this callback filepath: \"" + pattern + "\". Reason: " + e.what());
  }
  return out;
}

}  // namespace keel::saving::detail
