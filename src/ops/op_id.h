// OpId: the enum generated from op_list.def, with names and flags.
#pragma once
#include <cstdint>
#include <string_view>

namespace keel {

enum class OpId : uint16_t {
#define KEEL_OP(name, diff) name,
#include "op_list.def"
#undef KEEL_OP
  kCount
};
inline constexpr int kNumOps = static_cast<int>(OpId::kCount);

/// Keras-style snake_case name of the op ("matmul", "leaky_relu", ...).
std::string_view op_name(OpId op);
bool op_differentiable(OpId op);

}  // namespace keel
