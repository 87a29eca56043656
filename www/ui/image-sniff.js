// What kind of picture a file holds and how large it is, from its first bytes, without decoding it:
// so that a text file named .png and a 20,000 × 20,000 photo are turned away before the browser
// spends memory on them. Knows PNG, JPEG, GIF, WebP, BMP (with size), AVIF/HEIC and SVG (without).

/**
 * @param {Uint8Array} head the file's first bytes (64 kB finds the size in nearly every JPEG)
 * @returns {{type: string, width?: number, height?: number} | null} null when it is none of these
 */
export function sniffImage(head) {
  const b = head;
  const u16be = (i) => (b[i] << 8) | b[i + 1];
  const u16le = (i) => b[i] | (b[i + 1] << 8);
  const u32be = (i) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
  const u24le = (i) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
  const ascii = (i, n) => String.fromCharCode(...b.subarray(i, i + n));
  const sized = (type, width, height) => (width > 0 && height > 0 ? { type, width, height } : { type });

  if (b.length >= 24 && u32be(0) === 0x89504e47 && u32be(4) === 0x0d0a1a0a) {
    return ascii(12, 4) === 'IHDR' ? sized('png', u32be(16), u32be(20)) : { type: 'png' };
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) {
    // Walk the markers to the first start-of-frame (SOF0–SOF15 except DHT, JPG and DAC).
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return { type: 'jpeg' };
      const marker = b[i + 1];
      if (marker === 0xff) {
        i += 1; // fill byte
        continue;
      }
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return sized('jpeg', u16be(i + 7), u16be(i + 5));
      }
      if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        i += 2;
        continue;
      }
      i += 2 + u16be(i + 2);
    }
    return { type: 'jpeg' };
  }
  if (b.length >= 10 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) {
    return sized('gif', u16le(6), u16le(8));
  }
  if (b.length >= 30 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') {
    const chunk = ascii(12, 4);
    if (chunk === 'VP8 ') return sized('webp', u16le(26) & 0x3fff, u16le(28) & 0x3fff);
    if (chunk === 'VP8L') {
      const bits = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
      return sized('webp', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
    }
    if (chunk === 'VP8X') return sized('webp', u24le(24) + 1, u24le(27) + 1);
    return { type: 'webp' };
  }
  if (b.length >= 26 && ascii(0, 2) === 'BM') {
    const width = b[18] | (b[19] << 8) | (b[20] << 16) | (b[21] << 24);
    const height = b[22] | (b[23] << 8) | (b[24] << 16) | (b[25] << 24);
    return sized('bmp', Math.abs(width), Math.abs(height));
  }
  if (b.length >= 12 && ascii(4, 4) === 'ftyp') {
    const brand = ascii(8, 4);
    if (/^(avif|avis)$/.test(brand)) return { type: 'avif' };
    if (/^(heic|heix|hevc|mif1|msf1)$/.test(brand)) return { type: 'heic' };
  }
  const text = ascii(0, Math.min(b.length, 512)).replace(/^\uFEFF?\s*/, '');
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(text)) return { type: 'svg' };
  return null;
}
