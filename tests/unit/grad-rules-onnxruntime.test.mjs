// onnxruntime must agree with tract on every graph the gradient-graph builder made in
// tests/grad_rules.rs (one per rule and attribute combination). That cargo test writes each built
// graph to target/grad-rules/ with its input and tract's logits, loss and input_grad (cargo test
// runs before node --test tests/unit/ in ./build.sh test). Here onnxruntime-web (its wasm backend,
// in node, one thread) runs the same file on the same input. Bounds: logits and input_grad within
// 1e-4 of the tensor's largest entry, the loss within 1e-4 · (1 + |loss|): two float32 engines that
// sum in different orders, nothing more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIR = join(REPO, 'target', 'grad-rules');
/** tests/grad_rules.rs writes this many graphs, or more as rules are added. */
const AT_LEAST = 55;
const TOLERANCE = 1e-4;

ort.env.wasm.numThreads = 1;

/** max |a − b| over max |b|, and where. */
function relative(a, b) {
  let worst = 0;
  let at = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    const d = Math.abs(a[i] - b[i]);
    if (d > worst) [worst, at] = [d, i];
  }
  return { relative: scale > 0 ? worst / scale : worst, at, scale };
}

test('onnxruntime agrees with tract on every graph of tests/grad_rules.rs', async () => {
  assert.ok(existsSync(DIR), `${DIR} is missing: run \`cargo test --features cli --test grad_rules\` first`);
  const cases = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
  assert.ok(cases.length >= AT_LEAST, `${cases.length} graphs in ${DIR}, expected at least ${AT_LEAST}: run the cargo test first`);
  const worst = { logits: 0, loss: 0, grad: 0 };
  for (const file of cases) {
    const c = JSON.parse(readFileSync(join(DIR, file), 'utf8'));
    const onnx = readFileSync(join(DIR, file.replace(/\.json$/, '.onnx')));
    const session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
    try {
      const out = await session.run({
        image: new ort.Tensor('float32', Float32Array.from(c.pixels), c.shape),
        label: new ort.Tensor('int64', BigInt64Array.from([BigInt(c.label)]), [1]),
      });
      const logits = relative(out.logits.data, c.logits);
      const grad = relative(out.input_grad.data, c.input_grad);
      const loss = Math.abs(out.loss.data[0] - c.loss) / (1 + Math.abs(c.loss));
      worst.logits = Math.max(worst.logits, logits.relative);
      worst.grad = Math.max(worst.grad, grad.relative);
      worst.loss = Math.max(worst.loss, loss);
      assert.ok(logits.relative <= TOLERANCE, `${c.name}: logits differ by ${logits.relative.toExponential(2)} of their largest`);
      assert.ok(loss <= TOLERANCE, `${c.name}: loss ${out.loss.data[0]} in onnxruntime, ${c.loss} in tract`);
      assert.ok(
        grad.relative <= TOLERANCE,
        `${c.name}: input_grad[${grad.at}] is ${out.input_grad.data[grad.at]} in onnxruntime, ${c.input_grad[grad.at]} in tract (max |grad| ${grad.scale})`,
      );
    } finally {
      await session.release();
    }
  }
  console.log(
    `onnxruntime-web ${ort.env.versions.web} vs tract on ${cases.length} built graphs: worst logits ${worst.logits.toExponential(1)}, ` +
      `loss ${worst.loss.toExponential(1)}, input_grad ${worst.grad.toExponential(1)} (relative)`,
  );
});
