import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { API_ERRORS } from "../../app/lib/api/errors.server";
import { routesOpenApiDocument } from "../support/kit";

type Json = Record<string, unknown>;
const doc = (await routesOpenApiDocument("1.2.3")) as Json;
const paths = doc.paths as Record<string, Record<string, Json>>;
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

/** `api.tasks.$id.status.ts` → `/api/tasks/{id}/status`; `api.openapi[.]json.ts` → `/api/openapi.json`. */
function routePath(file: string): string {
  const name = file.replace(/\.tsx?$/, "").replace(/\[\.\]/g, "~dot~");
  return `/${name
    .split(".")
    .map((s) => s.replace(/~dot~/g, ".").replace(/_$/, ""))
    .map((s) => (s.startsWith("$") ? `{${s.slice(1)}}` : s))
    .join("/")}`;
}

function resolveRef(ref: string): unknown {
  expect(ref.startsWith("#/")).toBe(true);
  return ref
    .slice(2)
    .split("/")
    .reduce<unknown>(
      (node, part) =>
        node && typeof node === "object" ? (node as Json)[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined,
      doc,
    );
}

function walk(node: unknown, visit: (n: Json) => void): void {
  if (Array.isArray(node)) node.forEach((n) => walk(n, visit));
  else if (node && typeof node === "object") {
    visit(node as Json);
    Object.values(node).forEach((n) => walk(n, visit));
  }
}

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 with info, bearer security and components", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: expect.any(String), version: "1.2.3" });
    expect((doc.components as Json).securitySchemes).toEqual({
      bearerAuth: expect.objectContaining({ type: "http", scheme: "bearer" }),
    });
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it("has a path entry for every API route file except the 404 splat", () => {
    const files = fs
      .readdirSync(path.resolve(import.meta.dirname, "../../app/routes"))
      .filter((f) => /^api\..*\.tsx?$/.test(f) && f !== "api.$.ts");
    expect(files.length).toBeGreaterThanOrEqual(9);
    for (const file of files) expect(Object.keys(paths), file).toContain(routePath(file));
  });

  it("resolves every $ref", () => {
    let refs = 0;
    walk(doc, (n) => {
      if (typeof n.$ref === "string") {
        refs++;
        expect(resolveRef(n.$ref), n.$ref).toBeDefined();
      }
    });
    expect(refs).toBeGreaterThan(50);
  });

  it("describes every operation with a unique id, declared path parameters and documented responses", () => {
    const ids = new Set<string>();
    for (const [template, item] of Object.entries(paths)) {
      expect(template.startsWith("/api/")).toBe(true);
      const templateParams = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(item)) {
        expect(METHODS).toContain(method);
        expect(typeof op.operationId).toBe("string");
        expect(ids.has(op.operationId as string)).toBe(false);
        ids.add(op.operationId as string);
        const params = (op.parameters ?? []) as Json[];
        for (const p of params) {
          expect(["path", "query", "header"]).toContain(p.in);
          expect(typeof p.name).toBe("string");
          expect(p.schema).toBeTypeOf("object");
          if (p.in === "path") expect(p.required).toBe(true);
        }
        expect(
          params
            .filter((p) => p.in === "path")
            .map((p) => p.name)
            .sort(),
        ).toEqual([...templateParams].sort());
        const responses = op.responses as Record<string, Json>;
        expect(Object.keys(responses).length).toBeGreaterThan(0);
        for (const [status, response] of Object.entries(responses)) {
          expect(status).toMatch(/^[1-5]\d\d$/);
          const resolved = (response.$ref ? resolveRef(response.$ref as string) : response) as Json;
          expect(typeof resolved.description).toBe("string");
        }
        if (op.requestBody) {
          const schema = ((op.requestBody as Json).content as Json)["application/json"] as Json;
          const body = resolveRef((schema.schema as Json).$ref as string) as Json;
          expect(body.type).toBe("object");
          expect(body.additionalProperties).toBe(false);
        }
      }
    }
  });

  it("lists each documented error status with the error shape, on the operations that can produce it", () => {
    const responses = (doc.components as Json).responses as Record<string, Json>;
    const statuses = new Set(Object.values(responses).map((r) => Number(String(r.description).slice(0, 3))));
    for (const status of Object.values(API_ERRORS)) expect(statuses.has(status), String(status)).toBe(true);
    const createTask = paths["/api/tasks"]!.post!.responses as Json;
    for (const s of ["201", "400", "401", "403", "404", "405", "409", "413", "415", "429", "500"])
      expect(createTask, s).toHaveProperty(s);
    const patchTask = paths["/api/tasks/{id}"]!.patch!.responses as Json;
    for (const s of ["200", "400", "404", "409", "412"]) expect(patchTask, s).toHaveProperty(s);
    expect(paths["/api/tasks"]!.get!.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: "limit",
          in: "query",
          schema: expect.objectContaining({ minimum: 1, maximum: 200, default: 50 }),
        }),
      ]),
    );
    expect(paths["/api/health"]!.get!.security).toEqual([]);
    expect(paths["/api/openapi.json"]!.get!.security).toEqual([]);
  });

  it("takes the request schemas from the validating zod schemas (aliases, limits, strictness)", () => {
    const schemas = (doc.components as Json).schemas as Record<string, Json>;
    const create = schemas.CreateTaskBody!.properties as Record<string, Json>;
    expect(create.title).toMatchObject({ type: "string", minLength: 1, maxLength: 180 });
    expect(create).toHaveProperty("projectKey");
    expect(create.labels).toMatchObject({ maxItems: 20 });
    expect(schemas.CreateTaskBody!.required).toEqual(["title"]);
    const patch = schemas.PatchTaskBody!.properties as Record<string, Json>;
    expect(patch).toHaveProperty("planMarkdown");
    expect(patch).toHaveProperty("plan_markdown");
    expect(patch.lifecycle_action).toMatchObject({ enum: ["plan", "start", "complete", "review", "block"] });
    expect(Object.keys(schemas.TaskStatusBody!.properties as Json).sort()).toEqual(["engine", "status"]);
  });
});
