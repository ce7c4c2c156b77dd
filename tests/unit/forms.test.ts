import { describe, expect, it } from "vitest";
import { z } from "zod";
import { MAX_FORM_BYTES, parseForm, readForm } from "../../app/lib/http/forms.server";

const post = (body: BodyInit, type = "application/x-www-form-urlencoded") =>
  new Request("http://localhost/x", { method: "POST", headers: { "Content-Type": type }, body });

const Schema = z.object({ email: z.email({ message: "Enter a valid email" }), name: z.string().min(1, "Enter a name") });

describe("page forms", () => {
  it("reads an urlencoded body and validates it with a zod schema", async () => {
    const result = parseForm(Schema, await readForm(post("email=a%40example.com&name=Ann")));
    expect(result).toEqual({ success: true, data: { email: "a@example.com", name: "Ann" } });
  });

  it("gives the first message per field, keyed by the field's name", async () => {
    const result = parseForm(Schema, await readForm(post("email=nope")));
    expect(result).toEqual({ success: false, fieldErrors: { email: "Enter a valid email", name: expect.any(String) } });
  });

  it("takes the first value of a repeated field, so a second one cannot override it", async () => {
    const result = parseForm(Schema, await readForm(post("email=a%40example.com&name=Ann&name=")));
    expect(result.success && result.data.name).toBe("Ann");
  });

  it("treats a body that is not a form, or is too large, as no form (validation errors, never a crash)", async () => {
    expect(await readForm(post('{"email":"a@example.com"}', "application/json"))).toBeNull();
    expect(await readForm(post(`name=${"a".repeat(MAX_FORM_BYTES)}`))).toBeNull();
    expect(parseForm(Schema, null)).toMatchObject({ success: false, fieldErrors: { email: expect.any(String), name: expect.any(String) } });
  });
});
