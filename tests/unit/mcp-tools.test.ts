import { describe, expect, it } from "vitest";
import { listTools, MCP_TOOL_NAMES, toolSources } from "../../app/lib/api/mcp-tools.server";
import { agentGuide } from "../../app/lib/api/agent-guide.server";
import { SKILL_READ_TOOLS, SKILL_TOOL_NAMES, SKILL_TOOLS } from "../support/mcp-skill";
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
  const withSource = MCP_TOOL_NAMES.filter((name) => sources[name] !== null);

  it("lists the skill's tools, in the spec's order, each with the skill's argument names", () => {
    expect(tools.map((t) => t.name)).toEqual(SKILL_TOOL_NAMES);
    expect([...MCP_TOOL_NAMES]).toEqual(SKILL_TOOL_NAMES);
    expect(MCP_TOOL_NAMES.every((name) => name.startsWith("preq_"))).toBe(true);
    for (const tool of tools) {
      const skill = SKILL_TOOLS[tool.name]!;
      expect(Object.keys(tool.inputSchema.properties as Json), tool.name).toEqual(skill.args);
      expect(tool.inputSchema.required ?? [], tool.name).toEqual(skill.required);
      expect(tool.inputSchema.additionalProperties, tool.name).toBe(false);
    }
  });

  it.each(withSource.map((name) => [name]))(
    "%s takes its API operation's fields under their camelCase names, with the API's schemas",
    (name) => {
      const tool = tools.find((t) => t.name === name)!;
      const source = sources[name]!;
      const op = operation(source.operationId);
      const documented = operationFields(op, source.fields);
      // The fields the tool sets itself (lifecycle_action, a composed result) are the operation's.
      for (const fixed of source.fixed) {
        expect(documented, `${name} sets ${fixed}, which ${source.operationId} must take`).toHaveProperty(fixed);
      }
      const properties = { ...(tool.inputSchema.properties as Record<string, Json>) };
      for (const [apiName, toolName] of Object.entries(source.takes)) {
        expect(documented, `${name} takes ${apiName}, which ${source.operationId} must take`).toHaveProperty(apiName);
        expect(source.fixed, `${name} both takes and sets ${apiName}`).not.toContain(apiName);
        expect(normalized(properties[toolName]), `${name}.${toolName} is ${apiName}`).toEqual(normalized(documented[apiName]));
        delete properties[toolName];
      }
      // What is left is the tool's own: the path's parameters (taskId for {id}) and the added arguments.
      expect(Object.keys(properties).sort()).toEqual([...source.added].sort());
      const pathParams = ((op.parameters ?? []) as { name: string; in: string }[])
        .filter((p) => p.in === "path")
        .map((p) => p.name);
      expect(Object.keys(source.path).sort()).toEqual(pathParams.sort());
      for (const arg of Object.values(source.path)) expect(source.added).toContain(arg);
    },
  );

  it.each(withSource.map((name) => [name]))(
    "%s declares the response schema of its API operation as its output schema",
    (name) => {
      const tool = tools.find((t) => t.name === name)!;
      const op = operation(sources[name]!.operationId);
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
      const declared = inline({ $ref: ref }) as { properties: { task: Json; tasks: { items: Json } } };
      const output = tool.outputSchema as typeof declared;
      if (name === "preq_claim_next_task") {
        // Where the API answers 204 (nothing ready), the tool answers {task: null}.
        expect(op.responses).toHaveProperty("204");
        const task = declared.properties.task;
        declared.properties.task = { anyOf: [task, { type: "null" }] };
      }
      if (name === "preq_list_tasks") {
        // detail simple: each task may be the brief form, whose fields are the full task's own.
        const [full, brief] = (output.properties.tasks.items as { anyOf: { properties: Json }[] }).anyOf;
        expect(normalized(full)).toEqual(normalized(declared.properties.tasks.items));
        const fullProperties = declared.properties.tasks.items.properties as Json;
        for (const [field, schema] of Object.entries(brief!.properties)) {
          expect(normalized(schema), field).toEqual(normalized(fullProperties[field]));
        }
        declared.properties.tasks.items = { anyOf: [full, brief] };
      }
      expect(normalized(output)).toEqual(normalized(declared));
    },
  );

  it("shows a read token only the read tools, each marked read-only; preq_delete_task alone is destructive", () => {
    const read = listTools("read").tools.map((t) => t.name);
    expect(read).toEqual(SKILL_READ_TOOLS);
    for (const tool of tools) {
      const write = !SKILL_TOOLS[tool.name]!.read;
      expect(tool.annotations.readOnlyHint, tool.name).toBe(!write);
      if (write) expect(tool.annotations.destructiveHint, tool.name).toBe(tool.name === "preq_delete_task");
      else expect(tool.annotations.destructiveHint, tool.name).toBeUndefined();
    }
  });

  it("has an agent guide that names only tools the server lists and walks the whole workflow", () => {
    const guide = agentGuide();
    const named = new Set(guide.match(/preq_[a-z_]+/g));
    for (const name of named) expect(MCP_TOOL_NAMES, name).toContain(name);
    for (const step of ["preq_list_tasks", "preq_plan_task", "preq_start_task", "preq_update_task_note", "preq_complete_task"]) {
      expect(named).toContain(step);
    }
    for (const step of [
      "preq_block_task",
      "preq_review_task",
      "preq_list_task_comments",
      "preq_reply_task_comment",
      "preq_update_task_comment_state",
    ]) {
      expect(named).toContain(step);
    }
    expect(agentGuide("codex")).toContain('engine: "codex"');
    expect(guide).not.toContain('engine: "');
  });
});
