// A stand-in for the CloudFront Functions runtime (cloudfront-js-2.0), for
// tests and the bench: the function runs in a node:vm context that holds only
// what AWS documents for that runtime (functions-javascript-runtime-20 in the
// CloudFront Developer Guide). Undocumented globals are deleted, undocumented
// built-in methods are removed (calling one throws a TypeError), eval, the
// Function constructor and WebAssembly compilation are disabled, and the
// modules are shims over node:crypto / Buffer that refuse algorithms and
// encodings the runtime lacks. The KeyValueStore is an in-memory map.
//
// It also turns the core's request shape (edge/src/request.rs, as in the
// shared vectors) into a CloudFront Functions viewer-request event, laid out
// like AWS's documented example (test/fixtures/aws-viewer-request-event.json).

import vm from 'node:vm';
import nodeCrypto from 'node:crypto';
import { STATICS, GLOBALS } from '../lint.mjs';

const words = (text) => text.trim().split(/\s+/);

/** Prototype members the documentation lists, per built-in (others are removed). */
const PROTOTYPE_MEMBERS = {
  Object: words('hasOwnProperty isPrototypeOf propertyIsEnumerable toString valueOf'),
  String: words(`charAt concat indexOf lastIndexOf match replace search slice split substr substring toLowerCase trim
    toUpperCase codePointAt endsWith includes repeat startsWith padStart padEnd trimStart trimEnd replaceAll toString valueOf`),
  Number: words('toExponential toFixed toPrecision toString valueOf'),
  Array: words(`concat every filter forEach indexOf join lastIndexOf map pop push reduce reduceRight reverse shift slice
    some sort splice unshift copyWithin fill find findIndex includes toString`),
  Function: words('apply bind call toString'),
  Promise: words('catch finally then'),
  RegExp: words('exec test toString global ignoreCase multiline source sticky flags lastIndex'),
};
/** Every prototype keeps these: they are part of the object model, not methods. */
const ALWAYS = new Set(['constructor', 'length', 'name', 'prototype', 'arguments', 'caller', '__proto__']);

const ENCODINGS = new Set(['utf8', 'hex', 'base64', 'base64url']);
const ALGORITHMS = new Set(['md5', 'sha1', 'sha256']);
const BUFFER_MEMBERS = new Set(words(`compare copy equals fill includes indexOf lastIndexOf readInt8 readIntBE readInt16BE
  readInt32BE readIntLE readInt16LE readInt32LE readUInt8 readUIntBE readUInt16BE readUInt32BE readUIntLE readUInt16LE
  readUInt32LE readDoubleBE readDoubleLE readFloatBE readFloatLE subarray swap16 swap32 swap64 toJSON toString write
  writeInt8 writeIntBE writeInt16BE writeInt32BE writeIntLE writeInt16LE writeInt32LE writeUInt8 writeUIntBE
  writeUInt16BE writeUInt32BE writeUIntLE writeUInt16LE writeUInt32LE writeDoubleBE writeDoubleLE writeFloatBE
  writeFloatLE buffer byteOffset length every filter find findIndex forEach join map reduce reduceRight reverse some
  set slice sort copyWithin constructor`));

function unsupported(what) {
  return new TypeError(`${what} is not available in cloudfront-js-2.0`);
}

function checkEncoding(encoding, what) {
  if (encoding !== undefined && !ENCODINGS.has(encoding)) {
    throw unsupported(`${what} with encoding ${JSON.stringify(encoding)}`);
  }
}

// Buffers handed to the function: Node Buffers whose prototype hides every
// method the runtime does not document and checks encodings on the rest.
const cfBufferPrototype = Object.create(Buffer.prototype);
for (const proto of [Buffer.prototype, Object.getPrototypeOf(Uint8Array.prototype), Uint8Array.prototype]) {
  for (const name of Object.getOwnPropertyNames(proto)) {
    // Node's own toString/write call these codec internals on `this`.
    const internal = /^(ascii|latin1|binary|utf8|ucs2|utf16le|hex|base64|base64url)(Slice|Write)$/.test(name);
    const hidden = internal || Object.hasOwn(cfBufferPrototype, name);
    if (!hidden && !BUFFER_MEMBERS.has(name) && typeof Object.getOwnPropertyDescriptor(proto, name).value === 'function') {
      Object.defineProperty(cfBufferPrototype, name, {
        value() {
          throw unsupported(`Buffer.prototype.${name}`);
        },
      });
    }
  }
}
for (const name of ['toString', 'write', 'fill', 'includes', 'indexOf', 'lastIndexOf']) {
  const original = Buffer.prototype[name];
  Object.defineProperty(cfBufferPrototype, name, {
    value(...args) {
      const encoding = args.find((a, i) => i > 0 && typeof a === 'string') ?? (name === 'toString' ? args[0] : undefined);
      checkEncoding(encoding, `Buffer.prototype.${name}`);
      return original.apply(this, args);
    },
  });
}
const asCfBuffer = (buffer) => Object.setPrototypeOf(buffer, cfBufferPrototype);
const isBuffer = (value) => Buffer.isBuffer(value);

