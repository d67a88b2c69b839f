// Keel: the Keras programming model in C++. Umbrella header.
//   #include <keel/keel.h>
//   using namespace keel;
//   Tensor w = random::normal({784, 10}).requires_grad_();
//   Tensor loss = ops::mean(ops::square(ops::matmul(x, w)));
//   loss.backward();
#pragma once
#include "keel/core/autograd_meta.h"
#include "keel/core/config.h"
#include "keel/core/device.h"
#include "keel/core/dtype.h"
#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/core/shape.h"
#include "keel/core/tensor.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "keel/ops/reduction.h"
