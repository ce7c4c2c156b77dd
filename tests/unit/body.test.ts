import { describe, expect, it } from "vitest";
import { BodyTooLargeError, readBodyText } from "../../app/lib/http/body.server";

function streamed(chunks: number, size: number): { request: Request; pulled: () => number } {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= chunks) return controller.close();
      pulled += 1;
      controller.enqueue(new Uint8Array(size).fill(97));
    },
  });
  // no Content-Length: the size is only known while reading
  const request = new Request("http://localhost/x", { method: "POST", body, duplex: "half" } as RequestInit);
  return { request, pulled: () => pulled };
}

describe("request bodies", () => {
  it("reads a body within the limit as UTF-8", async () => {
    const request = new Request("http://localhost/x", { method: "POST", body: "héllo" });
    expect(await readBodyText(request, 100)).toBe("héllo");
  });

  it("refuses a declared Content-Length over the limit before reading anything", async () => {
    const request = new Request("http://localhost/x", {
      method: "POST",
      body: "x".repeat(200),
      headers: { "Content-Length": "200" },
    });
    await expect(readBodyText(request, 100)).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(request.bodyUsed).toBe(false);
  });

  it("refuses a streamed body past the limit, discarding at most 8 MiB more so the client can read the answer", async () => {
    // 32 MiB offered against a 10 KiB limit: what is read past the limit is thrown
    // away and bounded (8 MiB), then the stream is cancelled.
    const { request, pulled } = streamed(32 * 1024, 1024);
    await expect(readBodyText(request, 10 * 1024)).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(pulled()).toBeGreaterThan(10);
    expect(pulled()).toBeLessThanOrEqual(10 + 8 * 1024 + 4); // + the chunk that crosses each bound, + stream read-ahead
  });

  it("reads an empty body as an empty string", async () => {
    expect(await readBodyText(new Request("http://localhost/x", { method: "POST" }))).toBe("");
  });
});
