// Compares the Keel driver's results with tfjs_reference.mjs's and prints one table row per case.
//   node compare_results.mjs <keel.json> <tfjs.json>
// Exit status 0 when every per-epoch loss and every final weight agrees within
// |keel − tfjs| ≤ ATOL + RTOL·|tfjs|, 1 otherwise.
//
// Why these tolerances: both sides compute in float32 (ε ≈ 6e-8) but sum in different orders (oneDNN's
// blocked GEMM against tfjs's plain JS loops), and the rounding differences compound over the ~20-30 steps
// of a case. That gives relative differences of ~1e-6; RTOL = 1e-4 leaves two orders of margin while a
// wrong formula (epsilon placement, momentum form, loss reduction, a dropped partial batch) moves the
// results by 1e-3 or more. ATOL = 1e-5 covers weights that pass near zero.
import {readFileSync} from 'node:fs';

const RTOL = 1e-4;
const ATOL = 1e-5;

const [keelPath, tfjsPath] = process.argv.slice(2);
if (!keelPath || !tfjsPath) {
  console.error('usage: node compare_results.mjs <keel.json> <tfjs.json>');
  process.exit(2);
}
const keel = JSON.parse(readFileSync(keelPath, 'utf8')).cases;
const tfjsOut = JSON.parse(readFileSync(tfjsPath, 'utf8'));
const tfjs = tfjsOut.cases;

// The largest |a − b| and the largest ratio |a − b| / (ATOL + RTOL·|b|) (≤ 1 passes) over paired values.
function compare(a, b) {
  if (a.length !== b.length) return {count: `${a.length} vs ${b.length}`, maxAbs: Infinity, worst: Infinity};
  let maxAbs = 0;
  let worst = 0;
  for (let i = 0; i < a.length; ++i) {
    const diff = Math.abs(a[i] - b[i]);
    maxAbs = Math.max(maxAbs, Number.isNaN(diff) ? Infinity : diff);
    worst = Math.max(worst, Number.isNaN(diff) ? Infinity : diff / (ATOL + RTOL * Math.abs(b[i])));
  }
  return {count: a.length, maxAbs, worst};
}

function flatWeights(weights) {
  return weights.flatMap((w) => w.values);
}

function sameShapes(a, b) {
  return a.length === b.length && a.every((w, i) => JSON.stringify(w.shape) === JSON.stringify(b[i].shape));
}

const rows = [];
let failed = false;
for (const name of Object.keys(keel)) {
  if (!tfjs[name]) {
    rows.push([name, '-', '-', '-', '-', 'FAIL (no tfjs result)']);
    failed = true;
    continue;
  }
  const losses = compare(keel[name].losses, tfjs[name].losses);
  const shapesOk = sameShapes(keel[name].weights, tfjs[name].weights);
  const weights = compare(flatWeights(keel[name].weights), flatWeights(tfjs[name].weights));
  const ok = shapesOk && losses.worst <= 1 && weights.worst <= 1;
  failed ||= !ok;
  rows.push([
    name, String(losses.count), losses.maxAbs.toExponential(2), String(weights.count), weights.maxAbs.toExponential(2),
    ok ? 'ok' : (shapesOk ? 'FAIL' : 'FAIL (weight shapes differ)'),
  ]);
}

const header = ['case', 'epochs', 'max |Δloss|', 'weights', 'max |Δweight|', 'result'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
console.log(`Keel vs TensorFlow.js ${tfjsOut.tfjs_version} (${tfjsOut.backend} backend); ` +
            `pass: |keel - tfjs| <= ${ATOL} + ${RTOL}*|tfjs|`);
console.log(line(header));
rows.forEach((r) => console.log(line(r)));
process.exit(failed ? 1 : 0);
