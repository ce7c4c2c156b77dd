import { useRevalidator } from "@remix-run/react";
import { useEffect, useRef } from "react";

/**
 * With JavaScript: listens to the owner's live stream (`/tasks/events`, a
 * server-sent-events resource route behind the session) and reloads the page's data
 * when tasks or projects change. Without JavaScript nothing runs and a reload shows
 * the change. The browser's EventSource reconnects by itself after a drop.
 */
export function useLiveUpdates(url = "/tasks/events"): void {
  const revalidator = useRevalidator();
  const latest = useRef(revalidator);
  latest.current = revalidator;
  useEffect(() => {
    if (typeof EventSource === "undefined") return;
    const source = new EventSource(url);
    const onChange = () => latest.current.revalidate();
    source.addEventListener("change", onChange);
    return () => {
      source.removeEventListener("change", onChange);
      source.close();
    };
  }, [url]);
}
