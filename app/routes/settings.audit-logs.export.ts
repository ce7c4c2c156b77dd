import type { LoaderFunctionArgs } from "@remix-run/node";
import { iterateAuditEntries, parseAuditFilters } from "~/lib/audit/query.server";
import { requireOwner } from "~/lib/http/owner-session.server";
import { csvRow } from "~/lib/audit/csv";
import { AnyJsonSchema, parseJsonColumn } from "~/lib/domain/json";
import type { AuditEntry } from "../../db/schema";

/**
 * GET /settings/audit-logs/export?format=csv|ndjson&<the page's filters>
 *
 * Streams every matching entry, newest first: the body is a ReadableStream that
 * reads the log in keyset chunks as the client consumes it, so a million
 * entries never sit in memory. CSV cells are escaped and neutralised against
 * formula injection; NDJSON is one JSON object per line.
 */

const COLUMNS = [
  "seq",
  "created_at",
  "actor_type",
  "actor_id",
  "actor_label",
  "action",
  "resource_type",
  "resource_id",
  "changes",
  "ip",
  "user_agent",
  "request_id",
  "prev_hash",
  "hash",
  // last, so the columns before keep their places: the channel is hashed (when set) and the
  // signature covers (seq, hash), so an export can be checked against the chain away from the server
  "channel",
  "signature",
] as const satisfies readonly (keyof AuditEntry)[];

const FORMATS = {
  csv: {
    contentType: "text/csv; charset=utf-8",
    header: csvRow(COLUMNS),
    line: (e: AuditEntry) => csvRow(COLUMNS.map((c) => e[c])),
  },
  ndjson: {
    contentType: "application/x-ndjson; charset=utf-8",
    header: "",
    line: (e: AuditEntry) => `${JSON.stringify({ ...pick(e), changes: parseChanges(e.changes) })}\n`,
  },
} as const;

function pick(e: AuditEntry): Record<(typeof COLUMNS)[number], unknown> {
  return Object.fromEntries(COLUMNS.map((c) => [c, e[c]])) as Record<(typeof COLUMNS)[number], unknown>;
}

/** The changes as an object (they were written as JSON); the raw text if a row holds something else. */
function parseChanges(changes: string): unknown {
  return parseJsonColumn(changes, AnyJsonSchema, changes);
}

function textResponse(status: number, message: string): Response {
  return new Response(`${message}\n`, { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireOwner(request, context);
  const { db, logger } = context.services;
  const params = new URL(request.url).searchParams;
  const formatName = params.get("format");
  if (formatName !== "csv" && formatName !== "ndjson") return textResponse(400, "format must be csv or ndjson");
  const parsed = parseAuditFilters(params);
  if (!parsed.ok) {
    const [field, message] = Object.entries(parsed.errors)[0] ?? ["form", "invalid filter"];
    return textResponse(400, `${field}: ${message}`);
  }
  const format = FORMATS[formatName];
  const chunks = iterateAuditEntries(db, { ...parsed.filters, cursor: undefined });
  const encoder = new TextEncoder();
  const requestId = context.request.id;

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (format.header) controller.enqueue(encoder.encode(format.header));
    },
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) {
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(next.value.map(format.line).join("")));
      } catch (error) {
        logger.error("audit export failed", { requestId, error });
        controller.error(error);
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });

  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return new Response(body, {
    headers: {
      "Content-Type": format.contentType,
      "Content-Disposition": `attachment; filename="preqstation-audit-${stamp}.${formatName}"`,
      "Cache-Control": "no-store",
    },
  });
}
