import { describe, expect, it } from "vitest";
import { listTools, MCP_TOOL_NAMES, toolSources } from "../../app/lib/api/mcp-tools.server";
import { routesOpenApiDocument } from "../support/kit";

type Json = Record<string, unknown>;

const doc = (await routesOpenApiDocument("test")) as {
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json> };
};

/** The OpenAPI operation with this operationId. */
function operation(operationId: string): Json {
  for (const methods of Object.values(doc.paths)) {
    for (const op of Object.values(methods)) if (op.operationId === operationId) return op;
  }
  throw new Error(`no operation ${operationId}`);
}

/** The fields an operation takes, as the OpenAPI document describes them (body properties or query parameters). */
function operationFields(op: Json, fields: "body" | "query" | "none"): Record<string, Json> {
  if (fields === "none") return {};
  if (fields === "query") {
    const params = (op.parameters as { name: string; in: string; description?: string; schema: Json }[]).filter(
      (p) => p.in === "query",
    );
    return Object.fromEntries(
      params.map((p) => [p.name, p.description ? { ...p.schema, description: p.description } : p.schema]),
    );
  }
  const ref = ((op.requestBody as Json).content as { "application/json": { schema: { $ref: string } } })["application/json"]
    .schema.$ref;
  return (doc.components.schemas[ref.split("/").at(-1)!]!.properties ?? {}) as Record<string, Json>;
}

/** JSON Schema objects compared without key order. */
const normalized = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(normalized)
    : value && typeof value === "object"
      ? Object.fromEntries(
          Object.entries(value)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, v]) => [k, normalized(v)]),
        )
      : value;

describe("MCP tool list and OpenAPI document", () => {
  const tools = listTools("full").tools;
  const sources = toolSources();

  it("lists the tools of the spec, in its order", () => {
    expect(tools.map((t) => t.name)).toEqual([...MCP_TOOL_NAMES]);
  });

  it.each(MCP_TOOL_NAMES.map((name) => [name]))("%s takes exactly the fields its API operation documents", (name) => {
    const tool = tools.find((t) => t.name === name)!;
    const source = sources[name];
    const op = operation(source.operationId);
    const expected = { ...operationFields(op, source.fields) };
    for (const fixed of [...source.fixed, ...(source.omitted ?? [])]) {
      expect(expected, `${name} fixes or leaves out ${fixed}, which ${source.operationId} must take`).toHaveProperty(fixed);
      delete expected[fixed];
    }
    // A camelCase tool takes some fields under another name (projectKey for project_key).
    for (const [apiName, toolName] of Object.entries(source.renamed ?? {})) {
      expect(expected, `${name} renames ${apiName}, which ${source.operationId} must take`).toHaveProperty(apiName);
      expected[toolName] = expected[apiName]!;
      delete expected[apiName];
    }
    const properties = { ...(tool.inputSchema.properties as Record<string, Json>) };
    for (const added of source.added) {
      expect(properties, `${name} adds ${added}`).toHaveProperty(added);
      delete properties[added];
    }
    expect(normalized(properties)).toEqual(normalized(expected));
    // Nothing beyond the documented fields is accepted, as the API's strict schemas accept nothing more.
    expect(tool.inputSchema.additionalProperties).toBe(false);
    // task_id (taskId for the coordination tools) stands for the path's {id}; idempotency_key for the Idempotency-Key header.
    const params = ((op.parameters ?? []) as { name: string; in: string }[]).map((p) => `${p.in}:${p.name}`);
    expect(params.includes("path:id")).toBe(source.added.includes("task_id") || source.added.includes("taskId"));
    if (source.added.includes("idempotency_key")) expect(params).toContain("header:Idempotency-Key");
  });

  it.each(MCP_TOOL_NAMES.map((name) => [name]))(
    "%s declares the response schema of its API operation as its output schema",
    (name) => {
      const tool = tools.find((t) => t.name === name)!;
      const op = operation(sources[name].operationId);
      const success = Object.entries(op.responses as Record<string, Json>).find(([status]) => status.startsWith("2"))![1];
      const ref = (success.content as { "application/json": { schema: { $ref: string } } })["application/json"].schema.$ref;
      // The OpenAPI document refers to shared components; inline them to compare.
      const inline = (value: unknown): unknown =>
        Array.isArray(value)
          ? value.map(inline)
          : value && typeof value === "object"
            ? "$ref" in value
              ? inline(
                  doc.components.schemas[
                    String((value as { $ref: string }).$ref)
                      .split("/")
                      .at(-1)!
                  ],
                )
              : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inline(v)]))
            : value;
      const declared = inline({ $ref: ref }) as { properties: { task: Json } };
      if (name === "preq_claim_next_task") {
        // Where the API answers 204 (nothing ready), the tool answers {task: null}.
        expect(op.responses).toHaveProperty("204");
        const task = declared.properties.task;
        declared.properties.task = { anyOf: [task, { type: "null" }] };
      }
      expect(normalized(tool.outputSchema)).toEqual(normalized(declared));
    },
  );

  it("shows a read token only the read tools, each marked read-only; delete_task alone is destructive", () => {
    expect(listTools("read").tools.map((t) => t.name)).toEqual(["list_projects", "list_tasks", "get_task"]);
    for (const tool of tools) {
      const write = !["list_projects", "list_tasks", "get_task"].includes(tool.name);
      expect(tool.annotations.readOnlyHint).toBe(!write);
      if (write) expect(tool.annotations.destructiveHint).toBe(tool.name === "delete_task");
    }
  });
});
