// The reader's own model, the parts that need no page: which files they brought, the normalisations
// offered when the page builds a gradient graph, the class names from a labels file, and what the
// builder did, in words.

/**
 * The input normalisations offered for a model without a gradient graph: `(x − mean) / std` on
 * pixels in [0, 1], which the builder puts in front of the model (src/grad). One value applies to
 * every channel.
 */
export const NORMALISATIONS = [
  { name: 'none', title: 'None: pixels in [0, 1]', mean: null, std: null },
  { name: 'imagenet', title: 'ImageNet', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  { name: 'mnist', title: 'MNIST', mean: [0.1307], std: [0.3081] },
];

/** The preset offered first for an input [1, C, H, W]: ImageNet's for colour, none for grey. */
export function defaultNormalisation(inputShape) {
  return inputShape?.[1] === 3 ? 'imagenet' : 'none';
}

/**
 * What the builder needs for a preset or for numbers typed in: → {mean, std} (arrays, or absent
 * for none). Throws an Error in plain words when the numbers cannot be used with `channels`.
 */
export function normalisationOptions(name, { mean = '', std = '' } = {}, channels = 3) {
  const preset = NORMALISATIONS.find((n) => n.name === name);
  if (preset) return preset.mean ? { mean: preset.mean, std: preset.std } : {};
  const parse = (text, what) => {
    const values = String(text).split(/[\s,;]+/).filter(Boolean).map(Number);
    if (!values.length) throw new Error(`give the ${what}: one number, or one for each of the ${channels} channels`);
    if (values.some((x) => !Number.isFinite(x))) throw new Error(`the ${what} must be numbers, such as 0.5 or 0.485, 0.456, 0.406`);
    if (values.length !== 1 && values.length !== channels) {
      throw new Error(`the ${what} has ${values.length} numbers; give one, or one for each of the ${channels} channels`);
    }
    return values;
  };
  const m = parse(mean, 'mean');
  const s = parse(std, 'standard deviation');
  if (s.some((x) => x <= 0)) throw new Error('the standard deviation must be above 0');
  return { mean: m, std: s };
}

/**
 * The files brought together (picked or dropped): the ONNX model, and beside it a labels file (.txt,
 * one class name per line) or a model.json (its "classes"). → {model, labels, card} (Files or null).
 */
export function sortModelFiles(files) {
  const list = [...files];
  const json = (f) => /\.json$/i.test(f.name);
  const text = (f) => /\.txt$/i.test(f.name) || (f.type === 'text/plain' && !/\.onnx$/i.test(f.name));
  const model = list.find((f) => /\.onnx$/i.test(f.name)) ?? list.find((f) => !json(f) && !text(f)) ?? null;
  return { model, labels: list.find((f) => f !== model && text(f)) ?? null, card: list.find((f) => f !== model && json(f)) ?? null };
}

/** Whether files brought to the page include a model (rather than only pictures). */
export function bringsModel(files) {
  return [...files].some((f) => /\.onnx$/i.test(f.name));
}

/**
 * Class names from a labels file: one per line, blank lines at the end ignored. → {classes} when
 * there is one name per class, else {problem} in plain words.
 */
export function parseLabels(text, classes, fileName = 'the labels file') {
  const lines = String(text).replace(/^\uFEFF/, '').split(/\r?\n/).map((l) => l.trim());
  while (lines.length && !lines[lines.length - 1]) lines.pop();
  if (lines.length !== classes) {
    return { problem: `${fileName} has ${lines.length} ${lines.length === 1 ? 'line' : 'lines'} and the model ${classes} classes, so the classes are called “class 0” to “class ${classes - 1}”` };
  }
  if (lines.some((l) => !l)) return { problem: `${fileName} has an empty line among its names, so the classes are called “class 0” to “class ${classes - 1}”` };
  return { classes: lines };
}

/** The names of classes nobody named: "class 0", "class 1", … */
export function classNames(count) {
  return Array.from({ length: count }, (_, k) => `class ${k}`);
}

/** Why no gradient can be built, from inspectOnnx's blockers ({op, node, reason}), by operation. */
export function blockedMessage(blockers) {
  const groups = new Map();
  for (const b of blockers) {
    const key = `${b.op}\u0000${b.reason}`;
    if (!groups.has(key)) groups.set(key, { op: b.op, reason: b.reason, nodes: [] });
    groups.get(key).nodes.push(`“${b.node}”`);
  }
  const parts = [...groups.values()].map(({ op, reason, nodes }) => `${op} (${nodes.length === 1 ? 'node' : 'nodes'} ${listed(nodes)}): ${reason}`);
  return `it has no gradient graph, and the page cannot build one: ${parts.join('; ')}`;
}

/** "a", "a and b", "a, b and c". */
function listed(items) {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * What the builder did, in one sentence: `built` is the worker's report ({ops, stripped,
 * normalised, nodesAdded, ms}); `normalisation` the title of what was put in front.
 */
export function describeBuild(built, normalisation) {
  const counts = Object.entries(built.ops);
  const total = counts.reduce((a, [, n]) => a + n, 0);
  const ops = counts.map(([op, n]) => (n > 1 ? `${op} ×${n}` : op)).join(', ');
  const parts = [`Gradient graph built here in ${Math.max(1, Math.round(built.ms))} ms: ${total} operations from the image to the logits (${ops})`];
  if (built.stripped) parts.push(`the final ${built.stripped} was removed, so the logits are the scores before it`);
  parts.push(built.normalised ? `${normalisation} normalisation put in front` : 'no normalisation: the model reads pixels in [0, 1]');
  parts.push(`${built.nodesAdded} nodes added for the loss and its gradient.`);
  return parts.join('; ');
}