/** The documented static Buffer methods. */
const BufferShim = Object.freeze({
  alloc: (size, fill, encoding) => (checkEncoding(encoding, 'Buffer.alloc'), asCfBuffer(Buffer.alloc(size, fill, encoding))),
  allocUnsafe: (size) => asCfBuffer(Buffer.allocUnsafe(size)),
  byteLength: (value, encoding) => (checkEncoding(encoding, 'Buffer.byteLength'), Buffer.byteLength(value, encoding)),
  compare: (a, b) => Buffer.compare(a, b),
  concat: (list, total) => asCfBuffer(Buffer.concat(list, total)),
  from: (value, encodingOrOffset, length) => {
    if (typeof value === 'string') checkEncoding(encodingOrOffset, 'Buffer.from');
    return asCfBuffer(Buffer.from(value, encodingOrOffset, length));
  },
  isBuffer,
  isEncoding: (encoding) => ENCODINGS.has(encoding),
});

function hashLike(inner, what) {
  return {
    update(data) {
      if (typeof data !== 'string' && !isBuffer(data)) throw unsupported(`${what}.update with a ${typeof data}`);
      inner.update(data);
      return this;
    },
    digest(encoding) {
      if (encoding !== undefined && !['hex', 'base64', 'base64url'].includes(encoding)) {
        throw unsupported(`${what}.digest(${JSON.stringify(encoding)})`);
      }
      const out = inner.digest(encoding);
      return encoding === undefined ? asCfBuffer(out) : out;
    },
  };
}

const cryptoShim = Object.freeze({
  createHash(algorithm) {
    if (!ALGORITHMS.has(algorithm)) throw unsupported(`hash ${algorithm}`);
    return hashLike(nodeCrypto.createHash(algorithm), 'hash');
  },
  createHmac(algorithm, key) {
    if (!ALGORITHMS.has(algorithm)) throw unsupported(`hmac ${algorithm}`);
    if (typeof key !== 'string' && !isBuffer(key)) throw unsupported(`an HMAC key of type ${typeof key}`);
    return hashLike(nodeCrypto.createHmac(algorithm, key), 'hmac');
  },
});

/** The KeyValueStore stand-in: `get` throws for a missing key, as the real one does. */
export class KeyValueStore {
  constructor(entries = {}) {
    this.entries = new Map(Object.entries(entries));
    this.gets = 0;
  }
  handle() {
    const store = this;
    return Object.freeze({
      async get(key, options) {
        store.gets += 1;
        if (options !== undefined && options.format !== undefined && options.format !== 'string') {
          throw unsupported(`kvs.get format ${options.format} in this stand-in`);
        }
        if (!store.entries.has(key)) throw new Error(`Key ${key} not found`);
        return store.entries.get(key);
      },
      async exists(key) {
        return store.entries.has(key);
      },
    });
  }
}

// Runs inside the fresh context: deletes what the documentation does not list.
const PRUNE = `(function (keepGlobals, statics, protos, always) {
  const iterator = Symbol.iterator;
  const has = (list, name) => list.indexOf(name) >= 0;
  for (const name of Object.getOwnPropertyNames(globalThis)) {
    if (!has(keepGlobals, name)) delete globalThis[name];
  }
  for (const name of Object.keys(statics)) {
    const ctor = globalThis[name];
    if (!ctor) continue;
    for (const key of Object.getOwnPropertyNames(ctor)) {
      if (!has(statics[name], key) && !always.has(key)) delete ctor[key];
    }
  }
  for (const name of Object.keys(protos)) {
    const proto = globalThis[name].prototype;
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (!has(protos[name], key) && !always.has(key)) delete proto[key];
    }
  }
  delete Array.prototype[iterator];
  delete String.prototype[iterator];
  delete Object.prototype.__defineGetter__;
})`;

/**
 * Loads built function code (verify.js after build.mjs `configure`, minified
 * or not) into a fresh restricted context (`prune: false` keeps every
 * built-in, for the bench's comparison only). Returns `run(event, nowSeconds)`,
 * which calls `handler` with the event and resolves to its plain-JSON result.
 */
