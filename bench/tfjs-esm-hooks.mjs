// Module hooks that let Node load tfjs-core's unbundled ESM tree (dist/*.js: extensionless relative
// imports, no "type": "module"), which holds the gradient definitions that none of the bundles carry.
// The tree shares the engine and the kernel/gradient registries with the bundle through globalThis.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TREE = '/@tensorflow/tfjs-core/dist/';

function inTree(url) {
  return url.includes(TREE) && !/\/dist\/tf-core[^/]*\.js$/.test(url);
}

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent && inTree(parent) && /^\.\.?\//.test(specifier) && !/\.[cm]?js$/.test(specifier)) {
    const url = new URL(specifier, parent);
    const file = fileURLToPath(url);
    if (existsSync(`${file}.js`)) return next(`${url.href}.js`, context);
    if (existsSync(`${file}/index.js`)) return next(`${url.href}/index.js`, context);
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (inTree(url) && url.endsWith('.js')) return next(url, { ...context, format: 'module' });
  return next(url, context);
}
