#include "keel/core/naming.h"

#include <cctype>
#include <map>
#include <mutex>

namespace keel::naming {

namespace {
bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_upper(char c) { return std::isupper(static_cast<unsigned char>(c)); }
bool is_lower(char c) { return std::islower(static_cast<unsigned char>(c)); }

std::mutex& names_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, int>& counters() {
  static std::map<std::string, int> c;
  return c;
}
}  // namespace

// Keras (keras/src/utils/naming.py): drop non-word characters; "(.)([A-Z][a-z]+)" -> "\1_\2";
// "([a-z])([A-Z])" -> "\1_\2"; lower-case.
std::string to_snake_case(const std::string& class_name) {
  std::string s;
  for (char c : class_name)
    if (is_word(c)) s += c;
  std::string a;  // first rule: an underscore before every capitalised word that follows any character
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && is_upper(s[i]) && i + 1 < s.size() && is_lower(s[i + 1])) a += '_';
    a += s[i];
  }
  std::string b;  // second rule: between a lower-case letter and a capital
  for (size_t i = 0; i < a.size(); ++i) {
    if (i > 0 && is_lower(a[i - 1]) && is_upper(a[i])) b += '_';
    b += a[i];
  }
  for (char& c : b) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return b;
}

std::string unique_name(const std::string& prefix) {
  std::lock_guard lock(names_mutex());
  int& n = counters()[prefix];
  std::string name = n == 0 ? prefix : prefix + "_" + std::to_string(n);
  ++n;
  return name;
}

void reset_names() {
  std::lock_guard lock(names_mutex());
  counters().clear();
}

}  // namespace keel::naming
