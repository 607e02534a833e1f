/** The request query as OSS reads it: ordered, decoded name/value pairs (`+` is a space, as in form encoding). */
export type QueryPairs = ReadonlyArray<readonly [string, string]>;

export function parseQuery(raw: string): QueryPairs {
  return raw === '' ? [] : [...new URLSearchParams(raw)];
}

export function queryValue(query: QueryPairs, name: string): string | undefined {
  return query.find(([key]) => key === name)?.[1];
}

export function hasQuery(query: QueryPairs, name: string): boolean {
  return query.some(([key]) => key === name);
}
