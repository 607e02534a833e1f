/** RAM policy documents as tests write them: the JSON text a LocalAccount role holds and AssumeRole's Policy takes. */

/** One statement allowing `actions` on `resources` (either may be a single string). */
export function allowPolicy(actions: string | string[], resources: string | string[]): string {
  return JSON.stringify({
    Version: '1',
    Statement: [{ Effect: 'Allow', Action: [actions].flat(), Resource: [resources].flat() }],
  });
}
