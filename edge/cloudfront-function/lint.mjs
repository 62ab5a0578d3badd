// A lint for the cloudfront-js-2.0 runtime: parses the function with acorn and
// refuses syntax, globals and members outside what AWS documents for that
// runtime ("JavaScript runtime 2.0 features for CloudFront Functions",
// functions-javascript-runtime-20 in the CloudFront Developer Guide, and the
// KeyValueStore helper methods). It is run on verify.js and on the minified
// build, whose output is what CloudFront executes.
//
// Stricter than the runtime where the documentation is silent: syntax it does
// not list (for-of, destructuring, spread, classes, optional chaining, `??`,
// default parameters, generators, async closures) is refused even if the
// engine underneath might accept it.

import { parse } from 'acorn';

const words = (text) => text.trim().split(/\s+/);

/** Globals the runtime documents. */
export const GLOBALS = new Set(words(`
  Object String Number Boolean Math Date Function RegExp JSON Array ArrayBuffer Promise DataView Symbol
  Float32Array Float64Array Int8Array Int16Array Int32Array Uint8Array Uint8ClampedArray Uint16Array Uint32Array
  TextDecoder TextEncoder console Error EvalError InternalError RangeError ReferenceError SyntaxError TypeError URIError
  globalThis decodeURI decodeURIComponent encodeURI encodeURIComponent isFinite isNaN parseFloat parseInt atob btoa
  NaN Infinity undefined arguments Buffer require`));

const TYPED_ARRAY_STATICS = words('from of');

/** Static members of documented globals. */
export const STATICS = {
  Object: words(`create defineProperties defineProperty freeze getOwnPropertyDescriptor getOwnPropertyDescriptors
    getOwnPropertyNames getPrototypeOf isExtensible isFrozen isSealed keys preventExtensions seal assign entries values
    is setPrototypeOf prototype`),
  String: words('fromCharCode fromCodePoint prototype'),
  Number: words(`EPSILON MAX_SAFE_INTEGER MIN_SAFE_INTEGER MAX_VALUE MIN_VALUE NaN NEGATIVE_INFINITY POSITIVE_INFINITY
    isFinite isInteger isNaN isSafeInteger parseInt parseFloat prototype`),
  Math: words(`E LN10 LN2 LOG10E LOG2E PI SQRT1_2 SQRT2 abs acos acosh asin asinh atan atan2 atanh cbrt ceil clz32 cos
    cosh exp expm1 floor fround hypot imul log log1p log2 log10 max min pow random round sign sinh sin sqrt tan tanh trunc`),
  Date: words('now parse UTC prototype'),
  JSON: words('parse stringify'),
  Array: words('isArray of prototype'),
  ArrayBuffer: words('isView prototype'),
  Promise: words('all allSettled any reject resolve race prototype'),
  Symbol: words('for keyFor'),
  Buffer: words('alloc allocUnsafe byteLength compare concat from isBuffer isEncoding'),
  console: words('log'),
  Float32Array: TYPED_ARRAY_STATICS, Float64Array: TYPED_ARRAY_STATICS, Int8Array: TYPED_ARRAY_STATICS,
  Int16Array: TYPED_ARRAY_STATICS, Int32Array: TYPED_ARRAY_STATICS, Uint8Array: TYPED_ARRAY_STATICS,
  Uint8ClampedArray: TYPED_ARRAY_STATICS, Uint16Array: TYPED_ARRAY_STATICS, Uint32Array: TYPED_ARRAY_STATICS,
};

