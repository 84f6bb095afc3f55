import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { finding } from '../../formats/finding.js';
import type { Finding } from '../../formats/finding.js';
import type { AuditContext, FolderCheck } from './check.js';

/**
 * What a content manifest does not see, reported so a pin or a signature is not mistaken for more
 * than it is:
 * - hard links: the same bytes reachable from another path, inside or outside the folder, so the
 *   content can change without this folder being written (and a pin would only notice later);
 * - Hugging Face blobs whose content does not match their digest name (a tampered or corrupted
 *   cache: the hub said one thing, the disk holds another);
 * - file names that differ only in Unicode normalisation or case (one overwrites the other on
 *   macOS/Windows, and loaders may open either), or carry invisible or bidirectional-control
 *   characters (a name that reads as another);
 * - files under the paths the manifest leaves out (`.git`, `.github`, ...): never hashed, pinned or
 *   signed, so whatever is there is unaudited.
 */

// Bidi controls, zero-width characters, BOM, soft hyphen, and other format (Cf) characters.
const INVISIBLE = /[\p{Cf}\u00ad\u115f\u1160\u3164\uffa0]/u;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const MAX_IGNORED_LISTED = 1000;

function hardLinks(ctx: AuditContext): Finding[] {
  const out: Finding[] = [];
  const sameInode = new Map<string, string[]>();
  for (const group of ctx.manifest.sameInode) for (const p of group) sameInode.set(p, group.filter((q) => q !== p));
  for (const f of ctx.manifest.files) {
    if (!f.nlink || f.nlink < 2) continue;
    const a = ctx.abs(f.path);
    const inside = sameInode.get(f.path) ?? [];
    const outside = f.nlink - 1 - inside.length;
    const where = [inside.length ? `${inside.length} inside the folder (${inside.slice(0, 3).join(', ')})` : '', outside > 0 ? `${outside} elsewhere on the disk` : ''].filter(Boolean).join(' and ');
    out.push(
      finding('folder.hardlink', 'medium', a, `${a}: has ${f.nlink} hard links (${where}); its bytes can be changed through another path without touching this folder, so a pin or signature vouches only for the moment it was checked`, {
        path: f.path,
        nlink: f.nlink,
        insideFolder: inside,
      }),
    );
  }
  return out;
}

function blobNames(ctx: AuditContext): Finding[] {
  const out: Finding[] = [];
  const s = ctx.manifest.hfSnapshot;
  if (!s) return out;
  for (const f of ctx.manifest.files) {
    if (!f.blob || f.blob.nameMatches) continue;
    const a = ctx.abs(f.path);
    out.push(
      finding('hf-cache.blob-mismatch', 'critical', a, `${a}: links to blob ${f.blob.name}, but the blob's ${f.blob.kind} is ${f.blob.actual}: the cache was altered after download (or is corrupt); delete the blob and download again`, {
        path: f.path,
        blob: f.blob.name,
        kind: f.blob.kind,
        actual: f.blob.actual,
      }),
    );
  }
  return out;
}

function names(ctx: AuditContext): Finding[] {
  const out: Finding[] = [];
  const folded = new Map<string, string>();
  for (const rel of ctx.files) {
    const a = ctx.abs(rel);
    if (INVISIBLE.test(rel) || CONTROL.test(rel)) {
      const chars = [...rel].filter((c) => INVISIBLE.test(c) || CONTROL.test(c)).map((c) => `U+${(c.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}`);
      out.push(finding('folder.invisible-name', 'high', a, `${JSON.stringify(a)}: file name holds invisible or control characters (${[...new Set(chars)].join(', ')}); it may read as another file's name`, { path: rel, chars }));
    }
    const key = rel.normalize('NFC').toLowerCase();
    const prev = folded.get(key);
    if (prev !== undefined) {
      out.push(finding('folder.confusable-names', 'medium', a, `${JSON.stringify(a)}: differs from ${JSON.stringify(prev)} only in Unicode normalisation or case; on macOS or Windows one replaces the other, and loaders may open either`, { path: rel, other: prev }));
    } else folded.set(key, rel);
  }
  return out;
}

async function ignoredContent(ctx: AuditContext): Promise<Finding[]> {
  const listed: string[] = [];
  let truncated = false;
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (listed.length >= MAX_IGNORED_LISTED) {
      truncated = true;
      return;
    }
    const abs = ctx.abs(rel);
    const st = await lstat(abs).catch(() => undefined);
    if (!st) return;
    if (st.isDirectory() && depth < 16) {
      const entries = await readdir(abs).catch(() => [] as string[]);
      for (const e of entries.sort()) await walk(`${rel}/${e}`, depth + 1);
    } else listed.push(rel);
  };
  // Folders only (.git, .github): the ignored single files are the signature, checked on its own,
  // and .gitattributes/.gitignore, which every hub repository carries.
  for (const ig of ctx.manifest.ignored) if ((await lstat(ctx.abs(ig)).catch(() => undefined))?.isDirectory()) await walk(ig, 0);
  if (!listed.length) return [];
  return [
    finding(
      'folder.unaudited-content',
      'info',
      ctx.dir,
      `${ctx.dir}: ${truncated ? 'more than ' : ''}${listed.length} file${listed.length === 1 ? '' : 's'} under paths the manifest leaves out (${ctx.manifest.ignored.join(', ')}): not hashed, pinned or signature-checked (${listed.slice(0, 5).map((p) => path.posix.normalize(p)).join(', ')}${listed.length > 5 ? ', …' : ''})`,
      { files: listed.slice(0, 100), truncated },
    ),
  ];
}

export const folderTricks: FolderCheck = {
  id: 'folder-tricks',
  area: 'folder',
  run: async (ctx) => [...blobNames(ctx), ...hardLinks(ctx), ...names(ctx), ...(await ignoredContent(ctx))],
};
