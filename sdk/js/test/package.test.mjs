// The tarball a user installs: no runtime dependency, only the files it
// needs, under its size budget, loadable from a plain ESM project.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { oncelink, project, tarball } from './support.mjs';

// The budget: the wasm is ~230 KB raw (the core, its claim rules and the
// decision verify runs); packed it is about 110 KB. A change that
// doubles it must be a decision, not an accident.
const TARBALL_BUDGET_BYTES = 130_000;

test('the tarball stays under its size budget', () => {
  const size = statSync(tarball).size;
  assert.ok(size <= TARBALL_BUDGET_BYTES, `${size} bytes > ${TARBALL_BUDGET_BYTES}`);
});

test('the installed package has no runtime dependency and ships only its files', () => {
  const dir = join(project, 'node_modules', 'oncelink');
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  assert.equal(pkg.name, 'oncelink');
  assert.equal(pkg.type, 'module');
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) assert.equal(pkg[field], undefined, field);
  const listed = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
  assert.deepEqual(listed, [
    'package/index.d.ts',
    'package/index.js',
    'package/package.json',
    'package/wasm/pkg/oncelink_sdk_wasm.js',
    'package/wasm/pkg/oncelink_sdk_wasm_bg.wasm',
  ]);
  const lockedDeps = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')).packages;
  assert.deepEqual(Object.keys(lockedDeps).sort(), ['', 'node_modules/oncelink']);
});

test('every function the types declare is exported, and nothing else', () => {
  const types = readFileSync(join(project, 'node_modules', 'oncelink', 'index.d.ts'), 'utf8');
  const declared = [...types.matchAll(/^export (?:function|class) (\w+)/gm)].map((m) => m[1]).sort();
  assert.deepEqual(Object.keys(oncelink).sort(), declared);
  assert.deepEqual(declared, ['OncelinkError', 'inspect', 'keygen', 'link', 'mint', 'verify']);
});
