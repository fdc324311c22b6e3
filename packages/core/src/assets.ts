/**
 * Where the files Tollgate reads at run time live: the Avro schemas (schemas/avro) and the default rate
 * card (ratecards/default.yaml). In the repository that is its root, three levels above this module. In
 * the SDK's npm package (packages/sdk/tsdown.config.ts) the bundler defines __TOLLGATE_BUNDLED__ and
 * copies both folders beside the bundle, so the root is the bundle's own folder.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

declare const __TOLLGATE_BUNDLED__: boolean | undefined;

const here = dirname(fileURLToPath(import.meta.url));

/** The folder that holds schemas/ and ratecards/. */
export const ASSET_ROOT =
  typeof __TOLLGATE_BUNDLED__ !== 'undefined' ? here : resolve(here, '..', '..', '..');

/** A path under ASSET_ROOT, e.g. assetPath('ratecards', 'default.yaml'). */
export function assetPath(...segments: string[]): string {
  return resolve(ASSET_ROOT, ...segments);
}
