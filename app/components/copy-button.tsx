import { useEffect, useState } from "react";

/**
 * Copies `value` to the clipboard. Rendered only once the page is hydrated and
 * the Clipboard API exists: without JavaScript there is no dead button, and the
 * text beside it stays selectable.
 */
export function CopyButton({ value, label = "Copy" }: { value: string; label?: string }) {
  const [available, setAvailable] = useState(false);
  const [status, setStatus] = useState<"idle" | "copied" | "failed">("idle");

  useEffect(() => {
    setAvailable(typeof navigator !== "undefined" && Boolean(navigator.clipboard?.writeText));
  }, []);

  useEffect(() => {
    if (status === "idle") return;
    const timer = setTimeout(() => setStatus("idle"), 4_000);
    return () => clearTimeout(timer);
  }, [status]);

  if (!available) return null;
  return (
    <>
      <button
        type="button"
        className="secondary small"
        onClick={() => {
          navigator.clipboard.writeText(value).then(
            () => setStatus("copied"),
            () => setStatus("failed"),
          );
        }}
      >
        {status === "copied" ? "Copied" : label}
      </button>
      <span role="status" className={status === "failed" ? "field-error" : "muted"}>
        {status === "copied"
          ? "Copied to the clipboard."
          : status === "failed"
            ? "Could not copy; select the text and copy it."
            : ""}
      </span>
    </>
  );
}
