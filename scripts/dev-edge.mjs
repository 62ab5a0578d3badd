#!/usr/bin/env node
// A local CloudFront emulator for the viewer-request bundle.
//
//   node scripts/dev-edge.mjs [--port 8787] [--bundle dist/lambda-edge/index.mjs]
//        [--origin-dir DIR | --origin-url URL] [--store-endpoint URL] [--moto]
//
// An HTTP server on 127.0.0.1 turns each request into a viewer-request event
// (the shape of the AWS documentation's sample; a POST's body as the trigger's
// "include body" option exposes it: base64, the first 40 KB, `inputTruncated`
// past that), runs the bundle's handler,
// and either sends the generated response or, for a forwarded request, serves
// it from a local origin directory (with Range and the Content-Disposition the
// edge asked for, by header or S3's response-content-disposition parameter)
// or streams it from an upstream URL (origin-shim, a static server).
// --moto starts moto (serialised, see edge/js/dev/moto_serialized.py) on a
// free port and creates the bundle's table there. Prints
// "dev-edge: listening on http://127.0.0.1:PORT" once ready.

import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { extname, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';

const TYPES = { '.txt': 'text/plain; charset=utf-8', '.html': 'text/html; charset=utf-8', '.json': 'application/json', '.pdf': 'application/pdf', '.zip': 'application/zip', '.bin': 'application/octet-stream' };

function parseArgs(argv) {
  const args = { port: '8787', bundle: 'dist/lambda-edge/index.mjs' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--moto') {
      args.moto = true;
      continue;
    }
    const names = ['--port', '--bundle', '--origin-dir', '--origin-url', '--store-endpoint'];
    if (!names.includes(flag)) throw new Error(`unknown argument ${flag}`);
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    args[flag.slice(2).replace(/-(\w)/g, (_, c) => c.toUpperCase())] = value;
  }
  if (args.originDir && args.originUrl) throw new Error('give --origin-dir or --origin-url, not both');
  return args;
}

/** Largest body CloudFront's "include body" option exposes to a viewer-request trigger, bytes. */
const MAX_EXPOSED_BODY_BYTES = 40 * 1024;

/**
 * The event's `body` as CloudFront builds it with "include body" on:
 * base64 of the first 40 KB, `inputTruncated` when there was more. Reads the
 * whole request (so the connection stays usable) but keeps only the limit.
 */
async function readExposedBody(req) {
  const kept = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of req) {
    const room = MAX_EXPOSED_BODY_BYTES - size;
    if (chunk.length > room) truncated = true;
    if (room > 0) {
      const part = chunk.subarray(0, room);
      kept.push(part);
      size += part.length;
    }
  }
  return { inputTruncated: truncated, action: 'read-only', encoding: 'base64', data: Buffer.concat(kept).toString('base64') };
}

/** The viewer-request event for an incoming HTTP request (`body` for methods other than GET and HEAD). */
function toEvent(req, body) {
  const headers = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const key = req.rawHeaders[i];
    (headers[key.toLowerCase()] ??= []).push({ key, value: req.rawHeaders[i + 1] });
  }
  const q = req.url.indexOf('?');
  return {
    Records: [
      {
        cf: {
          config: {
            distributionDomainName: 'localhost',
            distributionId: 'EDEVLOCAL',
            eventType: 'viewer-request',
            requestId: randomBytes(12).toString('base64url'),
          },
          request: {
            clientIp: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
            headers,
            method: req.method,
            querystring: q < 0 ? '' : req.url.slice(q + 1),
            uri: q < 0 ? req.url : req.url.slice(0, q),
            ...(body ? { body } : {}),
          },
        },
      },
    ],
  };
}

function sendGenerated(res, response) {
  const headers = [];
  for (const entries of Object.values(response.headers ?? {})) for (const { key, value } of entries) headers.push([key, value]);
  const body = response.bodyEncoding === 'base64' ? Buffer.from(response.body ?? '', 'base64') : Buffer.from(response.body ?? '', 'utf8');
  res.writeHead(Number(response.status), response.statusDescription, [...headers, ['content-length', String(body.length)]]);
  res.end(body);
}

