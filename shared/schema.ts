import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats ships CommonJS with `exports.default`; under NodeNext the callable sits on `.default`.
const addFormats = addFormatsModule.default;

/**
 * One ajv for every contract: schemas are written once with TypeBox and their types derived with `Static`.
 * Compiling is most of an HTTP function's cold start, so ajv skips its optimisation passes over the generated code:
 * the settings' schemas compile in ~40% less CPU time (BENCHMARKS.md, cold start).
 */
function createAjv(options: Options): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, code: { optimize: false }, ...options });
  addFormats(ajv);
  ajv.addKeyword('kind').addKeyword('modifier');
  return ajv;
}

let strictAjv: Ajv | undefined;
/** Config comes from strings (environment variables): coerce types and fill defaults there only. */
let coercingAjv: Ajv | undefined;
function ajvFor(mode: 'strict' | 'coerce'): Ajv {
  if (mode === 'coerce') {
    coercingAjv ??= createAjv({ coerceTypes: true, useDefaults: true });
    return coercingAjv;
  }
  strictAjv ??= createAjv({});
  return strictAjv;
}

export interface SchemaIssue {
  /** JSON pointer-ish path of the offending value, e.g. `size` or `conditions/0`. */
  path: string;
  message: string;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; issues: SchemaIssue[] };

export interface Validator<S extends TSchema> {
  schema: S;
  validate(value: unknown): Validation<Static<S>>;
}

function describeIssue(error: ErrorObject): SchemaIssue {
  const path = error.instancePath.replace(/^\//, '').replaceAll('~1', '/').replaceAll('~0', '~');
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return { path: path ? `${path}/${missing}` : missing, message: 'is required' };
  }
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return { path: path ? `${path}/${extra}` : extra, message: 'is not allowed' };
  }
  return { path, message: error.message ?? 'is invalid' };
}

/**
 * A TypeBox schema's validator, compiled once, on first use: a bundled function declares every contract it imports
 * at load time but validates only a few, and compiling is the bulk of its cold start. Validation returns typed
 * values or readable issues, never throws.
 */
export function compileSchema<S extends TSchema>(
  schema: S,
  mode: 'strict' | 'coerce' = 'strict',
): Validator<S> {
  let check: ValidateFunction | undefined;
  return {
    schema,
    validate(value) {
      check ??= ajvFor(mode).compile(schema);
      if (check(value)) return { ok: true, value: value as Static<S> };
      return { ok: false, issues: (check.errors ?? []).map(describeIssue) };
    },
  };
}

export function formatIssues(issues: SchemaIssue[]): string {
  return issues.map((issue) => (issue.path ? `${issue.path} ${issue.message}` : issue.message)).join('; ');
}

/** A stored JSON document of the schema, or null when it is not JSON or not of the schema (torn, or foreign). */
export function parseStored<S extends TSchema>(validator: Validator<S>, body: Buffer): Static<S> | null {
  try {
    const checked = validator.validate(JSON.parse(body.toString('utf8')));
    return checked.ok ? checked.value : null;
  } catch {
    return null;
  }
}
