// Keel: the Keras programming model in C++. Umbrella header.
//   #include <keel/keel.h>
//   using namespace keel;
//   Tensor w = random::normal({784, 10}).requires_grad_();
//   Tensor loss = ops::mean(ops::square(ops::matmul(x, w)));
//   loss.backward();
//   Sequential model({layers::Input({784}), layers::Dense(64, "relu"), layers::Dense(1, "sigmoid")});
//   model.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
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
// The Keras tier.
#include "keel/core/naming.h"
#include "keel/core/variable.h"
#include "keel/data/csv.h"
#include "keel/data/dataset.h"
#include "keel/data/datasets.h"
#include "keel/data/npy.h"
#include "keel/initializers/initializers.h"
#include "keel/layers/activation_layers.h"
#include "keel/layers/activations.h"
#include "keel/layers/attention.h"
#include "keel/layers/convolutional.h"
#include "keel/layers/core.h"
#include "keel/layers/embedding.h"
#include "keel/layers/layer.h"
#include "keel/layers/merging.h"
#include "keel/layers/normalization.h"
#include "keel/layers/pooling.h"
#include "keel/layers/preprocessing.h"
#include "keel/layers/recurrent.h"
#include "keel/layers/regularization.h"
#include "keel/layers/reshaping.h"
#include "keel/losses/losses.h"
#include "keel/metrics/metrics.h"
#include "keel/models/model.h"
#include "keel/optimizers/optimizers.h"
#include "keel/optimizers/schedules.h"
#include "keel/training/callback.h"
#include "keel/training/callbacks.h"
#include "keel/training/progbar.h"
#include "keel/training/trainer.h"
