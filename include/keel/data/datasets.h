// Bundled datasets, as keras.datasets, and the IDX reader they use.
//   auto [train, test] = datasets::fashion_mnist::load_data();
//   Tensor x = train.x.astype(DType::f32) / 255.0f;   // (60000, 28, 28) uint8 -> float32 in [0, 1]
// The files are the original gzip IDX files, shipped in the repository's data/ folder and installed to
// <prefix>/share/keel/data. They are looked for in $KEEL_DATA_DIR/<dataset>/ when KEEL_DATA_DIR is set,
// else in the source tree's data/<dataset>/ when it exists, else in the installed copy. Every file's MD5
// is checked against the published one on load.
#pragma once
#include <string>

#include "keel/core/tensor.h"

namespace keel::datasets {

/// Inputs and labels of one split.
struct Split {
  Tensor x;  // uint8 (N, 28, 28)
  Tensor y;  // uint8 (N,)
};

/// What load_data returns: `auto [train, test] = ...`, like Keras's ((x_train, y_train), (x_test, y_test)).
struct TrainTest {
  Split train;
  Split test;
};

namespace mnist {
/// MNIST digits: 60000 training and 10000 test images, labels 0-9.
TrainTest load_data();
}  // namespace mnist

namespace fashion_mnist {
/// Fashion-MNIST (Zalando): 60000 training and 10000 test images, labels 0-9
/// (T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot).
TrainTest load_data();
}  // namespace fashion_mnist

/// Reads an IDX file (gzip-compressed or not): the shape from its header, the dtype from its type code:
/// 0x08 uint8; 0x09 int8, 0x0B int16 and 0x0C int32 as int32; 0x0D float32; 0x0E float64.
/// NotFoundError when the file is missing; ValueError naming the file and byte offset when it is malformed.
Tensor read_idx(const std::string& path);

}  // namespace keel::datasets
