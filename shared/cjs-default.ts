/**
 * The Alibaba Cloud SDKs are CommonJS with `exports.default = Client`. Node's ESM loader and esbuild hand back
 * `module.exports` (the class on `.default`); vitest's interop hands the class itself. Accept both.
 */
export function cjsDefault<T>(module: { default: T }): T {
  return typeof module === 'function' ? (module as unknown as T) : module.default;
}
