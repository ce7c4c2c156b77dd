import { describe, expect, it } from "vitest";
import { z } from "zod";
import { inputProps, MAX_FORM_BYTES, parseForm, readForm } from "../../app/lib/http/forms.server";

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
    expect(parseForm(Schema, null)).toMatchObject({
      success: false,
      fieldErrors: { email: expect.any(String), name: expect.any(String) },
    });
  });
});

describe("inputProps: an input's constraints from the form's schema", () => {
  const FormSchema = z
    .object({
      email: z.string().trim().toLowerCase().max(254).pipe(z.email()),
      password: z.string().min(12).max(1024),
      nickname: z.string().max(40).optional(),
      scope: z.enum(["full", "read"]).default("full"),
      confirm: z.string(),
    })
    .refine((v) => v.password === v.confirm, { path: ["confirm"] });

  it("reads required and the length bounds through pipes, optionals, defaults and refinements", () => {
    expect(inputProps(FormSchema, "email")).toEqual({ name: "email", required: true, maxLength: 254 });
    expect(inputProps(FormSchema, "password")).toEqual({ name: "password", required: true, minLength: 12, maxLength: 1024 });
    expect(inputProps(FormSchema, "nickname")).toEqual({ name: "nickname", required: false, maxLength: 40 });
    expect(inputProps(FormSchema, "scope")).toEqual({ name: "scope", required: false });
    expect(inputProps(FormSchema, "confirm")).toEqual({ name: "confirm", required: true });
  });

  it("agrees with what the schema accepts at the bounds", () => {
    const { minLength, maxLength } = inputProps(FormSchema, "password");
    const parse = (password: string) => FormSchema.safeParse({ email: "a@example.com", password, confirm: password }).success;
    expect(parse("x".repeat(minLength!))).toBe(true);
    expect(parse("x".repeat(minLength! - 1))).toBe(false);
    expect(parse("x".repeat(maxLength!))).toBe(true);
    expect(parse("x".repeat(maxLength! + 1))).toBe(false);
  });
});
