// The TensorFlow.js side of the cross-check (run_tfjs_crosscheck.sh).
//   node tfjs_reference.mjs <keel.json> <dir holding node_modules/@tensorflow/tfjs>
// Reads the cases the Keel driver ran (model, loss, Keras optimizer config, data, initial weights), trains
// the same model in tfjs with shuffle: false and prints {"cases": {"<name>": {"losses": [...],
// "weights": [{"shape": [...], "values": [...]}, ...]}}} to stdout.
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';

const [keelJsonPath, tfjsPrefix] = process.argv.slice(2);
if (!keelJsonPath || !tfjsPrefix) {
  console.error('usage: node tfjs_reference.mjs <keel.json> <tfjs install prefix>');
  process.exit(2);
}
// tfjs lives in a cache outside the source tree, so resolve it from there rather than from this file.
const require = createRequire(path.join(path.resolve(tfjsPrefix), 'node_modules', 'noop.js'));
const tf = require('@tensorflow/tfjs');

// Keras loss names (what the driver compiled with) to tfjs-layers' names.
const LOSSES = {
  mean_squared_error: 'meanSquaredError',
  binary_crossentropy: 'binaryCrossentropy',
  sparse_categorical_crossentropy: 'sparseCategoricalCrossentropy',
};

// Keras optimizer configs to tfjs optimizers. Only settings whose update rules agree are accepted:
// tfjs's momentum optimizer keeps a = μa + g and steps −η·a (Keras: v = μv − ηg, w += v), the same
// sequence for a constant η; tfjs's RMSprop matches Keras's except for centered epsilon (README.md).
function makeOptimizer({class_name: name, config: c}) {
  if (name === 'SGD') {
    return c.momentum > 0 ? tf.train.momentum(c.learning_rate, c.momentum, c.nesterov) :
                            tf.train.sgd(c.learning_rate);
  }
  if (name === 'RMSprop') {
    if (c.centered && c.epsilon !== 0) {
      throw new Error('centered RMSprop differs from Keras unless epsilon is 0 (tfjs: sqrt(v - a^2 - eps))');
    }
    return tf.train.rmsprop(c.learning_rate, c.rho, c.momentum, c.epsilon, c.centered);
  }
  throw new Error(`no tfjs counterpart checked for optimizer ${name}`);
}

// Keras's L1, L2 and L1L2 configs as tfjs regularizers (the same l1·Σ|w| + l2·Σw²).
function makeRegularizer(r) {
  const c = r.config;
  if (r.class_name === 'L1') return tf.regularizers.l1({l1: c.l1});
  if (r.class_name === 'L2') return tf.regularizers.l2({l2: c.l2});
  if (r.class_name === 'L1L2') return tf.regularizers.l1l2({l1: c.l1, l2: c.l2});
  throw new Error(`no tfjs counterpart checked for regularizer ${r.class_name}`);
}

async function runCase(spec) {
  const model = tf.sequential();
  spec.model.layers.forEach((layer, i) => {
    const options = {units: layer.units, activation: layer.activation};
    if (layer.kernel_regularizer) options.kernelRegularizer = makeRegularizer(layer.kernel_regularizer);
    if (layer.bias_regularizer) options.biasRegularizer = makeRegularizer(layer.bias_regularizer);
    if (i === 0) options.inputShape = [spec.model.input_dim];
    model.add(tf.layers.dense(options));
  });
  model.setWeights(spec.initial_weights.map((w) => tf.tensor(w.values, w.shape, 'float32')));
  const loss = LOSSES[spec.loss];
  if (!loss) throw new Error(`no tfjs name for loss ${spec.loss}`);
  model.compile({optimizer: makeOptimizer(spec.optimizer), loss});

  const history = await model.fit(tf.tensor2d(spec.x, undefined, 'float32'), tf.tensor2d(spec.y, undefined, 'float32'),
                                  {batchSize: spec.batch_size, epochs: spec.epochs, shuffle: false, verbose: 0});
  const weights = model.getWeights().map((w) => ({shape: w.shape, values: Array.from(w.dataSync())}));
  return {losses: history.history.loss.map(Number), weights};
}

await tf.setBackend('cpu');  // the pure-JS kernels: no native addon needed
const keel = JSON.parse(readFileSync(keelJsonPath, 'utf8'));
const out = {tfjs_version: tf.version.tfjs, backend: tf.getBackend(), cases: {}};
for (const [name, spec] of Object.entries(keel.cases)) out.cases[name] = await runCase(spec);
process.stdout.write(JSON.stringify(out) + '\n');
