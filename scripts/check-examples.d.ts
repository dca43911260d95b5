// Types of what scripts/check-examples.js exports, for spec/examples/readme.spec.ts.

/** A ```ts block: its file, the line of its first line of code, its code. */
export interface Example {
  readonly file: string;
  readonly line: number;
  readonly code: string;
}

/** A ```ts block of a markdown file; `run` when RUN_MARKER is the line above its fence. */
export interface MarkdownExample extends Example {
  readonly run: boolean;
}

/** The names each module exports, by specifier or lib file path. */
export type ExportTable = Map<string, Set<string>> & { undocumented: string[] };

export const RUN_MARKER: string;
export function sources(dir: string): string[];
export function extract(file: string): Example[];
export function extractMarkdown(file: string): MarkdownExample[];
export function exportsOf(files: string[]): ExportTable;
/** The tsc errors, each at its example's line; empty when every example type-checks. */
export function typeCheck(examples: readonly Example[], exportTable: ExportTable, options?: { keep?: boolean }): string[];
