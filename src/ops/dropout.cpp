// Inverted dropout, composed as x * DropoutMask, the mask holding 0 or 1/(1 - rate) (the scale folded in
// saves a pass over x). The mask op draws from the Philox stream (see dropout_attrs.h), so one seed gives
// one mask on every device and thread count; the gradient flows through the multiply.
#include "dropout_attrs.h"
#include "keel/core/random.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/nn.h"
#include "kernel_plan.h"
#include "record.h"

namespace keel::ops {

Tensor dropout(const Tensor& x, double rate, std::optional<uint64_t> seed) {
  KEEL_CHECK(x.defined(), ValueError, "dropout: x is an undefined tensor");
  KEEL_CHECK(rate >= 0.0 && rate < 1.0, ValueError, "dropout: rate must be in [0, 1), got ", rate);
  KEEL_CHECK(is_floating(x.dtype()), DTypeError, "dropout: expected a floating-point tensor, got ",
             dtype_name(x.dtype()), " with shape ", shape_str(x.shape()));
  if (rate == 0.0) return x;
  const uint64_t blocks = static_cast<uint64_t>((x.numel() + 3) / 4);
  random::StreamPosition pos = seed ? random::StreamPosition{*seed, 0} : random::next_stream(blocks);
  DropoutMaskAttrs attrs{pos.key, pos.counter, rate};
  Tensor mask = empty(x.shape(), x.dtype(), x.device());
  Tensor out[] = {mask};
  dispatch(OpId::DropoutMask, {}, out, &attrs);  // no inputs, not differentiable: nothing to record
  if (KernelPlanRecorder* plan = KernelPlanRecorder::active(); plan && !seed)
    plan->refresh_last_draw([blocks](void* a) {  // a replay draws the next mask, as this code would
      const random::StreamPosition p = random::next_stream(blocks);
      static_cast<DropoutMaskAttrs*>(a)->key = p.key;
      static_cast<DropoutMaskAttrs*>(a)->counter = p.counter;
    });
  return multiply(x, mask);
}

}  // namespace keel::ops
