import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import {
  Form,
  isRouteErrorResponse,
  Link,
  Links,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  useRouteError,
  useRouteLoaderData,
} from "@remix-run/react";
import type { ReactNode } from "react";
import { getOwnerSession } from "./lib/http/owner-session.server";
import { MainNav } from "./components/main-nav";
import { useNonce } from "./components/nonce";
import styles from "./styles.css?url";

export async function loader({ request, context }: LoaderFunctionArgs) {
  const found = await getOwnerSession(request, context);
  return { owner: found ? { email: found.owner.email } : null };
}

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: styles },
  { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" },
];

export const meta: MetaFunction = () => [{ title: "PreqStation" }];

export function Layout({ children }: { children: ReactNode }) {
  const nonce = useNonce();
  const data = useRouteLoaderData<typeof loader>("root");
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body>
        <header className="topbar">
          <Link to="/" className="brand">
            PreqStation
          </Link>
          {data?.owner ? <MainNav /> : null}
          {data?.owner ? (
            <div className="whoami">
              <span>{data.owner.email}</span>
              <Form method="post" action="/logout">
                <button type="submit" className="link-button">
                  Sign out
                </button>
              </Form>
            </div>
          ) : null}
        </header>
        {children}
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

export function ErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const title = status === 404 ? "Page not found" : status === 403 ? "Not allowed" : "Something went wrong";
  const message =
    status === 404
      ? "There is nothing at this address."
      : isRouteErrorResponse(error) && typeof error.data === "string" && error.data
        ? error.data
        : "The error has been logged. Try again, or go back to the start.";
  return (
    <main className="plain">
      <h1>{title}</h1>
      <p>{message}</p>
      <p>
        <Link to="/">Back to PreqStation</Link>
      </p>
    </main>
  );
}
