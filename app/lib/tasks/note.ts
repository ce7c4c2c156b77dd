import type { TaskRow } from "../../../db/schema";
import { parseJsonColumn } from "../domain/json";
import { ArtifactListSchema, type Artifact } from "./schemas";

/** A task's note and artifacts as its view shows them: an empty note is null; a damaged artifacts column is []. */
export function noteOf(row: Pick<TaskRow, "note_markdown" | "artifacts">): {
  note_markdown: string | null;
  artifacts: Artifact[];
} {
  return {
    note_markdown: row.note_markdown ? row.note_markdown : null,
    artifacts: parseJsonColumn(row.artifacts, ArtifactListSchema, []),
  };
}
