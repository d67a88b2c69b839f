// The model behind the corpus of the model-file targets (make_corpus.cpp) and the model that the weights
// target loads into: the layers whose weights and configs the readers see most: Dense, BatchNormalization,
// LSTM (a cell sub-object), Concatenate (a functional graph), and Adam's slots.
#pragma once
#include "keel/keel.h"

namespace keel::fuzz {

inline Model seed_model() {
  random::set_seed(1);
  auto x = layers::Input({6, 4});
  auto a = layers::Flatten()(layers::BatchNormalization()(layers::Dense(3, "relu")(x)));
  auto b = layers::LSTM(3)(x);
  Model m(x, layers::Dense(1, "sigmoid")(layers::Concatenate()({a, b})));
  m.compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  m.train_on_batch(random::normal({4, 6, 4}), ones({4, 1}));
  return m;
}

}  // namespace keel::fuzz