const header = (request, name) => request.headers?.[name]?.[0]?.value;

/** Serves a forwarded request from a directory: GET/HEAD, one byte range. */
function serveFile(res, request, dir) {
  let rel;
  try {
    rel = request.uri.split('/').map(decodeURIComponent).join('/');
  } catch {
    res.writeHead(400).end();
    return;
  }
  const path = resolve(dir, `.${rel}`);
  let stat;
  try {
    stat = statSync(path);
  } catch {
    stat = null;
  }
  if (!path.startsWith(resolve(dir) + sep) || !stat?.isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found at the origin\n');
    return;
  }
  const headers = { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'accept-ranges': 'bytes' };
  const params = new URLSearchParams(request.querystring);
  const disposition = header(request, 'x-oncelink-disposition') ?? params.get('response-content-disposition');
  if (disposition) headers['content-disposition'] = disposition;
  let start = 0;
  let end = stat.size - 1;
  let status = 200;
  const range = /^bytes=(\d*)-(\d*)$/.exec(header(request, 'range') ?? '');
  if (range && (range[1] || range[2])) {
    if (range[1]) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(end, Number(range[2]));
    } else {
      start = Math.max(0, stat.size - Number(range[2]));
    }
    if (start > end) {
      res.writeHead(416, { 'content-range': `bytes */${stat.size}` }).end();
      return;
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${stat.size}`;
  }
  headers['content-length'] = String(end - start + 1);
  res.writeHead(status, headers);
  if (request.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(path, { start, end }).pipe(res);
}

/** Streams a forwarded request from an upstream origin. */
async function proxy(res, request, originUrl) {
  const url = new URL(request.uri + (request.querystring ? `?${request.querystring}` : ''), originUrl);
  const headers = [];
  for (const [name, entries] of Object.entries(request.headers ?? {})) {
    if (['host', 'connection', 'content-length'].includes(name)) continue;
    for (const { value } of entries) headers.push([name, value]);
  }
  const upstream = await fetch(url, { method: request.method, headers, redirect: 'manual' });
  const out = [];
  upstream.headers.forEach((value, name) => {
    if (!['connection', 'transfer-encoding', 'content-encoding'].includes(name)) out.push([name, value]);
  });
  res.writeHead(upstream.status, out);
  if (upstream.body) Readable.fromWeb(upstream.body).pipe(res);
  else res.end();
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const mod = await import(pathToFileURL(resolve(args.bundle)).href);
  const overrides = {};
  let moto = null;
  let env = process.env;
  if (args.moto) {
    const { createTable, startMoto, LOCAL_ENV } = await import('../edge/js/dev/moto.mjs');
    moto = await startMoto();
    await createTable(moto.client, mod.bakedConfig.store.table);
    overrides.store = { endpoint: moto.endpoint };
    env = { ...LOCAL_ENV, ...process.env };
    console.error(`dev-edge: moto on ${moto.endpoint}, table ${mod.bakedConfig.store.table}`);
  } else if (args.storeEndpoint) {
    overrides.store = { endpoint: args.storeEndpoint };
  }
  if (!env.AWS_ACCESS_KEY_ID) {
    const { LOCAL_ENV } = await import('../edge/js/dev/moto.mjs');
    env = { ...LOCAL_ENV, ...env };
  }
  const handler = mod.createHandler({ ...overrides, env });
  const server = createServer(async (req, res) => {
    try {
      const body = req.method === 'GET' || req.method === 'HEAD' ? null : await readExposedBody(req);
      const result = await handler(toEvent(req, body));
      if (result.status !== undefined) return sendGenerated(res, result);
      if (args.originDir) return serveFile(res, result, args.originDir);
      if (args.originUrl) return await proxy(res, result, args.originUrl);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ forwarded: result }) + '\n');
    } catch (err) {
      console.error(`dev-edge: ${err.message}`);
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    }
  });
  server.listen(Number(args.port), '127.0.0.1', () => {
    console.log(`dev-edge: listening on http://127.0.0.1:${server.address().port}`);
  });
  const stop = async () => {
    server.close();
    server.closeAllConnections();
    await moto?.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(`dev-edge: ${err.message}`);
  process.exit(1);
});
