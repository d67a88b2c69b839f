// Trainer steps under a distribution strategy, as Keras's TF trainer runs them (keras-reference §11.1):
// the global batch is split over the replicas; each replica's mean loss is scaled by 1/replicas and its
// gradients are summed over all replicas before one identical update everywhere; metric states are summed
// over replicas; BatchNormalization's moving statistics (replica-local updates) are averaged, as Keras's
// MEAN-aggregated variables are. This process's replicas share one copy of the variables and run in turn.
#include <algorithm>

#include "keel/core/grad_mode.h"
#include "keel/layers/layer.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/training/trainer.h"
#include "training/epoch_data.h"

namespace keel {

using training_detail::Batch;
using training_detail::EpochData;
using training_detail::on_device;
using training_detail::rows_of;

namespace {

/// A contiguous host tensor the collectives may overwrite (never the caller's storage).
Tensor host_buffer(const Tensor& t, DType dtype) {
  NoGradGuard no_grad;
  Tensor host = t.device().is_cpu() ? t : t.to(Device::cpu());
  return host.dtype() == dtype ? host.clone() : ops::cast(host, dtype).contiguous();
}

/// Variables each replica updates on its own in the forward pass (Keras's non-trainable weights that the
/// layer assigns during training, e.g. BatchNormalization's moving mean and variance).
std::vector<Variable> replica_local_variables(const std::vector<Variable>& all) {
  std::vector<Variable> out;
  for (const auto& v : all)
    if (!v.trainable() && v.dtype() == DType::f32) out.push_back(v);
  return out;
}

}  // namespace

void Trainer::sync_replicas_once() {
  if (replicas_synced_) return;
  replicas_synced_ = true;
  if (strategy_->process_count() == 1) return;
  // Keras broadcasts initial values when mirrored variables are created; doing it before each call's
  // first step also covers weights set or loaded on the chief only.
  std::vector<Variable> vars = all_variables();
  std::vector<Tensor> values;
  for (const auto& v : vars) values.push_back(host_buffer(v.value(), v.dtype()));
  strategy_->broadcast_from_chief(values);
  const Device device = model_device();
  for (size_t i = 0; i < vars.size(); ++i) vars[i].assign(values[i].to(device));
}

void Trainer::sync_epoch_order(EpochData& data) {
  if (!strategy_ || strategy_->process_count() == 1) return;
  data.set_order_sync([strategy = strategy_](std::vector<int64_t>& order) {
    std::vector<Tensor> t{from_vector(order, {static_cast<int64_t>(order.size())}, Device::cpu())};
    strategy->broadcast_from_chief(t);
    order = t[0].to_vector<int64_t>();
  });
}

Logs Trainer::distributed_train_step(const Batch& host_batch) {
  StrategyExtended& strategy = *strategy_;
  sync_replicas_once();
  ReplicaContext replica_context(strategy.num_replicas_in_sync());
  const Device device = model_device();
  const bool multi_process = strategy.process_count() > 1;
  std::vector<Variable> vars = trainable_variables();
  for (auto& v : vars) v.value().set_grad(Tensor());

  // Each replica starts from the same moving statistics; their updates are averaged afterwards.
  std::vector<Variable> local_vars = replica_local_variables(all_variables());
  const bool average_local = !local_vars.empty() && (multi_process || strategy.local_replicas() > 1);
  std::vector<Tensor> start_values, local_sums;
  if (average_local)
    for (const auto& v : local_vars) start_values.push_back(v.value().clone());

  // Keras clips each replica's (1/R-scaled) gradients before the sum; without clipping the autograd
  // accumulation into .grad already sums this process's replicas.
  const bool clip_each = optimizer_->clips_gradients();
  std::vector<Tensor> clipped_sum(vars.size());
  const double scale = 1.0 / strategy.num_replicas_in_sync();
  const auto shards = strategy.local_shards(host_batch.size);
  for (size_t r = 0; r < shards.size(); ++r) {
    const auto [begin, end] = shards[r];
    if (average_local && r > 0)
      for (size_t i = 0; i < local_vars.size(); ++i) local_vars[i].assign(start_values[i]);
    if (end > begin) {
      const Batch batch = on_device(rows_of(host_batch, begin, end), device);
      const ForwardResult f = forward(batch.x, /*training=*/true);
      const std::vector<Tensor>& outputs = f.outputs;
      last_per_output_.clear();  // an overriding compute_loss gives none
      Tensor loss = compute_loss(StepData{batch.x, batch.y, batch.sample_weight}, f);
      std::vector<double> per_output;
      for (const Tensor& l : last_per_output_) per_output.push_back(l.item<double>());
      const double loss_value = loss.detach().item<double>();
      if (!vars.empty()) {
        (loss * scale).backward();
        if (clip_each) {
          std::vector<Tensor> grads;
          for (auto& v : vars) grads.push_back(v.value().grad());
          grads = optimizer_->clip(grads);
          NoGradGuard no_grad;
          for (size_t i = 0; i < vars.size(); ++i) {
            if (grads[i].defined()) clipped_sum[i] = clipped_sum[i].defined() ? clipped_sum[i] + grads[i] : grads[i];
            vars[i].value().set_grad(Tensor());
          }
        }
      }
      update_metrics(batch, outputs, f.masks, loss_value, per_output);
    }
    if (average_local)
      for (size_t i = 0; i < local_vars.size(); ++i) {
        // Summed in float64 so that replicas with equal values average back to exactly that value.
        Tensor value = host_buffer(local_vars[i].value(), DType::f64);
        if (local_sums.size() <= i) local_sums.push_back(value);
        else local_sums[i] = local_sums[i] + value;
      }
  }

  if (!vars.empty()) {
    NoGradGuard no_grad;
    std::vector<Tensor> grads;
    for (size_t i = 0; i < vars.size(); ++i) grads.push_back(clip_each ? clipped_sum[i] : vars[i].value().grad());
    for (auto& v : vars) v.value().set_grad(Tensor());
    if (multi_process) {
      // Every process reduces the same list: zeros stand in for missing gradients, and a flag per variable
      // tells which gradients exist on some replica (the others stay missing, as without a strategy).
      std::vector<float> has_grad(vars.size());
      std::vector<Tensor> buffers;
      for (size_t i = 0; i < vars.size(); ++i) {
        has_grad[i] = grads[i].defined() ? 1.0f : 0.0f;
        buffers.push_back(grads[i].defined() ? host_buffer(grads[i], DType::f32)
                                             : zeros(vars[i].shape(), DType::f32, Device::cpu()));
      }
      buffers.push_back(from_vector(has_grad, {static_cast<int64_t>(vars.size())}, Device::cpu()));
      strategy.all_reduce_sum(buffers);
      const std::vector<float> any_grad = buffers.back().to_vector<float>();
      for (size_t i = 0; i < vars.size(); ++i) {
        const bool keep = any_grad[i] > 0.0f;
        grads[i] = !keep ? Tensor() : device.is_cpu() ? buffers[i] : buffers[i].to(device);
        if (keep && grads[i].dtype() != vars[i].dtype()) grads[i] = ops::cast(grads[i], vars[i].dtype());
      }
    }
    if (clip_each) optimizer_->apply_clipped(grads, vars);
    else optimizer_->apply(grads, vars);
  }

  if (average_local) {
    NoGradGuard no_grad;
    // A process whose replicas all had empty slices still contributes its (unchanged) values.
    for (size_t i = 0; i < local_vars.size(); ++i)
      if (local_sums.size() <= i) local_sums.push_back(host_buffer(start_values[i], DType::f64) *
                                                       static_cast<double>(strategy.local_replicas()));
    if (multi_process) strategy.all_reduce_sum(local_sums);
    for (size_t i = 0; i < local_vars.size(); ++i) {
      Tensor mean = ops::cast(local_sums[i] / static_cast<double>(strategy.num_replicas_in_sync()), DType::f32);
      local_vars[i].assign(device.is_cpu() ? mean : mean.to(device));
    }
  }
  return metric_logs();
}

Logs Trainer::distributed_test_step(const Batch& host_batch) {
  NoGradGuard no_grad;
  sync_replicas_once();
  const Device device = model_device();
  for (const auto& [begin, end] : strategy_->local_shards(host_batch.size)) {
    if (end > begin) accumulate_test_metrics(on_device(rows_of(host_batch, begin, end), device));
  }
  return metric_logs();
}

std::vector<Tensor> Trainer::distributed_predict_step(const Batch& host_batch) {
  NoGradGuard no_grad;
  sync_replicas_once();
  const Device device = model_device();
  std::vector<std::vector<Tensor>> pieces;
  for (const auto& [begin, end] : strategy_->local_shards(host_batch.size)) {
    if (end == begin) continue;
    std::vector<Tensor> outs = forward(on_device(rows_of(host_batch, begin, end), device).x, false).outputs;
    if (pieces.empty()) pieces.resize(outs.size());
    for (size_t o = 0; o < outs.size(); ++o) pieces[o].push_back(outs[o]);
  }
  if (pieces.empty()) {
    // Every local slice is empty (a short last batch): zero rows of the right shape, from a one-row call.
    for (const Tensor& out : forward(on_device(rows_of(host_batch, 0, 1), device).x, false).outputs)
      pieces.push_back({ops::slice_axis(out, 0, 0, 0)});
  }
  std::vector<Tensor> outputs;
  for (auto& p : pieces) {
    Tensor local = p.size() == 1 ? p[0] : ops::concatenate(p, 0);
    // Replicas hold consecutive rows in global replica order, so gathering by rank restores the batch.
    outputs.push_back(strategy_->process_count() > 1 ? strategy_->all_gather_rows(host_buffer(local, local.dtype()))
                                                     : local);
  }
  return outputs;
}

}  // namespace keel
