import { z } from "zod";
import { durationField } from "../config/fields.js";
import { STATUSES } from "../lifecycle/environment.js";
import type { StatusOrNew } from "../lifecycle/transitions.js";
import { UsageError } from "./command.js";

/**
 * Command-line arguments, validated with zod like every other boundary; a
 * bad one is a usage error (exit 2) that names it.
 */

/** `owner/name`, or the numeric repository id when a name is ambiguous (a repository deleted and re-created). */
export type RepoArg = { name: string } | { id: number };

const repoSchema = z.union([
  z.string().regex(/^\d+$/).transform((id): RepoArg => ({ id: Number(id) })),
  z.string().regex(/^[\w.-]+\/[\w.-]+$/).transform((name): RepoArg => ({ name })),
], { error: (issue) => `${JSON.stringify(issue.input)} is not a repository (expected owner/name)` });

const prSchema = z.string().regex(/^[1-9]\d{0,9}$/, { error: (issue) => `${JSON.stringify(issue.input)} is not a pull request number` }).transform(Number);

const statusSchema = z.enum([...STATUSES, "new"], { error: (issue) => `${JSON.stringify(issue.input)} is not a status (one of: ${[...STATUSES, "new"].join(", ")})` });

function parse<S extends z.ZodType>(schema: S, text: string, what: string): z.output<S> {
  const result = schema.safeParse(text);
  if (result.success) return result.data;
  throw new UsageError(`${what}: ${result.error.issues[0]?.message ?? "is not valid"}`);
}

export const repoArg = (text: string): RepoArg => parse(repoSchema, text, "repository");
export const prArg = (text: string): number => parse(prSchema, text, "pull request");
export const durationArg = (text: string, what = "duration"): number => parse(durationField, text, what);
export const statusArg = (text: string): StatusOrNew => parse(statusSchema, text, "--status");

/** How a repository argument reads back in a message. */
export function describeRepo(repo: RepoArg): string {
  return "id" in repo ? `repository id ${repo.id}` : repo.name;
}