/** Instance members the runtime documents (prototype methods and properties). */
export const MEMBERS = new Set(words(`
  hasOwnProperty isPrototypeOf propertyIsEnumerable toString valueOf call apply bind length name message
  charAt concat indexOf lastIndexOf match replace search slice split substr substring toLowerCase trim toUpperCase
  codePointAt endsWith includes repeat startsWith padStart padEnd trimStart trimEnd replaceAll
  toExponential toFixed toPrecision
  getDate getDay getFullYear getHours getMilliseconds getMinutes getMonth getSeconds getTime getTimezoneOffset
  getUTCDate getUTCDay getUTCFullYear getUTCHours getUTCMilliseconds getUTCMinutes getUTCMonth getUTCSeconds
  setDate setFullYear setHours setMilliseconds setMinutes setMonth setSeconds setTime setUTCDate setUTCFullYear
  setUTCHours setUTCMilliseconds setUTCMinutes setUTCMonth setUTCSeconds toDateString toISOString toJSON
  toLocaleDateString toLocaleString toLocaleTimeString toTimeString toUTCString
  global ignoreCase multiline source sticky flags exec test lastIndex
  every filter forEach join map pop push reduce reduceRight reverse shift some sort splice unshift copyWithin fill
  find findIndex set subarray
  catch finally then
  getFloat32 getFloat64 getInt16 getInt32 getInt8 getUint16 getUint32 getUint8
  setFloat32 setFloat64 setInt16 setInt32 setInt8 setUint16 setUint32 setUint8
  decode encoding fatal ignoreBOM encode encodeInto
  compare copy equals readInt8 readIntBE readInt16BE readInt32BE readIntLE readInt16LE readInt32LE readUInt8 readUIntBE
  readUInt16BE readUInt32BE readUIntLE readUInt16LE readUInt32LE readDoubleBE readDoubleLE readFloatBE readFloatLE
  swap16 swap32 swap64 write writeInt8 writeIntBE writeInt16BE writeInt32BE writeIntLE writeInt16LE writeInt32LE
  writeUInt8 writeUIntBE writeUInt16BE writeUInt32BE writeUIntLE writeUInt16LE writeUInt32LE writeDoubleBE
  writeDoubleLE writeFloatBE writeFloatLE buffer byteOffset
  createHash createHmac update digest unescape escape stringify
  kvs get exists meta
  version context distributionDomainName distributionId eventType requestId endpoint viewer ip request response
  method uri querystring headers cookies value multiValue attributes statusCode statusDescription body data`));

/**
 * The function's own data fields (its config, token parts, claims and parse
 * results): plain objects it builds itself, listed so that any other member
 * name stands out as a built-in the runtime may not have.
 */
export const OWN_FIELDS = new Set(words(`
  kvs mode skew param pass origin kid claims sig fromHeader token id p exp nbf n r fn g m pw ref lk secret finish prefix path cidr network bits
  end count v4 error allow authorization`));

/** Modules `require` may load; `import` may only bring in cloudfront's default export. */
export const MODULES = new Set(['crypto', 'querystring', 'buffer']);

const ALLOWED_NODES = new Set(words(`
  Program ImportDeclaration ImportDefaultSpecifier VariableDeclaration VariableDeclarator FunctionDeclaration
  FunctionExpression ArrowFunctionExpression BlockStatement ExpressionStatement ReturnStatement IfStatement
  ForStatement ForInStatement WhileStatement DoWhileStatement BreakStatement ContinueStatement TryStatement CatchClause
  ThrowStatement SwitchStatement SwitchCase LabeledStatement EmptyStatement Identifier Literal MemberExpression
  CallExpression NewExpression AssignmentExpression BinaryExpression LogicalExpression UnaryExpression UpdateExpression
  ConditionalExpression ObjectExpression Property ArrayExpression SequenceExpression ThisExpression TemplateLiteral
  TemplateElement AwaitExpression RestElement`));