export function loadFunction(code, { kvsId, store, log = [], prune = true }) {
  const context = vm.createContext({}, { codeGeneration: { strings: false, wasm: false } });
  const keepGlobals = [...GLOBALS].filter((g) => !['Buffer', 'require', 'console', 'arguments'].includes(g));
  const staticsInside = Object.fromEntries(
    Object.entries(STATICS).filter(([name]) => !['Buffer', 'console'].includes(name)),
  );
  if (prune) vm.runInContext(PRUNE, context)(keepGlobals, staticsInside, PROTOTYPE_MEMBERS, ALWAYS);
  let nowMs = 0;
  vm.runInContext('(function (clock) { Date.now = function () { return clock(); }; })', context)(() => nowMs);
  context.Buffer = BufferShim;
  context.console = Object.freeze({
    log(message, ...rest) {
      if (rest.length > 0) throw unsupported('console.log with more than one argument');
      log.push(String(message));
    },
  });
  context.require = (name) => {
    if (name === 'crypto') return cryptoShim;
    throw unsupported(`module ${name} in this stand-in`);
  };
  const cloudfront = Object.freeze({
    kvs(id) {
      if (id !== kvsId) throw new Error(`no KeyValueStore ${id} is associated with this function`);
      return store.handle();
    },
  });
  context.__cloudfront_module__ = cloudfront;
  const script = code.replace(/^import cf from ?['"]cloudfront['"];/m, 'const cf = __cloudfront_module__;');
  if (script === code) {
    throw new Error("the function must begin with import cf from 'cloudfront';");
  }
  vm.runInContext(`"use strict";${script}`, context, { filename: 'cloudfront-function.js' });
  const handler = context.handler;
  if (typeof handler !== 'function') throw new Error('the function defines no handler');
  const parse = vm.runInContext('JSON.parse', context);
  const run = async function run(event, nowSeconds) {
    nowMs = nowSeconds * 1000;
    const result = await handler(parse(JSON.stringify(event)));
    return JSON.parse(JSON.stringify(result));
  };
  // For the bench: the handler itself, an event built inside the context, the clock.
  run.handler = handler;
  run.inside = (event) => parse(JSON.stringify(event));
  run.setNow = (nowSeconds) => {
    nowMs = nowSeconds * 1000;
  };
  return run;
}

/**
 * The CloudFront Functions viewer-request event for a request in the core's
 * shape ({method, path, query, headers, ip}). Query parameters keep the
 * viewer's encoding (CloudFront does not decode them); repeated names and
 * headers get `multiValue`; header names are lowercase; cookies move out of
 * the headers as CloudFront does.
 */
export function eventFor(request) {
  const querystring = {};
  for (const pair of (request.query ?? '').split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const [name, value] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
    addField(querystring, name, value);
  }
  const headers = {};
  const cookies = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === 'cookie') {
      for (const c of value.split(/;\s*/)) {
        const eq = c.indexOf('=');
        if (eq > 0) addField(cookies, c.slice(0, eq), c.slice(eq + 1));
      }
      continue;
    }
    addField(headers, lower, value);
  }
  return {
    version: '1.0',
    context: {
      distributionDomainName: 'd111111abcdef8.cloudfront.net',
      distributionId: 'EDFDVBD6EXAMPLE',
      eventType: 'viewer-request',
      requestId: 'EXAMPLEntjQpEXAMPLE_SG5Z-EXAMPLEPmPfEXAMPLEu3EqEXAMPLE==',
    },
    viewer: { ip: request.ip ?? '' },
    request: { method: request.method, uri: request.path, querystring, headers, cookies },
  };
}

function addField(object, name, value) {
  const existing = Object.prototype.hasOwnProperty.call(object, name) ? object[name] : undefined;
  if (existing === undefined) {
    object[name] = { value };
  } else {
    existing.multiValue ??= [{ value: existing.value }];
    existing.multiValue.push({ value });
  }
}

/** The raw query string a CloudFront querystring object stands for (order kept). */
export function queryOf(querystring) {
  const pairs = [];
  for (const [name, field] of Object.entries(querystring)) {
    for (const { value } of field.multiValue ?? [field]) {
      pairs.push(value === '' ? name : `${name}=${value}`);
    }
  }
  return pairs.join('&');
}

/** Header name -> value of a CloudFront headers object (repeated ones joined with ", "). */
export function flatHeaders(headers) {
  return Object.fromEntries(
    Object.entries(headers).map(([name, field]) => [name, (field.multiValue ?? [field]).map((v) => v.value).join(', ')]),
  );
}

/**
 * What a function result means, in the core's terms: a response with its
 * reason code (from the JSON body or the HTML page), or the request it lets
 * through.
 */
export function outcomeOf(result) {
  if (typeof result.statusCode === 'number') {
    const body = result.body?.data ?? '';
    const type = result.headers?.['content-type']?.value ?? '';
    const reason = type.startsWith('application/json')
      ? JSON.parse(body).error
      : (/<code>\d+ \u00b7 ([a-z_]+)<\/code>/.exec(body) ?? [])[1];
    return { kind: 'respond', status: result.statusCode, reason, headers: flatHeaders(result.headers), body };
  }
  return { kind: 'request', request: result };
}
