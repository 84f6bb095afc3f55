import { esc } from './html.js';

/**
 * The head every self-contained page shares (report.html, summary.html, history.html): a strict
 * Content-Security-Policy (no script, no request of any kind), inline CSS. `titleHtml` is escaped by
 * the caller; the result ends just after `<body>`.
 */
export function htmlHead(titleHtml: string, css: string, generator?: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
${generator ? `<meta name="generator" content="${esc(generator)}">\n` : ''}<title>${titleHtml}</title>
<style>${css}</style>
</head>
<body>
`;
}

/** A page of one `<main>`: `title` is escaped here; `body` is HTML the caller escaped. */
export function htmlPage(title: string, css: string, body: string): string {
  return `${htmlHead(esc(title), css)}<main>
${body}
</main>
</body>
</html>
`;
}
