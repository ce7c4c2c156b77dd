import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, useLoaderData } from "@remix-run/react";
import { ChangesTable } from "~/components/changes-table";
import { DateRangeFields, ListFilterForm, ListSection, listState } from "~/components/console-list";
import { FilterField } from "~/components/filter-field";
import { queryString } from "~/components/pager";
import { UtcTime } from "~/components/utc-time";
import {
  describeChanges,
  KNOWN_AUDIT_ACTIONS,
  KNOWN_RESOURCE_TYPES,
  listActorTokens,
  listAuditPage,
  parseAuditFilters,
} from "~/lib/audit/query.server";
import { formatHead, verifyAuditChain } from "~/lib/audit/log.server";
import { requireOwner } from "~/lib/http/owner-session.server";
import { consoleListResponse, readConsoleList, type ConsoleListData } from "~/lib/http/console-list.server";
import { formatDevice } from "~/lib/http/user-agent";
import type { AuditEntry } from "../../db/schema";

// The filters are GET parameters (contract §3): actor, action, resource_type,
// resource_id, from, to, cursor. `verify=1` runs the chain check on demand; it changes nothing.

type VerifyView =
  | {
      ok: true;
      lastSeq: number;
      count: number;
      head: string;
      publicKey: string;
      legacyThroughSeq: number;
      sealedAt: string | null;
    }
  | { ok: false; problem: "tampered" | "unsealed"; badSeq: number; reason: string; count: number; publicKey: string };

/** What the page shows of an entry: chosen fields, never the row as stored. */
function entryView(e: AuditEntry) {
  const changes = describeChanges(e.changes);
  return {
    seq: e.seq,
    createdAt: e.created_at,
    actor: { type: e.actor_type, id: e.actor_id, label: e.actor_label },
    channel: e.channel,
    action: e.action,
    resourceType: e.resource_type,
    resourceId: e.resource_id,
    changes,
    /** Only when the stored text is not the expected shape, to show it as it is. */
    rawChanges: changes === null ? e.changes : null,
    ip: e.ip,
    userAgent: e.user_agent,
    device: formatDevice(e.user_agent),
    requestId: e.request_id,
  };
}

type Entry = ReturnType<typeof entryView>;

interface AuditLogsData {
  list: ConsoleListData<Entry>;
  tokens: { id: number; name: string; hint: string; revoked: boolean }[];
  suggestions: { actions: readonly string[]; resourceTypes: readonly string[] };
  verify: VerifyView | null;
}

const PATH = "/settings/audit-logs";

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireOwner(request, context);
  const { db, auditSigner } = context.services;
  const params = new URL(request.url).searchParams;
  const query = parseAuditFilters(params);
  const tokens = await listActorTokens(db);
  const suggestions = { actions: KNOWN_AUDIT_ACTIONS, resourceTypes: KNOWN_RESOURCE_TYPES };
  let verify: VerifyView | null = null;
  if (params.get("verify") === "1") {
    // The same check as `preqstation audit verify`: chain, seal and signatures, with the server's key.
    const result = await verifyAuditChain(db, auditSigner);
    verify = result.ok
      ? {
          ok: true,
          lastSeq: result.lastSeq,
          count: result.count,
          head: formatHead(result.lastSeq, result.headHash),
          publicKey: result.publicKey,
          legacyThroughSeq: result.legacyThroughSeq,
          sealedAt: result.sealedAt,
        }
      : {
          ok: false,
          problem: result.problem,
          badSeq: result.badSeq,
          reason: result.reason,
          count: result.count,
          publicKey: auditSigner.publicKey,
        };
  }
  const list = await readConsoleList(
    query,
    (filters) => listAuditPage(db, filters),
    (page) => page.entries.map(entryView),
  );
  const body: AuditLogsData = { list, tokens, suggestions, verify };
  return consoleListResponse(body);
}

