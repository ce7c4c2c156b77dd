import { describe, expect, it } from "vitest";
import { BodyTooLargeError, readBodyText } from "~/lib/body.server";

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
    const request = new Request("http://localhost/x", { method: "POST", body: "x".repeat(200), headers: { "Content-Length": "200" } });
    await expect(readBodyText(request, 100)).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(request.bodyUsed).toBe(false);
  });

  it("stops reading a streamed body as soon as it passes the limit", async () => {
    const { request, pulled } = streamed(1000, 1024);
    await expect(readBodyText(request, 10 * 1024)).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(pulled()).toBeLessThan(20);
  });

  it("reads an empty body as an empty string", async () => {
    expect(await readBodyText(new Request("http://localhost/x", { method: "POST" }))).toBe("");
  });
});
