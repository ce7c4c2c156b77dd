/** Small HTTP helpers for talking to a TestServer the way a browser or agent would. */
import type { TestServer } from "./server";

export const OWNER_EMAIL = "owner@example.com";
export const OWNER_PASSWORD = "correct horse battery staple";

/** Posts an urlencoded form as a same-origin browser would (Origin header, no redirect following). */
export function postForm(
  server: TestServer,
  path: string,
  fields: Record<string, string>,
  options: { cookie?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(new URL(path, server.url), {
    method: "POST",
    redirect: "manual",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Origin: server.origin,
      ...(options.cookie ? { Cookie: options.cookie } : {}),
      ...options.headers,
    },
    body: new URLSearchParams(fields).toString(),
  });
}

/** The `name=value` part of the response's Set-Cookie for `session`, or null. */
export function sessionCookieFrom(response: Response): string | null {
  const set = response.headers.getSetCookie().find((c) => c.startsWith("session="));
  return set ? set.split(";")[0]! : null;
}

/** Creates the owner through /setup with the code the server printed; returns the session cookie. */
export async function setupOwner(server: TestServer, email = OWNER_EMAIL, password = OWNER_PASSWORD): Promise<string> {
  if (!server.setupCode) throw new Error("the server printed no setup code");
  const res = await postForm(server, "/setup", { setup_code: server.setupCode, email, password, password_confirm: password });
  const cookie = sessionCookieFrom(res);
  if (res.status !== 302 || !cookie) throw new Error(`setup failed with ${res.status}: ${await res.text()}`);
  return cookie;
}

/** Signs in through /login; returns the session cookie. */
export async function signIn(server: TestServer, email = OWNER_EMAIL, password = OWNER_PASSWORD): Promise<string> {
  const res = await postForm(server, "/login", { email, password });
  const cookie = sessionCookieFrom(res);
  if (res.status !== 302 || !cookie) throw new Error(`sign-in failed with ${res.status}`);
  return cookie;
}

/** GET with a cookie, no redirect following. */
export function getPage(server: TestServer, path: string, cookie?: string): Promise<Response> {
  return fetch(new URL(path, server.url), { redirect: "manual", headers: cookie ? { Cookie: cookie } : {} });
}
