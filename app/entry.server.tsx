import { PassThrough } from "node:stream";
import type { AppLoadContext, EntryContext, HandleErrorFunction } from "@remix-run/node";
import { createReadableStreamFromReadable } from "@remix-run/node";
import { isRouteErrorResponse, RemixServer } from "@remix-run/react";
import { renderToPipeableStream } from "react-dom/server";
import { NonceProvider } from "./components/nonce";

const ABORT_DELAY = 5_000;
export const streamTimeout = ABORT_DELAY;

/**
 * Renders every document in full before sending it (no streaming of partial
 * shells), with the request's CSP nonce on every script Remix emits.
 */
export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
) {
  const nonce = loadContext.request.cspNonce;
  return new Promise<Response>((resolve, reject) => {
    let shellRendered = false;
    const { pipe, abort } = renderToPipeableStream(
      <NonceProvider value={nonce}>
        <RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY} nonce={nonce} />
      </NonceProvider>,
      {
        nonce,
        onAllReady() {
          shellRendered = true;
          clearTimeout(timer);
          const body = new PassThrough();
          responseHeaders.set("Content-Type", "text/html; charset=utf-8");
          resolve(new Response(createReadableStreamFromReadable(body), { headers: responseHeaders, status: responseStatusCode }));
          pipe(body);
        },
        onShellError(error: unknown) {
          clearTimeout(timer);
          reject(error);
        },
        onError(error: unknown) {
          responseStatusCode = 500;
          if (shellRendered) loadContext.services.logger.error("render error", { requestId: loadContext.request.id, error });
        },
      },
    );
    // React calls the callbacks above asynchronously, after this line has run.
    const timer = setTimeout(abort, ABORT_DELAY);
  });
}

/**
 * Logs unexpected loader/action errors with the request id. A thrown Response is not
 * an error, nor is Remix's own 4xx for a URL with no route or a method with no action.
 */
export const handleError: HandleErrorFunction = (error, { request, context }) => {
  if (request.signal.aborted) return;
  if (isRouteErrorResponse(error) && error.status < 500) return;
  context.services?.logger.error("unhandled route error", {
    requestId: context.request?.id,
    path: new URL(request.url).pathname,
    error,
  });
};

/*
 * The server's long-lived pieces, exported from the Remix build so that the process (app/server/start.server.ts)
 * builds its services and request handler from the same copy of app/lib the routes run: the
 * production bundle then holds one copy of every module they share, so a class or a brand
 * created on one side is recognised on the other.
 */
export { createServices } from "./server/services.server";
export { createAppHandler } from "./server/handler.server";
