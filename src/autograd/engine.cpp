// The backward engine: Tensor::backward walks the recorded OpNodes in reverse topological order,
// calls each op's gradient rule (with recording off) and accumulates gradients into the leaves.
// Unless retain_graph is set, each node releases its saved tensors once used, so the graph is freed by
// the time backward returns and a second backward through it is an error.
#include <unordered_map>
#include <vector>

#include "autograd/grad_rules.h"
#include "keel/ops/elementwise.h"

namespace keel {
namespace {

OpNode* node_of(const Tensor& t) { return static_cast<OpNode*>(t.grad_fn().get()); }

void accumulate_leaf(const Tensor& leaf, const Tensor& g) {
  Tensor prev = leaf.grad();
  leaf.set_grad(prev.defined() ? ops::add(prev, g) : g);
}

// Nodes reachable from root, each listed after every node that consumes its outputs.
// keep_alive receives every node below root: releasing a node's inputs must not free nodes still to visit.
std::vector<OpNode*> topo_order(OpNode* root, std::vector<std::shared_ptr<GradNode>>& keep_alive) {
  std::vector<OpNode*> order;
  std::unordered_map<OpNode*, bool> done;
  std::vector<std::pair<OpNode*, size_t>> stack{{root, 0}};
  done[root] = false;
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const Tensor& in = node->inputs[next++];
      if (!in.defined() || !in.requires_grad()) continue;
      OpNode* child = node_of(in);
      if (child && !done.count(child)) {
        keep_alive.push_back(in.grad_fn());
        done[child] = false;
        stack.push_back({child, 0});
      }
      continue;
    }
    done[node] = true;
    order.push_back(node);
    stack.pop_back();
  }
  return {order.rbegin(), order.rend()};
}

}  // namespace

void Tensor::backward(const Tensor& grad_output, bool retain_graph) const {
  KEEL_CHECK(requires_grad(), RuntimeError, "backward: the tensor does not require grad and has no grad_fn ",
             "(no input of the computation was marked with requires_grad_())");
  Tensor seed = grad_output;
  if (!seed.defined()) {
    KEEL_CHECK(numel() == 1, RuntimeError, "backward: grad can be implicitly created only for scalar outputs; got ",
               "shape ", shape_str(shape()), ", pass grad_output");
    seed = ones(shape(), dtype(), device());
  }
  KEEL_CHECK(seed.shape() == shape(), ShapeError, "backward: grad_output shape ", shape_str(seed.shape()),
             " does not match the tensor's shape ", shape_str(shape()));
  NoGradGuard no_grad;
  if (is_leaf()) {
    accumulate_leaf(*this, seed);
    return;
  }
  OpNode* root = node_of(*this);
  KEEL_CHECK(!root->released, RuntimeError, "backward: trying to backward through the graph a second time (op '",
             op_name(root->op), "'); its saved tensors were freed by the first backward. Pass retain_graph=true ",
             "to the first call if you need to backward twice");
  std::unordered_map<OpNode*, std::vector<Tensor>> pending;
  pending[root].resize(root->outputs.size());
  pending[root][impl().autograd->output_index] = seed;

  std::vector<std::shared_ptr<GradNode>> keep_alive;
  for (OpNode* node : topo_order(root, keep_alive)) {
    auto it = pending.find(node);
    if (it == pending.end()) continue;  // reached only through inputs that need no gradient
    KEEL_CHECK(!node->released, RuntimeError, "backward: trying to backward through the graph a second time (op '",
               op_name(node->op), "'); pass retain_graph=true to the first call");
    GradRule rule = find_grad(node->op);
    KEEL_CHECK(rule != nullptr, UnimplementedError, "backward: op '", op_name(node->op), "' has no gradient rule");
    std::vector<Tensor> grads_out = std::move(it->second);
    grads_out.resize(node->outputs.size());
    pending.erase(it);
    std::vector<Tensor> grads_in = rule(GradCtx{*node, grads_out});
    for (size_t i = 0; i < node->inputs.size() && i < grads_in.size(); ++i) {
      const Tensor& in = node->inputs[i];
      const Tensor& g = grads_in[i];
      if (!g.defined() || !in.defined() || !in.requires_grad()) continue;
      KEEL_CHECK(g.shape() == in.shape(), RuntimeError, "backward: gradient rule of '", op_name(node->op),
                 "' returned shape ", shape_str(g.shape()), " for input ", i, " of shape ", shape_str(in.shape()));
      if (in.is_leaf()) {
        accumulate_leaf(in, g);
      } else {
        OpNode* child = node_of(in);
        auto& slot = pending[child];
        slot.resize(child->outputs.size());
        Tensor& acc = slot[in.impl().autograd->output_index];
        acc = acc.defined() ? ops::add(acc, g) : g;
      }
    }
    if (!retain_graph) {
      node->released = true;
      node->inputs.clear();
      node->outputs.clear();
    }
  }
}

}  // namespace keel
