import { readFileSync } from 'node:fs';

/**
 * The version in package.json, read once: src/version.ts and dist/version.js both sit one folder
 * below the package root, so the same relative path works from source and from the build.
 */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
