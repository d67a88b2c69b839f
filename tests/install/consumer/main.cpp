// Uses the installed Keel: an op with a kernel from the CPU backend and a gradient from autograd.
#include <cstdio>

#include <keel/keel.h>

int main() {
  using namespace keel;
  Tensor x = from_vector<float>({1, 2, 3}, {3}).requires_grad_();
  Tensor loss = ops::sum(ops::square(x));
  loss.backward();
  std::vector<float> g = x.grad().to_vector<float>();
  bool ok = loss.item<float>() == 14.0f && g == std::vector<float>{2, 4, 6};
  std::printf("consumer: loss %.1f, grad [%.1f %.1f %.1f] -> %s\n", loss.item<float>(), g[0], g[1], g[2],
              ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
