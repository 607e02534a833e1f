/** FC entry of the media worker. Placeholder until its issue lands: refuses every event so nothing is lost silently. */
export async function handler(): Promise<never> {
  throw new Error('the media function is not built yet');
}
