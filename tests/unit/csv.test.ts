import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { csvCell, csvRow } from "../../app/lib/audit/csv";

/** Reads one CSV cell back the way a spreadsheet does (without the formula guard). */
function unquote(cell: string): string {
  return cell.startsWith('"') ? cell.slice(1, -1).replace(/""/g, '"') : cell;
}

describe("csvCell", () => {
  it("writes plain values as they are", () => {
    expect(csvCell("task.update")).toBe("task.update");
    expect(csvCell(42)).toBe("42");
    expect(csvCell(null)).toBe("");
    expect(csvCell(undefined)).toBe("");
  });

  it("quotes cells with commas, quotes and line breaks, doubling inner quotes", () => {
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell("two\nlines")).toBe('"two\nlines"');
    expect(csvCell("cr\rhere")).toBe('"cr\rhere"');
  });

  it("neutralises every cell a spreadsheet would run as a formula with a leading quote mark, quoted", () => {
    expect(csvCell("=1+1")).toBe(`"'=1+1"`);
    expect(csvCell("+SUM(A1)")).toBe(`"'+SUM(A1)"`);
    expect(csvCell("-2+3")).toBe(`"'-2+3"`);
    expect(csvCell("@cmd")).toBe(`"'@cmd"`);
    expect(csvCell("\t=1")).toBe(`"'\t=1"`);
    expect(csvCell("\r=1")).toBe(`"'\r=1"`);
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvCell(-5)).toBe(`"'-5"`);
  });

  it("never lets a cell start with a formula character, and keeps the text otherwise intact", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const cell = unquote(csvCell(s));
        expect(cell).not.toMatch(/^[=+\-@\t\r]/);
        expect(cell.startsWith("'") && /^[=+\-@\t\r]/.test(s) ? cell.slice(1) : cell).toBe(s);
      }),
    );
  });
});

describe("csvRow", () => {
  it("joins cells with commas and ends with CRLF", () => {
    expect(csvRow([1, "a", null, "=x"])).toBe(`1,a,,"'=x"\r\n`);
  });
});
