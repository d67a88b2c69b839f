// A GAN on Fashion-MNIST, after the Keras guide "Customizing what happens in fit()": a model class that holds
// a generator and a discriminator, trains them with its own optimizers in an overridden train_step, reports
// its own loss trackers, and is trained with fit() on images alone (no targets).
#include <keel/keel.h>

#include <cstdio>
#include <memory>

using namespace keel;

constexpr int64_t kLatentDim = 64;

class GAN : public SubclassedModel {
 public:
  GAN() : SubclassedModel("GAN") {
    discriminator_ = add_layer(Sequential({layers::Input({28, 28}), layers::Flatten(), layers::Dense(256),
                                           layers::LeakyReLU({.negative_slope = 0.2}), layers::Dense(1)},
                                          {.name = "discriminator"}),
                               "discriminator");
    generator_ = add_layer(
        Sequential({layers::Input({kLatentDim}), layers::Dense(256), layers::LeakyReLU({.negative_slope = 0.2}),
                    layers::Dense(28 * 28, "sigmoid"), layers::Reshape({28, 28})},
                   {.name = "generator"}),
        "generator");
    track_metric(d_loss_tracker_);
    track_metric(g_loss_tracker_);
  }
  // Calling the GAN generates images from latent vectors.
  std::vector<Tensor> call(const std::vector<Tensor>& z, const CallContext& ctx) override {
    return {generator_(z.at(0), ctx.training)};
  }

 protected:
  Logs train_step(const StepData& data) override {
    const Tensor real = data.x.at(0);
    const int64_t n = real.shape()[0];
    // Train the discriminator on generated (label 1) and real (label 0) images, labels slightly noisy.
    const Tensor fake = generator_(random::normal({n, kLatentDim}));
    const Tensor images = ops::concatenate({fake, real}, 0);
    Tensor labels = ops::concatenate({ones({n, 1}), zeros({n, 1})}, 0);
    labels = labels + random::uniform({2 * n, 1}) * 0.05;
    const std::vector<Variable> d_vars = discriminator_->trainable_weights();
    const Tensor d_loss = loss_fn_(labels, discriminator_(images, true));
    d_optimizer_.apply(gradients(d_loss, d_vars), d_vars);
    // Train the generator so that the discriminator calls its images real (label 0).
    const std::vector<Variable> g_vars = generator_->trainable_weights();
    const Tensor g_loss = loss_fn_(zeros({n, 1}), discriminator_(generator_(random::normal({n, kLatentDim}), true)));
    g_optimizer_.apply(gradients(g_loss, g_vars), g_vars);
    d_loss_tracker_->update_state(d_loss);
    g_loss_tracker_->update_state(g_loss);
    return {{"d_loss", d_loss_tracker_->result()}, {"g_loss", g_loss_tracker_->result()}};
  }

 private:
  Model discriminator_, generator_;
  optimizers::Adam d_optimizer_{{.learning_rate = 3e-4}};
  optimizers::Adam g_optimizer_{{.learning_rate = 3e-4}};
  losses::BinaryCrossentropy loss_fn_{{.from_logits = true}};
  std::shared_ptr<metrics::Mean> d_loss_tracker_ =
      std::make_shared<metrics::Mean>(metrics::MeanOptions{.name = "d_loss"});
  std::shared_ptr<metrics::Mean> g_loss_tracker_ =
      std::make_shared<metrics::Mean>(metrics::MeanOptions{.name = "g_loss"});
};

int main() {
  random::set_seed(42);
  auto [train, test] = datasets::fashion_mnist::load_data();
  const Tensor images = ops::slice_axis(train.x, 0, 0, 12800).astype(DType::f32) / 255.0;

  Model gan(std::make_shared<GAN>());
  gan.compile();  // the GAN brings its own optimizers and loss
  gan.fit(images, {.batch_size = 64, .epochs = 2});

  // Generated images should look like clothing: their mean brightness near the data's.
  const Tensor samples = gan(random::normal({256, kLatentDim}));
  std::printf("mean pixel: real %.3f, generated %.3f\n", ops::mean(images).item<double>(),
              ops::mean(samples).item<double>());
  return 0;
}
