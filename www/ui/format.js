// Numbers and names as the reader sees them. Pure functions (Node unit tests: tests/unit/).

/** "99.8 %", "< 0.1 %": a probability for people (with a narrow no-break space before %). */
export function percent(p) {
  if (p > 0 && p < 0.001) return '<\u202f0.1\u202f%';
  if (p < 1 && p > 0.999) return '>\u202f99.9\u202f%';
  return `${(p * 100).toFixed(1)}\u202f%`;
}

/** 926 kB, 19.2 MB. */
export function bytes(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1e3))} kB`;
}

/** 146 ms, 1.4 s. */
export function seconds(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A value in [0, 1] as grey levels: 0.25 → "63.8/255". */
export function levels(v) {
  return `${(v * 255).toFixed(1)}/255`;
}

/** Cross-entropy of one probability, shown sensibly when the softmax underflows to 0. */
export function crossEntropy(p) {
  return p > 0 ? (-Math.log(p)).toFixed(p > 0.999 ? 5 : 3) : '> 87 (p underflows to 0)';
}

/** A class name as a file-name part: "giant panda, panda" → "giant-panda". */
export function slug(name) {
  return name.split(',')[0].trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'class';
}

/** The index of the largest value. */
export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Indices of the `k` largest values, largest first (ties: lower index first). */
export function topK(values, k) {
  return Array.from(values.keys())
    .sort((a, b) => values[b] - values[a] || a - b)
    .slice(0, k);
}

/** A message for people: `code` quoting (from the engine's errors) becomes “code”. */
export function plainWords(text) {
  return String(text).replace(/`([^`]*)`/g, '“$1”').replace(/`/g, '');
}

/**
 * A message cut into text and web addresses, so that the addresses can become links (built with
 * textContent and href, never as HTML): [{text}, {href, text}, …].
 */
export function linkParts(text) {
  const parts = [];
  let last = 0;
  for (const m of String(text).matchAll(/https?:\/\/[^\s“”"'<>]+/g)) {
    const href = m[0].replace(/[.,;:!?)]+$/, '');
    if (m.index > last) parts.push({ text: text.slice(last, m.index) });
    parts.push({ href, text: href });
    last = m.index + href.length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

/**
 * Whether a file's first bytes can start an ONNX model: a protobuf ModelProto, whose first field
 * is nearly always ir_version (field 1, a varint: byte 0x08), though any of its fields may lead.
 * A picture, a zip, JSON or text fails this at once.
 */
export function looksLikeOnnx(head) {
  if (!head.length) return false;
  const [b0, b1] = head;
  // field numbers of ModelProto with their wire types: 1–8, 14 and (two-byte tags) 20, 25
  const first = [0x08, 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72];
  if (first.includes(b0)) return true;
  return (b0 === 0xa2 || b0 === 0xca) && b1 === 0x01;
}
