// Recording and replaying kernel plans (Note [Kernel plans] in kernel_plan.h).
#include "kernel_plan.h"

#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "core/autograd_meta.h"
#include "core/tensor_internals.h"
#include "core/thread_observer.h"
#include "keel/core/grad_mode.h"
#include "keel/core/random.h"

namespace keel {
namespace {
thread_local KernelPlanRecorder* tls_recorder = nullptr;

}  // namespace

void KernelPlan::replay() {
  KEEL_CHECK(replayable(), RuntimeError, "KernelPlan::replay: the plan is not replayable: ", reason_);
  // Each run of kernels of one backend inside that backend's context, entered once (as dispatch does per kernel).
  for (size_t k = 0; k < kernels_.size();) {
    const Backend backend = kernels_[k].backend;
    size_t end = k;
    while (end < kernels_.size() && kernels_[end].backend == backend) ++end;
    run_in_backend_context(backend, [&] {
      for (; k < end; ++k) {
        RecordedKernel& r = kernels_[k];
        if (r.redraw) r.redraw(r.attrs.get());
        r.fn(KernelArgs{r.op, r.inputs, r.outputs, r.attrs.get()});
      }
    });
  }
}

std::vector<KernelPlan::InputSlot> KernelPlan::inputs_reading(const Storage* storage) const {
  std::vector<InputSlot> slots;
  for (size_t k = 0; k < kernels_.size(); ++k)
    for (size_t i = 0; i < kernels_[k].inputs.size(); ++i)
      if (kernels_[k].inputs[i].defined() && kernels_[k].inputs[i].storage().get() == storage) slots.push_back({k, i});
  return slots;
}

size_t KernelPlan::share_buffers(std::span<const Tensor> keep) {
  constexpr size_t kForever = std::numeric_limits<size_t>::max();
  struct Buffer {
    std::shared_ptr<Storage> storage;
    size_t first = 0, last = 0;  // kernels that write it first and use it last
    bool kept = false;
  };
  std::vector<Buffer> buffers;
  std::unordered_map<const Storage*, size_t> index;  // storage -> buffers[]
  std::unordered_set<const Storage*> external;       // read before any kernel wrote it
  for (size_t k = 0; k < kernels_.size(); ++k) {
    for (const Tensor& t : kernels_[k].inputs) {
      if (!t.defined()) continue;
      auto it = index.find(t.storage().get());
      if (it != index.end()) buffers[it->second].last = k;
      else external.insert(t.storage().get());
    }
    for (const Tensor& t : kernels_[k].outputs) {
      const Storage* s = t.storage().get();
      if (external.contains(s)) continue;
      auto [it, fresh] = index.try_emplace(s, buffers.size());
      if (fresh) buffers.push_back({t.storage(), k, k, false});
      buffers[it->second].last = k;
    }
  }
  for (const Tensor& t : keep)
    if (t.defined())
      if (auto it = index.find(t.storage().get()); it != index.end()) buffers[it->second].kept = true;
  for (Buffer& b : buffers)
    if (b.kept) b.last = kForever;

  // Greedy in order of first write: each buffer takes the smallest free slab that holds it (a slab is
  // the memory of an earlier buffer, free once that buffer's last use has passed), else keeps its own.
  struct Slab {
    std::shared_ptr<Storage> storage;
    size_t busy_until;
  };
  std::vector<Slab> slabs;
  std::unordered_map<const Storage*, std::shared_ptr<Storage>> moved;  // buffer -> the slab it now uses
  size_t saved = 0;
  for (const Buffer& b : buffers) {  // already in order of first write
    Slab* best = nullptr;
    for (Slab& s : slabs) {
      if (b.kept) break;  // results stay where the caller's tensors point
      if (s.busy_until < b.first && s.storage->nbytes >= b.storage->nbytes && s.storage->device == b.storage->device &&
          (!best || s.storage->nbytes < best->storage->nbytes))
        best = &s;
    }
    if (best) {
      best->busy_until = b.last;
      moved[b.storage.get()] = best->storage;
      saved += b.storage->nbytes;
    } else {
      slabs.push_back({b.storage, b.last});
    }
  }
  if (moved.empty()) return 0;
  auto relocate = [&moved](Tensor& t) {
    if (!t.defined()) return;
    auto it = moved.find(t.storage().get());
    if (it == moved.end()) return;
    auto im = std::make_shared<TensorImpl>();
    im->storage = it->second;
    im->shape = t.shape();
    im->strides = t.strides();
    im->offset = t.offset();
    im->dtype = t.dtype();
    t = Tensor(std::move(im));
  };
  for (RecordedKernel& k : kernels_) {
    for (Tensor& t : k.inputs) relocate(t);
    for (Tensor& t : k.outputs) relocate(t);
  }
  return saved;
}

KernelPlanRecorder::KernelPlanRecorder()
    : previous_(tls_recorder), previous_observer_(detail::exchange_thread_observer(this)) {
  tls_recorder = this;
}

KernelPlanRecorder::~KernelPlanRecorder() {
  if (!finished_) stop();
}

void KernelPlanRecorder::stop() {
  tls_recorder = previous_;
  detail::exchange_thread_observer(previous_observer_);
}

// Counted, and passed on to an enclosing recorder, which would have seen them too.
void KernelPlanRecorder::host_read() {
  ++host_reads_;
  if (previous_observer_) previous_observer_->host_read();
}
void KernelPlanRecorder::stream_draw() {
  ++draws_;
  if (previous_observer_) previous_observer_->stream_draw();
}

KernelPlanRecorder* KernelPlanRecorder::active() { return tls_recorder; }

void KernelPlanRecorder::fail(std::string reason) {
  if (plan_.reason_.empty()) plan_.reason_ = std::move(reason);
}

KernelPlan KernelPlanRecorder::finish() {
  KEEL_CHECK(!finished_, RuntimeError, "KernelPlanRecorder::finish called twice");
  finished_ = true;
  stop();
  if (host_reads_ != 0) fail("the recorded code read tensor values on the host");
  if (draws_ != draws_claimed_)
    fail("the recorded code drew random numbers outside ops that redraw them on replay");
  if (plan_.kernels_.empty()) fail("nothing was recorded");
  return std::move(plan_);
}

void KernelPlanRecorder::add(KernelFn fn, OpId op, Backend backend, std::span<const Tensor> inputs,
                             std::span<const Tensor> outputs, const void* attrs,
                             std::shared_ptr<void> (*copy_attrs)(const void*)) {
  RecordedKernel k{fn, op, backend, {inputs.begin(), inputs.end()}, {outputs.begin(), outputs.end()}, nullptr, {}};
  if (attrs) {
    if (copy_attrs) k.attrs = copy_attrs(attrs);
    else fail(std::string("the attributes of '") + std::string(op_name(op)) + "' were passed without their type");
  }
  for (const Tensor& t : inputs) {
    if (!t.defined()) continue;
    const Storage* s = t.storage().get();
    if (!produced_.contains(s)) external_.insert(s);
  }
  for (const Tensor& t : outputs) {
    const Storage* s = t.storage().get();
    if (external_.contains(s))
      fail(std::string("kernel '") + std::string(op_name(op)) + "' writes into a buffer it did not create");
    else
      produced_.insert(s);
  }
  plan_.kernels_.push_back(std::move(k));
}

void KernelPlanRecorder::refresh_last_draw(std::function<void(void* attrs)> redraw) {
  KEEL_CHECK(!plan_.kernels_.empty(), RuntimeError, "refresh_last_draw: no kernel recorded yet");
  ++draws_claimed_;
  plan_.kernels_.back().redraw = std::move(redraw);
}

}  // namespace keel
