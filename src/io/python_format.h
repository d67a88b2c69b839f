// Python's str.format for file-name templates (ModelCheckpoint's `ckpt-{epoch:02d}-{val_loss:.2f}.keras`):
// replacement fields `{name}` and `{name:spec}` with the format-spec mini-language for numbers
// ([[fill]align][sign][0][width][.precision][type], types d f F e E g G % or none), and `{{`/`}}` for braces.
// Integers print as Python ints, floats without a spec as Python's str(float).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <variant>

namespace keel::saving::detail {

using FormatValue = std::variant<int64_t, double>;

/// `pattern.format(**values)`. A field naming a missing key or carrying a spec it cannot apply is a
/// ValueError naming the pattern and the reason (Python's KeyError / ValueError).
std::string python_format(const std::string& pattern, const std::map<std::string, FormatValue>& values);

}  // namespace keel::saving::detail
