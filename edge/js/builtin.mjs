// Node's own modules without their ES module facade. `import … from 'node:fs'`
// (static or dynamic) makes Node build the module's ESM namespace, which reads
// every export: fs's lazy `ReadStream` getter then loads fs's streams, about
// 3 ms of a fresh process, and node:https's about 3 ms more at the first store
// call (measured alone). `process.getBuiltinModule` (Node 22.3+ and 20.16+;
// Lambda's nodejs22.x, launched after 22.11, has it) returns the module object
// as `require` would, without the facade (docs/performance.md, "Issue 18,
// ninth session"). The dynamic import stays as the fallback for an older
// Node, so nothing changes there but the time.

/**
 * A promise of Node's built-in module `name` ('node:fs', 'node:https', ...),
 * the module object as `require` gives it. `importIt` imports the same name
 * (a literal, so a bundler sees it), used only without getBuiltinModule.
 */
export async function builtin(name, importIt) {
  return process.getBuiltinModule?.(name) ?? (await importIt()).default;
}
