import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats ships CommonJS with `exports.default`; under NodeNext the callable sits on `.default`.
const addFormats = addFormatsModule.default;

/** One ajv for every contract: schemas are written once with TypeBox and their types derived with `Static`. */
function createAjv(options: Options): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, ...options });
  addFormats(ajv);
  ajv.addKeyword('kind').addKeyword('modifier');
  return ajv;
}

const strictAjv = createAjv({});
/** Config comes from strings (environment variables): coerce types and fill defaults there only. */
const coercingAjv = createAjv({ coerceTypes: true, useDefaults: true });

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

/** Compile a TypeBox schema once; validation returns typed values or readable issues, never throws. */
export function compileSchema<S extends TSchema>(
  schema: S,
  mode: 'strict' | 'coerce' = 'strict',
): Validator<S> {
  const check = (mode === 'coerce' ? coercingAjv : strictAjv).compile(schema);
  return {
    schema,
    validate(value) {
      if (check(value)) return { ok: true, value: value as Static<S> };
      return { ok: false, issues: (check.errors ?? []).map(describeIssue) };
    },
  };
}

export function formatIssues(issues: SchemaIssue[]): string {
  return issues.map((issue) => (issue.path ? `${issue.path} ${issue.message}` : issue.message)).join('; ');
}
