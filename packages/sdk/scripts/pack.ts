/**
 * Builds @tollgate/sdk as an npm package that an agent project outside this repository installs:
 *
 *   ./tollgate sdk pack [--out DIR]      (or: node packages/sdk/scripts/pack.ts [DIR] on Node 24)
 *   → DIR/tollgate-sdk-<version>.tgz     (default DIR: packages/sdk/pack)
 *   npm install /path/to/tollgate-sdk-<version>.tgz
 *
 * In the repository the SDK is TypeScript that imports @tollgate/core (private) and runs on a patched
 * kafkajs (patches/kafkajs+2.2.4.patch). Neither reaches an outside project, and Node does not strip
 * types under node_modules, so the package is a build:
 * - one ESM bundle (index.mjs, plus kafka-worker.mjs for the producer thread) holding the SDK, the
 *   @tollgate/core modules it imports and kafkajs with our patch applied; avsc, pino, yaml and zod stay
 *   npm dependencies. The build fails if it would bundle or import anything else.
 * - index.d.mts: the public types in one file, core's included.
 * - schemas/avro and ratecards/default.yaml beside the bundle (core's assets.ts finds them there).
 * - its own package.json, README, LICENSE and the notice for the bundled kafkajs.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsdown';

const sdkDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(sdkDir, '..', '..');
const distDir = join(sdkDir, 'dist');
const outDir = resolve(process.argv[2] ?? join(sdkDir, 'pack'));

/** The npm packages the bundle imports; each is a dependency of the published package. */
const RUNTIME_DEPENDENCIES = ['avsc', 'pino', 'yaml', 'zod'];

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const sdkManifest = readJson(join(sdkDir, 'package.json'));

await build({
  config: false,
  cwd: sdkDir,
  entry: { index: 'src/index.ts', 'kafka-worker': 'src/kafka-worker.ts' },
  format: 'esm',
  platform: 'node',
  target: 'node22',
  outDir: distDir,
  clean: true,
  tsconfig: 'tsconfig.build.json',
  dts: { tsc: { eager: true } },
  deps: {
    alwaysBundle: [/^@tollgate\//, 'kafkajs'],
    onlyBundle: ['kafkajs'],
    onlyImport: RUNTIME_DEPENDENCIES,
    dts: { alwaysBundle: [/^@tollgate\//], neverBundle: [/^(?!@tollgate\/)[^./]/] },
  },
  define: { __TOLLGATE_BUNDLED__: 'true' },
  // The shared chunk sits beside the entries: assets.ts resolves schemas/ and ratecards/ from its folder.
  outputOptions: { chunkFileNames: 'shared-[hash].mjs' },
  inputOptions: { checks: { bundlerTimings: false } },
  logLevel: 'warn',
});

cpSync(join(repoRoot, 'schemas', 'avro'), join(distDir, 'schemas', 'avro'), { recursive: true });
mkdirSync(join(distDir, 'ratecards'), { recursive: true });
cpSync(join(repoRoot, 'ratecards', 'default.yaml'), join(distDir, 'ratecards', 'default.yaml'));
cpSync(join(sdkDir, 'README.md'), join(distDir, 'README.md'));
cpSync(join(repoRoot, 'LICENSE'), join(distDir, 'LICENSE'));

const kafkajs = readJson(join(repoRoot, 'node_modules', 'kafkajs', 'package.json'));
writeFileSync(
  join(distDir, 'THIRD_PARTY_NOTICES.md'),
  [
    '# Bundled third-party code',
    '',
    `index.mjs and kafka-worker.mjs include kafkajs ${kafkajs.version} (${kafkajs.homepage}), MIT licence, with`,
    `Tollgate's patch applied (patches/kafkajs+${kafkajs.version}.patch in the Tollgate repository: record`,
    'encoding and produce-request copies, a 1 ms timer loop per connection, coordinator lookups of the',
    'transactional producer). Its licence:',
    '',
    '```',
    readFileSync(join(repoRoot, 'node_modules', 'kafkajs', 'LICENSE'), 'utf8').trimEnd(),
    '```',
    '',
  ].join('\n'),
);

const versions: Record<string, string> = sdkManifest.dependencies;
const manifest = {
  name: sdkManifest.name,
  version: sdkManifest.version,
  description: sdkManifest.description,
  license: sdkManifest.license,
  type: 'module',
  exports: { '.': { types: './index.d.mts', default: './index.mjs' } },
  types: './index.d.mts',
  engines: { node: '>=22' },
  dependencies: Object.fromEntries(
    RUNTIME_DEPENDENCIES.map((name) => {
      const range = versions[name];
      if (range === undefined) throw new Error(`packages/sdk/package.json: dependencies.${name} is missing`);
      return [name, range];
    }),
  ),
};
writeFileSync(join(distDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

mkdirSync(outDir, { recursive: true });
const packed = JSON.parse(
  execFileSync('npm', ['pack', '--json', '--pack-destination', outDir], { cwd: distDir, encoding: 'utf8' }),
) as { filename: string; size: number; unpackedSize: number; entryCount: number }[];
const [tarball] = packed;
if (tarball === undefined) throw new Error('npm pack wrote no tarball');
console.log(
  `${join(outDir, tarball.filename)}: ${tarball.entryCount} files, ${(tarball.size / 1024).toFixed(0)} KiB packed, ${(tarball.unpackedSize / 1024).toFixed(0)} KiB unpacked`,
);
