// Op names (snake_case of the op_list.def names) and flags.
#include "op_id.h"

#include <array>
#include <cctype>
#include <string>

namespace keel {
namespace {
struct OpInfoRow {
  const char* pascal;
  bool differentiable;
};
constexpr OpInfoRow kOps[] = {
#define KEEL_OP(name, diff) {#name, diff},
#include "op_list.def"
#undef KEEL_OP
};
static_assert(sizeof(kOps) / sizeof(kOps[0]) == kNumOps, "op table out of sync with op_list.def");

std::array<std::string, kNumOps> make_names() {
  std::array<std::string, kNumOps> names;
  for (int i = 0; i < kNumOps; ++i) {
    std::string s;
    for (const char* p = kOps[i].pascal; *p; ++p) {
      bool upper = std::isupper(static_cast<unsigned char>(*p));
      // "MatMul" -> "matmul", "ArgMax" -> "argmax", "LeakyRelu" -> "leaky_relu" (Keras's spellings).
      if (upper && p != kOps[i].pascal) s += '_';
      s += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
    }
    for (const char* fused : {"mat_mul", "arg_max", "arg_min", "log1p"})
      if (s == fused && s.find('_') != std::string::npos) s.erase(s.find('_'), 1);
    names[i] = s;
  }
  return names;
}
}  // namespace

std::string_view op_name(OpId op) {
  static const auto names = make_names();
  return names[static_cast<int>(op)];
}
bool op_differentiable(OpId op) { return kOps[static_cast<int>(op)].differentiable; }

}  // namespace keel
