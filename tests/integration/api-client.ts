/**
 * A small agent-side client for the JSON API integration tests: a production
 * server on a fresh database, its owner, a full and a read token made with the
 * real CLI, and a `call` that returns status, headers and parsed body.
 */
import Database from "better-sqlite3";
import { setupOwner } from "../support/http";
import { runCli, startServer, type TestServer } from "../support/server";

export interface ApiResult {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
}

export interface ApiServer {
  server: TestServer;
  fullToken: string;
  readToken: string;
  call(
    method: string,
    path: string,
    options?: { body?: unknown; raw?: string; headers?: Record<string, string>; token?: string | null },
  ): Promise<ApiResult>;
  /** Rows of one table read straight from the database file (read-only). */
  rows<T>(sql: string, ...params: unknown[]): T[];
  stop(): Promise<void>;
}

export async function createToken(server: TestServer, name: string, scope: "full" | "read" = "full"): Promise<string> {
  const result = await runCli(["token", "create", "--name", name, "--scope", scope], { dbPath: server.dbPath });
  if (result.code !== 0) throw new Error(`token create failed: ${result.stderr}`);
  return result.stdout.trim();
}

export async function startApiServer(env: Record<string, string> = { API_RATE_LIMIT: "1000000/1m" }): Promise<ApiServer> {
  const server = await startServer({ env });
  try {
    await setupOwner(server);
    const fullToken = await createToken(server, "agent-full");
    const readToken = await createToken(server, "agent-read", "read");
    return {
      server,
      fullToken,
      readToken,
      async call(method, path, options = {}) {
        const headers: Record<string, string> = {};
        const token = options.token === undefined ? fullToken : options.token;
        if (token !== null) headers.Authorization = `Bearer ${token}`;
        let body: string | undefined;
        if (options.raw !== undefined) body = options.raw;
        else if (options.body !== undefined) {
          body = JSON.stringify(options.body);
          headers["Content-Type"] = "application/json";
        }
        const res = await fetch(`${server.url}${path}`, { method, headers: { ...headers, ...options.headers }, body });
        const text = await res.text();
        let json: unknown = undefined;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        return { status: res.status, headers: res.headers, text, json };
      },
      rows<T>(sql: string, ...params: unknown[]): T[] {
        const db = new Database(server.dbPath, { readonly: true, fileMustExist: true });
        try {
          return db.prepare(sql).all(...params) as T[];
        } finally {
          db.close();
        }
      },
      stop: async () => {
        await server.stop();
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
