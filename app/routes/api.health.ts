import type { LoaderFunctionArgs } from "@remix-run/node";
import { apiJson, methodNotAllowed } from "~/lib/api/errors.server";
import { describedLoader, ref } from "~/lib/api/openapi.server";
import { VERSION } from "~/lib/version.server";

/** Public, not rate-limited: 200 when the database answers a read, else 503. */
export const loader = describedLoader(
  "/api/health",
  {
    get: {
      operationId: "getHealth",
      summary: "Liveness and database check (public, not rate-limited)",
      public: true,
      responses: {
        "200": { description: "The service answers", content: { "application/json": { schema: ref("HealthResponse") } } },
        "503": {
          description: "The database cannot be read (ok: false)",
          content: { "application/json": { schema: ref("HealthResponse") } },
        },
      },
      errors: ["MethodNotAllowed"],
    },
  },
  async ({ context }: LoaderFunctionArgs) => {
    try {
      context.services.sqlite.prepare("select count(*) from owners").get();
      return apiJson({ ok: true, service: "preqstation", version: VERSION });
    } catch (error) {
      context.services.logger.error("health check failed", { requestId: context.request.id, error });
      return apiJson({ ok: false, service: "preqstation", version: VERSION }, { status: 503 });
    }
  },
);

export function action() {
  return methodNotAllowed(["GET", "HEAD"]);
}