/** Problems found in `code`, one line each; empty when it keeps to the runtime. */
export function lint(code) {
  let ast;
  try {
    ast = parse(code, { ecmaVersion: 2022, sourceType: 'module', locations: true });
  } catch (e) {
    return [`does not parse: ${e.message}`];
  }
  const problems = [];
  const declared = new Set();
  const references = [];
  const at = (node) => `line ${node.loc.start.line}:${node.loc.start.column + 1}`;
  const fail = (node, what) => problems.push(`${at(node)}: ${what}`);
  let hasHandler = false;

  const declarePattern = (node) => {
    if (node.type === 'Identifier') declared.add(node.name);
    else if (node.type === 'RestElement') declarePattern(node.argument);
  };

  const visit = (node, parent, key, asyncDepth) => {
    if (!ALLOWED_NODES.has(node.type)) {
      fail(node, `${node.type} is not in the cloudfront-js-2.0 feature list`);
    }
    switch (node.type) {
      case 'ImportDeclaration':
        if (node.source.value !== 'cloudfront' || node.specifiers.length !== 1 || node.specifiers[0].type !== 'ImportDefaultSpecifier') {
          fail(node, "the only import allowed is `import cf from 'cloudfront'`");
        }
        node.specifiers.forEach((s) => declared.add(s.local.name));
        break;
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        if (node.generator) fail(node, 'generators are not supported');
        if (node.async && !(node.type === 'FunctionDeclaration' && parent.type === 'Program')) {
          fail(node, 'async is allowed only on top-level function declarations (no async closures)');
        }
        if (node.id) declared.add(node.id.name);
        if (node.type === 'FunctionDeclaration' && parent.type === 'Program' && node.id.name === 'handler') hasHandler = true;
        node.params.forEach((p) => {
          if (p.type !== 'Identifier' && !(p.type === 'RestElement' && p.argument.type === 'Identifier')) {
            fail(p, 'parameters must be plain names (no defaults or destructuring)');
          }
          declarePattern(p);
        });
        break;
      case 'VariableDeclarator':
        if (node.id.type !== 'Identifier') fail(node, 'destructuring is not supported');
        declarePattern(node.id);
        break;
      case 'CatchClause':
        if (!node.param) fail(node, 'a catch clause needs a parameter');
        else declarePattern(node.param);
        break;
      case 'AwaitExpression':
        if (asyncDepth === 0) fail(node, 'await outside an async function');
        break;
      case 'LogicalExpression':
        if (node.operator === '??') fail(node, 'the ?? operator is not supported');
        break;
      case 'AssignmentExpression':
        if (['&&=', '||=', '??='].includes(node.operator)) fail(node, `${node.operator} is not supported`);
        break;
      case 'MemberExpression':
        if (node.optional) fail(node, 'optional chaining is not supported');
        if (!node.computed) checkMember(node);
        break;
      case 'CallExpression':
        if (node.optional) fail(node, 'optional chaining is not supported');
        if (node.callee.type === 'Identifier' && node.callee.name === 'require') {
          const arg = node.arguments[0];
          if (node.arguments.length !== 1 || arg.type !== 'Literal' || !MODULES.has(arg.value)) {
            fail(node, `require() may only load ${[...MODULES].join(', ')}`);
          }
        }
        break;
      case 'Property':
        if (node.kind !== 'init' || node.method || node.shorthand) {
          fail(node, 'object literals may only use `key: value` properties');
        }
        break;
      case 'Literal':
        if (node.regex && /[^gimy]/.test(node.regex.flags)) fail(node, `regular expression flags ${node.regex.flags} are not supported`);
        // CloudFront's engine compiles regular expressions with PCRE, which
        // refuses surrogate code points: keep them out of every pattern.
        if (node.regex && /\\u[dD][89a-fA-F]|[\ud800-\udfff]/.test(node.regex.pattern)) {
          fail(node, 'a regular expression must not mention surrogates (UTF-16 halves)');
        }
        if (node.bigint !== undefined) fail(node, 'BigInt is not supported');
        break;
      case 'NewExpression':
        if (node.callee.type === 'Identifier' && node.callee.name === 'Function') fail(node, 'Function constructors are not supported');
        break;
      case 'Identifier':
        if (isReference(node, parent, key)) references.push(node);
        break;
      default:
        break;
    }
    const inner = asyncDepth + (node.async ? 1 : 0);
    for (const [childKey, value] of Object.entries(node)) {
      if (childKey === 'loc') continue;
      const children = Array.isArray(value) ? value : [value];
      for (const child of children) {
        if (child && typeof child.type === 'string') visit(child, node, childKey, inner);
      }
    }
  };

  function checkMember(node) {
    const name = node.property.name;
    const object = node.object;
    if (object.type === 'Identifier' && STATICS[object.name] && !declared.has(object.name)) {
      if (!STATICS[object.name].includes(name)) fail(node, `${object.name}.${name} is not documented for cloudfront-js-2.0`);
      return;
    }
    if (!MEMBERS.has(name) && !OWN_FIELDS.has(name)) {
      fail(node, `.${name} is neither a documented built-in member nor one of the function's own fields`);
    }
  }

  visit(ast, null, null, 0);
  for (const ref of references) {
    if (!declared.has(ref.name) && !GLOBALS.has(ref.name)) {
      fail(ref, `global ${ref.name} is not available in cloudfront-js-2.0`);
    }
    if (ref.name === 'eval') fail(ref, 'eval is not supported');
  }
  if (!hasHandler) problems.push('there is no top-level `function handler(event)`');
  return problems;
}

function isReference(node, parent, key) {
  if (!parent) return false;
  if (parent.type === 'MemberExpression' && key === 'property' && !parent.computed) return false;
  if (parent.type === 'Property' && key === 'key' && !parent.computed) return false;
  if (['LabeledStatement', 'BreakStatement', 'ContinueStatement'].includes(parent.type) && key === 'label') return false;
  if (['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression'].includes(parent.type) && (key === 'id' || key === 'params')) return false;
  if (parent.type === 'VariableDeclarator' && key === 'id') return false;
  if (parent.type === 'CatchClause' && key === 'param') return false;
  if (parent.type === 'RestElement') return false;
  if (parent.type === 'ImportDefaultSpecifier') return false;
  return true;
}