/** Through which door the change came; entries from before channels were recorded have none. */
const CHANNEL_TEXT: Record<string, string> = { api: "API", mcp: "MCP", web: "Web console", cli: "CLI" };
function channelText(channel: Entry["channel"]): string {
  return channel === null ? "—" : (CHANNEL_TEXT[channel] ?? channel);
}

function actorText(actor: Entry["actor"]): string {
  if (actor.type === "token") return `token #${actor.id} · ${actor.label}`;
  if (actor.type === "owner") return `owner · ${actor.label}`;
  return actor.label;
}

export default function AuditLogs() {
  const { list, tokens, suggestions, verify } = useLoaderData<AuditLogsData>();
  const { values, errors } = list;
  const { filters, filtered, hasErrors } = listState(list);
  const tokenListed = tokens.some((t) => `token:${t.id}` === values.actor);
  const unknownToken = values.actor?.startsWith("token:") && !tokenListed && !errors.actor ? values.actor : null;

  return (
    <>
      <h1>Audit Logs</h1>
      <p className="muted">
        Every change made through the API, the MCP endpoint, the console and the CLI, newest first (the Via column says which).
        Entries cannot be edited or deleted, each one is chained to the previous by a SHA-256 hash, and each is signed with a key
        kept outside the database.
      </p>

      <ListFilterForm
        list={list}
        headingId="audit-filter-heading"
        path={PATH}
        extra={
          <>
            <datalist id="audit-actions">
              {suggestions.actions.map((a) => (
                <option key={a} value={a} />
              ))}
            </datalist>
            <datalist id="audit-resource-types">
              {suggestions.resourceTypes.map((t) => (
                <option key={t} value={t} />
              ))}
            </datalist>
          </>
        }
      >
        <FilterField label="Actor" name="actor" error={errors.actor}>
          {(p) => (
            <select {...p} defaultValue={errors.actor ? "" : (values.actor ?? "")}>
              <option value="">Anyone</option>
              <option value="owner">Owner (web console)</option>
              <option value="cli">Admin CLI</option>
              <option value="system">System (expired leases)</option>
              {unknownToken ? <option value={unknownToken}>{`Token #${unknownToken.slice(6)} (unknown)`}</option> : null}
              {tokens.map((t) => (
                <option key={t.id} value={`token:${t.id}`}>
                  {`Token: ${t.name} (${t.hint})${t.revoked ? " — revoked" : ""}`}
                </option>
              ))}
            </select>
          )}
        </FilterField>
        <FilterField label="Action" name="action" error={errors.action}>
          {(p) => <input {...p} type="text" list="audit-actions" defaultValue={values.action ?? ""} placeholder="task.update" />}
        </FilterField>
        <FilterField label="Resource type" name="resource_type" error={errors.resource_type}>
          {(p) => (
            <input {...p} type="text" list="audit-resource-types" defaultValue={values.resource_type ?? ""} placeholder="task" />
          )}
        </FilterField>
        <FilterField label="Resource id" name="resource_id" error={errors.resource_id}>
          {(p) => <input {...p} type="text" defaultValue={values.resource_id ?? ""} placeholder="PROJ-12" />}
        </FilterField>
        <DateRangeFields list={list} />
      </ListFilterForm>

      <section className="card" aria-labelledby="audit-chain-heading">
        <h2 id="audit-chain-heading">Integrity</h2>
        {verify ? (
          verify.ok ? (
            <div className="alert success" role="status">
              {verify.count === 0
                ? "The audit log is empty: nothing to verify yet."
                : `Chain and signatures verified up to entry ${verify.lastSeq} (${verify.count} entries).`}
              {verify.legacyThroughSeq > 0 ? (
                <p>{`Entries 1–${verify.legacyThroughSeq} were written before signing began; one signature${verify.sealedAt ? ` made ${verify.sealedAt}` : ""} covers them.`}</p>
              ) : null}
              <p>
                Public key: <code className="secret">{verify.publicKey}</code> Keep a copy elsewhere: later,{" "}
                <code>npx preqstation audit verify --public-key &lt;key&gt;</code> also catches a log re-signed with a replaced
                key.
              </p>
              {verify.count > 0 ? (
                <p>
                  Head: <code className="secret">{verify.head}</code> Keep a copy elsewhere: later,{" "}
                  <code>npx preqstation audit verify --head &lt;head&gt;</code> proves no entries were cut off the end since (nor
                  changed by someone holding the key).
                </p>
              ) : null}
            </div>
          ) : (
            <div className="alert error" role="alert">
              {verify.problem === "unsealed"
                ? `Not verified: ${verify.reason}.`
                : `Tampered: ${verify.reason}. First bad entry: ${verify.badSeq} (${verify.count} entries verified before it).`}
              <p>
                Public key used: <code className="secret">{verify.publicKey}</code>
              </p>
            </div>
          )
        ) : (
          <p className="muted">
            Recompute every hash of the chain and check its signatures, the same check as{" "}
            <code>npx preqstation audit verify</code>.
          </p>
        )}
        <Form method="get">
          {Object.entries(filters).map(([k, v]) => (v ? <input key={k} type="hidden" name={k} value={v} /> : null))}
          <button type="submit" name="verify" value="1" className="secondary">
            Verify chain
          </button>
        </Form>
      </section>

      <ListSection
        list={list}
        headingId="audit-entries-heading"
        path={PATH}
        noun="entries"
        caption="Audit log entries, newest first"
        columns={["#", "Time", "Actor", "Via", "Action", "Resource", "IP", "Details"]}
        pagerLabel="Audit log pages"
        intro={
          !hasErrors ? (
            <p>
              Export {filtered ? "these filtered entries" : "every entry"}:{" "}
              <a href={`${PATH}/export${queryString({ ...filters, format: "csv" })}`} download>
                CSV
              </a>
              {" · "}
              <a href={`${PATH}/export${queryString({ ...filters, format: "ndjson" })}`} download>
                NDJSON
              </a>
            </p>
          ) : null
        }
        row={(e) => (
          <tr key={e.seq}>
            <td className="mono">{e.seq}</td>
            <td>
              <UtcTime iso={e.createdAt} />
            </td>
            <td>{actorText(e.actor)}</td>
            <td>{channelText(e.channel)}</td>
            <td className="mono">{e.action}</td>
            <td>
              <span className="mono">{e.resourceType}</span> <span className="mono">{e.resourceId}</span>
            </td>
            <td className="mono">{e.ip}</td>
            <td>
              <details>
                <summary>{`Entry ${e.seq}`}</summary>
                <EntryDetails entry={e} />
              </details>
            </td>
          </tr>
        )}
      />
    </>
  );
}

function EntryDetails({ entry }: { entry: Entry }) {
  return (
    <div>
      {entry.changes === null ? (
        <p>
          Changes: <code>{entry.rawChanges}</code>
        </p>
      ) : (
        <ChangesTable changes={entry.changes} empty="No field changes recorded." caption={`Changes in entry ${entry.seq}`} />
      )}
      <dl>
        <dt>Actor</dt>
        <dd>
          <span className="mono">{`${entry.actor.type}:${entry.actor.id}`}</span> {entry.actor.label}
        </dd>
        <dt>Via</dt>
        <dd>{channelText(entry.channel)}</dd>
        <dt>IP</dt>
        <dd className="mono">{entry.ip}</dd>
        <dt>User agent</dt>
        <dd>
          {entry.device} <span className="mono muted">{entry.userAgent}</span>
        </dd>
        <dt>Request id</dt>
        <dd className="mono">{entry.requestId}</dd>
        <dt>Time (UTC)</dt>
        <dd className="mono">{entry.createdAt}</dd>
      </dl>
    </div>
  );
}

export const meta: MetaFunction = () => [{ title: "Audit Logs · PreqStation" }];
