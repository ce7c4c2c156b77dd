/**
 * The minimal HTML page the request handler answers with when Remix does not run
 * (a refused method, a body too large, a blocked cross-site form, an unhandled error).
 */
export function plainPage(status: number, title: string, message: string, headers?: HeadersInit): Response {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)} · PreqStation</title><link rel="stylesheet" href="/plain.css"></head><body><main class="plain"><h1>${esc(title)}</h1><p>${esc(message)}</p><p><a href="/">Back to PreqStation</a></p></main></body></html>`;
  const h = new Headers(headers);
  h.set("Content-Type", "text/html; charset=utf-8");
  return new Response(body, { status, headers: h });
}
