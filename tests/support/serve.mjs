// A static file server for the built site (site/): `./build.sh serve` runs it, and the browser
// tests and the benchmark start it in-process. A plain static server is all the demo needs;
// `file://` pages cannot load modules or wasm, hence a server at all. Like a real static host with
// compression on, it answers with the brotli or gzip copy that `./build.sh site` wrote beside a
// file (`x.wasm.br`, `x.wasm.gz`) when the browser accepts that encoding.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// Preferred first: brotli is the smaller of the two.
const ENCODINGS = [
  { name: 'br', suffix: '.br' },
  { name: 'gzip', suffix: '.gz' },
];

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serves `root` on 127.0.0.1. `isolated` adds the cross-origin isolation headers that give
 * `performance.now()` its full precision (the benchmark wants them; the product page must not
 * need them, since blogs that embed it will not send them). `compressed: false` serves every file as
 * it is, as a host without compression would. `headers` are added to every answer (a test's
 * Content-Security-Policy). `hold(path)`, when given, is awaited before a file is answered, so a
 * test can keep one download in flight while it watches what else the page asks for. `mounts`
 * serves other folders under some paths (`{'/pkg/': 'target/trap-engine/pkg'}`: a test engine), or
 * another file at one path (`{'/sw.js': '/tmp/sw.js'}`); it is read at each request, so a test may
 * change it while the server runs.
 * `onPost(path, body)` receives every POST (a CSP violation report), answered 204.
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
export function serve({ root, port = 0, isolated = false, quiet = true, compressed = true, headers: extra = {}, hold = null, mounts = {}, onPost = null }) {
  const server = createServer(async (req, res) => {
    const path = requestPath(req.url);
    if (path === null) {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
      return res.end('Bad request: the address is not a valid path\n');
    }
    if (req.method === 'POST' && onPost) {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      onPost(path, Buffer.concat(chunks).toString('utf8'));
      res.writeHead(204);
      return res.end();
    }
    if (hold) await hold(path);
    const mount = Object.keys(mounts).find((prefix) => (prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix));
    let file;
    if (mount && !mount.endsWith('/')) {
      file = resolve(mounts[mount]); // one file in place of another
    } else {
      const top = resolve(mount ? mounts[mount] : root);
      file = normalize(join(top, mount ? path.slice(mount.length - 1) : path));
      if (file !== top && !file.startsWith(top + sep)) return send(res, 403, 'forbidden');
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      const encoding = compressed ? precompressed(file, req.headers['accept-encoding']) : null;
      if (encoding) file += encoding.suffix;
      const { size, mtimeMs } = statSync(file);
      // As static hosts do: a validator, so that a second request for an unchanged file (the
      // service worker's copy of what the page just downloaded) costs a 304, not the file again.
      const etag = `"${size.toString(36)}-${Math.round(mtimeMs).toString(36)}"`;
      const headers = {
        'Content-Type': type,
        'Content-Length': size,
        'Cache-Control': 'no-cache',
        ETag: etag,
        Vary: 'Accept-Encoding',
      };
      if (encoding) headers['Content-Encoding'] = encoding.name;
      Object.assign(headers, extra);
      if (isolated) {
        headers['Cross-Origin-Opener-Policy'] = 'same-origin';
        headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
      }
      if (req.headers['if-none-match'] === etag) {
        delete headers['Content-Length'];
        res.writeHead(304, headers);
        return res.end();
      }
      res.writeHead(200, headers);
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
      if (!quiet) console.log(`200 ${path}${encoding ? ` (${encoding.name})` : ''}`);
    } catch {
      send(res, 404, 'not found');
      if (!quiet) console.log(`404 ${path}`);
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}/`;
      ok({ url, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

/**
 * The decoded path a request asks for, or null when its target cannot be read as one (say `//` or
 * a broken %-escape): answered 400, never a crash of the server.
 */
function requestPath(target) {
  try {
    return decodeURIComponent(new URL(target, 'http://localhost').pathname);
  } catch {
    return null;
  }
}

/** The precompressed copy of `file` to send for this Accept-Encoding header, if one exists. */
function precompressed(file, acceptEncoding = '') {
  const accepted = new Set(acceptEncoding.split(',').map((e) => e.split(';')[0].trim().toLowerCase()));
  return ENCODINGS.find((e) => accepted.has(e.name) && existsFile(file + e.suffix)) ?? null;
}

function existsFile(path) {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function send(res, status, text) {
  res.writeHead(status, { 'Content-Type': 'text/plain' });
  res.end(text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [root = 'site', port = '8080'] = process.argv.slice(2);
  const { url } = await serve({ root, port: Number(port), quiet: false });
  console.log(`Serving ${root}/ at ${url}  (Ctrl-C to stop)`);
}
